"""Auto-numbers (流水号) from database counters that never hand out a number twice.

One atomic upsert per number (`INSERT … ON CONFLICT DO UPDATE … RETURNING`) on both
databases: concurrent writers serialise on the counter row, and a rolled-back write
gives its number back with the rest of its transaction. Within a `WriteBatch` the first
number of a counter is taken that way — which locks the row until the commit (SQLite's
writer lock covers the whole transaction anyway) — and the following ones are counted
on in memory and written back once at the batch's flush, before the commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam
from sqlalchemy.dialects import postgresql, sqlite

from runtime.forms import adapter as forms
from runtime.records.batch import WriteBatch
from runtime.store.tables import sequences


def _upsert(dialect: str) -> Any:
    """The counter upsert for a dialect, built once: executing a prepared statement
    with parameters skips construction and cache-key work on every number."""
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = dialect_insert(sequences).values(
            app=bindparam("app"), form=bindparam("form"), field=bindparam("field"),
            period=bindparam("period"), value=1).on_conflict_do_update(
            index_elements=[sequences.c.app, sequences.c.form, sequences.c.field,
                            sequences.c.period],
            set_={"value": sequences.c.value + 1}).returning(sequences.c.value)
        _UPSERTS[dialect] = stmt
    return stmt


_UPSERTS: dict[str, Any] = {}


def next_value(conn: Connection, *, app: str, form: str, field: str, period: str) -> int:
    return int(conn.execute(_upsert(conn.dialect.name), {
        "app": app, "form": form, "field": field, "period": period}).scalar_one())


def assign_numbers(conn: Connection, *, app: str, form: str, cform: Any,
                   values: dict[str, Any], now: datetime, tz: ZoneInfo,
                   batch: WriteBatch | None = None) -> None:
    """Fill every auto-number field of a new record."""
    local = now.astimezone(tz)
    for key, pattern, reset in forms.autonumber_fields(cform):
        period = forms.period(reset, local)
        counter = (app, form, key, period)
        n = batch.next_number(counter) if batch is not None else None
        if n is None:
            n = next_value(conn, app=app, form=form, field=key, period=period)
            if batch is not None:
                batch.took_number(counter, n)
        values[key] = forms.format_number(pattern, n, local)
