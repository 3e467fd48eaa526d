"""Other records for lookups and data linkage (`engines.form.plan.RecordSource`),
read from the store in the writer's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, select

from engines.expr import Compiled
from runtime.expr.env import SqlEnv
from runtime.expr.sql_context import RecordsSqlContext
from runtime.store.tables import records

# Built once: a lookup runs for every record written with a lookup field, and building
# and cache-keying the statement each time cost more than running it.
_GET_DATA = select(records.c.data).where(
    records.c.id == bindparam("s_id"), records.c.app == bindparam("s_app"),
    records.c.form == bindparam("s_form"), records.c.deleted_at.is_(None))


class StoreRecords:
    def __init__(self, conn: Connection, env: SqlEnv) -> None:
        self.conn = conn
        self.env = env

    def get(self, form: str, record_id: str) -> Mapping[str, Any] | None:
        try:
            rid = int(record_id)
        except (TypeError, ValueError):
            return None
        data: Mapping[str, Any] | None = self.conn.execute(
            _GET_DATA, {"s_id": rid, "s_app": self.env.app, "s_form": form}).scalar()
        return data

    def first(self, form: str, where: Compiled,
              record: Mapping[str, Any]) -> Mapping[str, Any] | None:
        ctx = RecordsSqlContext(dialect=self.conn.dialect.name, app=self.env.app, form=form,
                                forms=self.env.forms, now=self.env.now(), tz=self.env.tz,
                                user=self.env.user, outer_values=record)
        data: Mapping[str, Any] | None = self.conn.execute(
            select(records.c.data).where(ctx.live(), where.to_sql(ctx))
            .order_by(records.c.id).limit(1)).scalar()
        return data
