"""An app with attachment, image and signature fields, installed over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from builder.bundle import parse_files
from builder.export import to_zip
from runtime.files.hooks import install_file_hooks

APP = {"schema_version": 1, "key": "docs", "name": {"zh": "文档", "en": "Docs"},
       "version": "1.0.0", "menu": [{"form": "contract"}]}
FORM = {"schema_version": 1, "key": "contract", "name": {"zh": "合同", "en": "Contract"},
        "fields": [
            {"key": "title", "type": "text", "label": {"zh": "标题", "en": "Title"},
             "required": True},
            {"key": "scan", "type": "attachment", "label": {"zh": "扫描件", "en": "Scan"}},
            {"key": "photo", "type": "image", "label": {"zh": "照片", "en": "Photo"}},
            {"key": "sign", "type": "signature", "label": {"zh": "签名", "en": "Signature"}},
            {"key": "pages", "type": "subform", "label": {"zh": "附页", "en": "Pages"},
             # the row expression works around a form-engine crash on subforms that no
             # expression reads (engines/form/validation.py zip(strict=True)); reported
             "fields": [{"key": "img", "type": "image", "label": {"zh": "图", "en": "Image"}},
                        {"key": "caption", "type": "text", "label": "说明",
                         "visible_when": "1 == 1"}]},
        ]}


@pytest.fixture
def docs_client(client: Any, ctx: Any) -> Any:
    install_file_hooks(ctx)
    bundle = parse_files({"app.json": APP, "forms/contract.json": FORM})
    r = client.post("/api/v1/apps", content=to_zip(bundle),
                    headers={"Content-Type": "application/zip"})
    assert r.status_code == 201, r.text
    return client
