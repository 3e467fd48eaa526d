"""Fixtures for the credit CRM template: the bundle, installed through the API."""

from __future__ import annotations

from typing import Any

import pytest

from builder.bundle import Bundle, load
from builder.export import to_zip
from runtime.context import Context


@pytest.fixture(scope="session")
def crm_bundle() -> Bundle:
    from crm_support import BUNDLE

    return load(BUNDLE)


@pytest.fixture
def crm_client(client: Any, ctx: Context, crm_bundle: Bundle) -> Any:
    """The admin's test client with the template installed through `POST /apps`.

    Flows are wired here too (idempotent) until the app factory calls
    `install_flow_hooks` itself; rules are wired by the app factory."""
    from runtime.flows.hooks import install_flow_hooks

    install_flow_hooks(ctx)
    r = client.post("/api/v1/apps", content=to_zip(crm_bundle),
                    headers={"Content-Type": "application/zip"})
    assert r.status_code == 201, r.text
    return client
