"""Import/export test kit: a customer form with the field types an import meets, and
spreadsheet builders (hostile ones included)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

from builder.bundle import parse_files

APP = {"schema_version": 1, "key": "sales", "name": {"zh": "销售", "en": "Sales"},
       "version": "1.0.0", "menu": [{"form": "customer"}]}
FORM: dict[str, Any] = {
    "schema_version": 1, "key": "customer", "name": {"zh": "客户", "en": "Customer"},
    "fields": [
        {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"},
         "required": True, "unique": True, "max_length": 50},
        {"key": "region", "type": "select", "label": {"zh": "地区", "en": "Region"},
         "options": [{"value": "east", "label": {"zh": "华东", "en": "East"}},
                     {"value": "north", "label": {"zh": "华北", "en": "North"}}]},
        {"key": "credit", "type": "money", "label": {"zh": "信用额度", "en": "Credit"},
         "currency": "CNY", "min": 0},
        {"key": "score", "type": "integer", "label": {"zh": "评分", "en": "Score"},
         "min": 0, "max": 100},
        {"key": "since", "type": "date", "label": {"zh": "开始日期", "en": "Since"}},
        {"key": "vip", "type": "boolean", "label": {"zh": "重要", "en": "VIP"}},
        {"key": "note", "type": "textarea", "label": {"zh": "备注", "en": "Note"}},
    ]}
BASE = "/api/v1/apps/sales/forms/customer"
HEADERS = ["名称", "地区", "信用额度", "评分", "开始日期", "重要", "备注"]


def bundle() -> Any:
    return parse_files({"app.json": APP, "forms/customer.json": FORM})


def xlsx(rows: Sequence[Sequence[Any]], headers: Sequence[str] = HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rewrite(content: bytes, member: str, edit: Any, extra: dict[str, bytes] | None = None,
            ) -> bytes:
    """A copy of a zip with one member's text changed (and members added)."""
    src = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == member:
                data = edit(data.decode()).encode()
            dst.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def with_dimension(content: bytes, ref: str) -> bytes:
    return rewrite(content, "xl/worksheets/sheet1.xml",
                   lambda t: re.sub(r'<dimension ref="[^"]+"\s*/>', f'<dimension ref="{ref}"/>',
                                    t))


def import_file(client: Any, content: bytes, name: str = "customers.xlsx",
                **form: Any) -> Any:
    data = {k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()}
    return client.post(f"{BASE}/import", files={"file": (name, content)}, data=data)
