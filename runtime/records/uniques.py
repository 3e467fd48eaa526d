"""Unique field values, enforced by the database.

A unique value is a row in `unique_values` whose primary key is (app, form, field,
value): the database refuses a second claim, also between concurrent transactions
(on PostgreSQL the second waits for the first to commit, then fails), so no check-then-
insert race can let a duplicate through. A claim is `INSERT … ON CONFLICT DO NOTHING
RETURNING`: no row back means the value is taken, reported as a 409 — and since
nothing failed, the transaction stays usable for callers that go on (imports that skip
bad rows) without the savepoint a failing INSERT would need around every claim.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite

from runtime.errors import Conflict, Detail
from runtime.forms import adapter as forms
from runtime.store.tables import unique_values

MAX_UNIQUE_LEN = 512
_CLAIMS: dict[str, Any] = {}


def _claim(dialect: str) -> Any:
    """The claiming insert for a dialect, built once."""
    stmt = _CLAIMS.get(dialect)
    if stmt is None:
        dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = dialect_insert(unique_values).values(
            app=bindparam("u_app"), form=bindparam("u_form"), field=bindparam("u_field"),
            value=bindparam("u_value"), record_id=bindparam("u_record")
        ).on_conflict_do_nothing().returning(unique_values.c.record_id)
        _CLAIMS[dialect] = stmt
    return stmt


def _as_key(value: Any) -> str | None:
    if value is None or value in ("", []):
        return None
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text[:MAX_UNIQUE_LEN]


def claim_uniques(conn: Connection, *, app: str, form: str, cform: Any, record_id: int,
                  old: Mapping[str, Any] | None, new: Mapping[str, Any], lang: str) -> None:
    fields = forms.unique_fields(cform)
    if not fields:
        return
    for key in fields:
        before = _as_key((old or {}).get(key))
        after = _as_key(new.get(key))
        if before == after:
            continue
        where = (unique_values.c.app == app, unique_values.c.form == form,
                 unique_values.c.field == key)
        if before is not None:
            conn.execute(delete(unique_values).where(*where, unique_values.c.value == before,
                                                     unique_values.c.record_id == record_id))
        if after is None:
            continue
        claimed = conn.execute(_claim(conn.dialect.name), {
            "u_app": app, "u_form": form, "u_field": key, "u_value": after,
            "u_record": record_id}).first()
        if claimed is None:
            label = forms.field_label(cform, key, lang)
            raise Conflict(
                f"{label}「{after}」已存在", f"{label} '{after}' already exists",
                code="duplicate_value",
                details=[Detail(key, "duplicate_value", {
                    "zh": f"该值已被其他记录使用：{after}",
                    "en": f"Another record already has this value: {after}"})])


def release_uniques(conn: Connection, *, app: str, form: str, cform: Any,
                    record_id: int) -> None:
    if forms.unique_fields(cform):
        conn.execute(delete(unique_values).where(
            unique_values.c.app == app, unique_values.c.form == form,
            unique_values.c.record_id == record_id))
