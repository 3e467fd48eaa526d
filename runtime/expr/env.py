"""`SqlEnv`: the Env runtime passes when evaluating one record in Python — the clock,
the deployment zone, the user, the holiday calendar, and aggregates that run as one
SQL query each over the records table (never a loop over rows in Python)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from engines.expr import Compiled, Field, UserInfo
from engines.expr.env import DEFAULT_TZ
from engines.expr.sqlgen import SqlGen
from engines.expr.workcal import WorkCalendar
from runtime.expr.sql_context import RecordsSqlContext


class SqlEnv:
    """An Env over a live connection, for one app (and the forms its aggregates name)."""

    def __init__(self, conn: Connection, *, app: str, now: datetime,
                 forms: Mapping[str, Mapping[str, Field]] | None = None,
                 tz: ZoneInfo = DEFAULT_TZ, user: UserInfo | None = None,
                 holidays: frozenset[date] = frozenset(),
                 calendar: WorkCalendar | None = None) -> None:
        self.conn = conn
        self.app = app
        self.forms = forms or {}
        self._now = now
        self.tz = tz
        self.user = user
        self.holidays = holidays
        self.calendar = calendar

    def now(self) -> datetime:
        return self._now

    def aggregate(self, func: str, form: str, condition: Compiled,
                  value: Compiled | None, record: Mapping[str, Any]) -> Any:
        ctx = RecordsSqlContext(dialect=self.conn.dialect.name, app=self.app, form=form,
                                forms=self.forms, now=self._now, tz=self.tz, user=self.user,
                                holidays=self.holidays, outer_values=record,
                                calendar=self.calendar)
        measure = ctx.aggregate(
            func, form, lambda inner: SqlGen(inner).cond(condition.node)[0],
            (lambda inner: SqlGen(inner).value(value.node).el) if value is not None else None)
        result = self.conn.execute(select(measure)).scalar()
        if result is None and func in ("COUNT", "SUM"):
            return 0
        return result
