"""The sales app (see transfer_kit) installed over HTTP, with the file hook."""

from __future__ import annotations

from typing import Any

import pytest
from transfer_kit import bundle

from builder.export import to_zip
from runtime.files.hooks import install_file_hooks


@pytest.fixture
def sales(client: Any, ctx: Any) -> Any:
    install_file_hooks(ctx)
    r = client.post("/api/v1/apps", content=to_zip(bundle()),
                    headers={"Content-Type": "application/zip"})
    assert r.status_code == 201, r.text
    return client
