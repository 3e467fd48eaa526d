"""The expression environment of a write or a query: the store's clock, the caller,
the deployment's time zone, and aggregates over other records computed in SQL."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from engines.expr import Compiled, T, UserInfo
from runtime.auth.models import Actor
from runtime.expr.sql_context import RecordsSqlContext


def user_info(actor: Actor | None) -> UserInfo | None:
    if actor is None:
        return None
    return UserInfo(username=actor.username, department=actor.department,
                    roles=tuple(actor.roles))


class StoreEnv:
    """An `engines.expr.Env` over one open connection."""

    def __init__(self, conn: Connection, *, app: str, now: datetime, tz: ZoneInfo,
                 actor: Actor | None, forms: Mapping[str, Any] | None = None,
                 holidays: frozenset[date] = frozenset()) -> None:
        self.conn = conn
        self.app = app
        self._now = now
        self._tz = tz
        self._user = user_info(actor)
        self._holidays = holidays
        self.forms = forms or {}

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    @property
    def user(self) -> UserInfo | None:
        return self._user

    @property
    def holidays(self) -> frozenset[date]:
        return self._holidays

    def now(self) -> datetime:
        return self._now

    def aggregate(self, func: str, form: str, condition: Compiled, value: Compiled | None,
                  record: Mapping[str, Any]) -> Any:
        """One scalar query: the aggregate's condition with `record.x` bound."""
        ctx = RecordsSqlContext(dialect=self.conn.dialect.name, app=self.app, form=form,
                                forms=self.forms, now=self._now, tz=self._tz,
                                user=self._user, holidays=self._holidays,
                                outer_values=record)
        measure = ctx.aggregate(func, form, condition.to_sql,
                                value.to_sql if value is not None else None)
        result = self.conn.execute(select(measure)).scalar()
        if result is not None and value is not None and value.type is T.MONEY:
            return Decimal(str(result))  # SQLite sums money as REAL
        return result
