"""Shared fixtures of the form engine tests: the FORMATS.md ticket form and fakes."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engines.expr import Compiled, FixedEnv
from engines.form import CompiledForm, FormSpec, compile_form

FORMATS = Path(__file__).resolve().parents[3].parent / "shared" / "FORMATS.md"


def _ticket_from_formats() -> dict[str, Any]:
    text = FORMATS.read_text(encoding="utf-8")
    found = re.search(r"## `forms/ticket.json`\n\n```json\n(.*?)```", text, re.S)
    assert found is not None
    return json.loads(found.group(1))


TICKET_FALLBACK: dict[str, Any] = {
    "schema_version": 1, "key": "ticket", "name": {"zh": "工单", "en": "Ticket"},
    "title": "CONCAT(code, ' ', subject)",
    "fields": [
        {"key": "code", "type": "autonumber", "label": {"zh": "编号", "en": "No."},
         "pattern": "TK-{YYYY}{MM}-{0000}", "reset": "month"},
        {"key": "subject", "type": "text", "label": {"zh": "主题", "en": "Subject"},
         "required": True, "max_length": 200},
        {"key": "customer", "type": "relation", "label": {"zh": "客户", "en": "Customer"},
         "form": "customer", "required": True, "indexed": True},
        {"key": "region", "type": "lookup", "label": {"zh": "地区", "en": "Region"},
         "through": "customer", "field": "region"},
        {"key": "priority", "type": "select", "label": {"zh": "优先级", "en": "Priority"},
         "options": [{"value": "low", "label": {"zh": "低", "en": "Low"}},
                     {"value": "high", "label": {"zh": "高", "en": "High"},
                      "color": "#f5222d"}],
         "default": "low"},
        {"key": "reason", "type": "textarea", "label": {"zh": "加急原因", "en": "Why urgent"},
         "visible_when": "priority == 'high'", "required_when": "priority == 'high'"},
        {"key": "due_at", "type": "datetime", "label": {"zh": "截止时间", "en": "Due"},
         "default_expr": "NOW() + HOURS(24)"},
        {"key": "lines", "type": "subform", "label": {"zh": "配件", "en": "Parts"},
         "fields": [
             {"key": "item", "type": "text", "label": {"zh": "配件", "en": "Part"},
              "required": True},
             {"key": "qty", "type": "integer", "label": {"zh": "数量", "en": "Qty"}, "min": 1},
             {"key": "price", "type": "money", "label": {"zh": "单价", "en": "Price"},
              "currency": "CNY", "min": 0},
             {"key": "subtotal", "type": "formula", "label": {"zh": "小计", "en": "Subtotal"},
              "expr": "qty * price"}]},
        {"key": "amount", "type": "formula", "label": {"zh": "金额", "en": "Amount"},
         "expr": "SUM(lines.subtotal)"},
        {"key": "status", "type": "select", "label": {"zh": "状态", "en": "Status"},
         "indexed": True,
         "options": [{"value": "open", "label": {"zh": "处理中", "en": "Open"}},
                     {"value": "done", "label": {"zh": "已完成", "en": "Done"}}],
         "default": "open"},
    ],
    "validations": [{"expr": "due_at > NOW()",
                     "message": {"zh": "截止时间必须晚于现在",
                                 "en": "The due time must be in the future"}}],
    "layout": [
        {"section": {"zh": "基本信息", "en": "Basics"}, "columns": 2,
         "fields": ["code", "subject", "customer", "region", "priority", "reason", "due_at",
                    "status"]},
        {"section": {"zh": "配件", "en": "Parts"}, "fields": ["lines", "amount"]},
    ],
}

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def ticket_doc() -> dict[str, Any]:
    """The ticket form of FORMATS.md (read from the shared docs when present)."""
    return _ticket_from_formats() if FORMATS.exists() else json.loads(
        json.dumps(TICKET_FALLBACK))


@pytest.fixture
def ticket(ticket_doc: dict[str, Any]) -> CompiledForm:
    return compile_form(FormSpec.model_validate(ticket_doc))


@pytest.fixture
def env() -> FixedEnv:
    return FixedEnv(at=NOW)


def _make_form(fields: list[dict[str, Any]], **extra: Any) -> CompiledForm:
    """A one-off form with these fields (labels default to the key)."""
    for f in fields:
        f.setdefault("label", f["key"])
        for g in f.get("fields", []) if f.get("type") == "subform" else []:
            g.setdefault("label", g["key"])
    return compile_form(FormSpec.model_validate(
        {"key": "t", "name": "T", "fields": fields, **extra}))


@pytest.fixture
def make_form() -> Any:
    """Build a one-off compiled form: `make_form([{"key": "a", "type": "text"}])`."""
    return _make_form


@pytest.fixture
def source_of() -> Any:
    """Build a RecordSource over `{form: {id: data}}`."""
    return DictSource


class DictSource:
    """A RecordSource over in-memory records: {form: {id: data}}."""

    def __init__(self, records: Mapping[str, Mapping[str, Mapping[str, Any]]],
                 env: FixedEnv | None = None) -> None:
        self.records = records
        self.env = env or FixedEnv(at=NOW)
        self.gets: list[tuple[str, str]] = []

    def get(self, form: str, record_id: str) -> Mapping[str, Any] | None:
        self.gets.append((form, record_id))
        return self.records.get(form, {}).get(record_id)

    def first(self, form: str, where: Compiled,
              record: Mapping[str, Any]) -> Mapping[str, Any] | None:
        for data in self.records.get(form, {}).values():
            if where.evaluate({**data, "record": record}, self.env) is True:
                return data
        return None
