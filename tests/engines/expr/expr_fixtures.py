"""Shared scope and environment for the expression tests (imported, not collected)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engines.expr import Field, FixedEnv, Scope, T, UserInfo, fields_to_native

FIELDS = {
    "amount": Field(T.MONEY), "score": Field(T.NUMBER), "level": Field(T.INTEGER),
    "days_overdue": Field(T.INTEGER), "status": Field(T.TEXT), "name": Field(T.TEXT),
    "nick": Field(T.TEXT), "code": Field(T.TEXT), "region": Field(T.TEXT),
    "a": Field(T.NUMBER), "b": Field(T.NUMBER), "flag": Field(T.BOOLEAN),
    "d": Field(T.DATE), "due_date": Field(T.DATE), "due_at": Field(T.DATETIME),
    "tags": Field(T.LIST, item=T.TEXT), "scores": Field(T.LIST, item=T.NUMBER),
    "lines": Field(T.SUBFORM, {"item": Field(T.TEXT), "qty": Field(T.INTEGER),
                               "price": Field(T.MONEY), "subtotal": Field(T.MONEY)}),
}
FORMS = {"complaint": {"customer": Field(T.TEXT), "score": Field(T.NUMBER)}}
SCOPE = Scope(FIELDS, forms=FORMS, names={"since": T.DATE})
COMPLAINTS = [
    {"customer": "7", "score": 2, "created_at": datetime(2025, 12, 30, tzinfo=UTC)},
    {"customer": "7", "score": 4, "created_at": datetime(2025, 12, 31, tzinfo=UTC)},
    {"customer": "8", "score": 5, "created_at": datetime(2025, 12, 31, tzinfo=UTC)},
]
ENV = FixedEnv(at=datetime(2026, 1, 1, tzinfo=UTC),
               user=UserInfo("alice", "sales", ("finance", "agent")),
               records={"complaint": COMPLAINTS})


def native(values: dict[str, Any]) -> dict[str, Any]:
    """Stored JSON values → native, by the test scope's field types."""
    return fields_to_native(values, FIELDS)
