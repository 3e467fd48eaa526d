"""Auto-numbers (流水号) from database counters that never hand out a number twice.

One atomic upsert per number (`INSERT … ON CONFLICT DO UPDATE … RETURNING`) on both
databases: concurrent writers serialise on the counter row, and a rolled-back write
gives its number back with the rest of its transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from runtime.forms import adapter as forms
from runtime.store.tables import sequences


def next_value(conn: Connection, *, app: str, form: str, field: str, period: str) -> int:
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    upsert = dialect_insert(sequences).values(app=app, form=form, field=field, period=period,
                                              value=1).on_conflict_do_update(
        index_elements=[sequences.c.app, sequences.c.form, sequences.c.field,
                        sequences.c.period],
        set_={"value": sequences.c.value + 1})
    return int(conn.execute(upsert.returning(sequences.c.value)).scalar_one())


def assign_numbers(conn: Connection, *, app: str, form: str, cform: Any,
                   values: dict[str, Any], now: datetime, tz: ZoneInfo) -> None:
    """Fill every auto-number field of a new record."""
    local = now.astimezone(tz)
    for key, pattern, reset in forms.autonumber_fields(cform):
        period = forms.period(reset, local)
        n = next_value(conn, app=app, form=form, field=key, period=period)
        values[key] = forms.format_number(pattern, n, local)
