"""The engine's `Directory` and `WorkCalendar` over the store.

People, roles and departments live in the `users` and `departments` tables. One
`StoreDirectory` serves one transaction and caches what it reads there, so a step that
resolves the same role for several nodes queries once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from engines.expr import Env, ExprError, Scope, compile_expr
from engines.expr.workcal import WorkCalendar
from runtime.store.tables import departments, users

MAX_DEPARTMENT_DEPTH = 32


class StoreDirectory:
    """Who people are, read from the database of the current transaction."""

    def __init__(self, conn: Connection, *, scope: Scope | None = None,
                 env: Env | None = None) -> None:
        self.conn = conn
        self.scope = scope
        self.env = env
        self._people: dict[str, tuple[tuple[str, ...], str | None, bool]] | None = None
        self._departments: dict[str, tuple[str | None, str | None]] | None = None

    def _load_people(self) -> dict[str, tuple[tuple[str, ...], str | None, bool]]:
        if self._people is None:
            rows = self.conn.execute(select(users.c.username, users.c.roles,
                                            users.c.department, users.c.is_admin)
                                     .where(users.c.active.is_(True))
                                     .order_by(users.c.username)).all()
            self._people = {r.username: (tuple(r.roles or ()), r.department, bool(r.is_admin))
                            for r in rows}
        return self._people

    def _load_departments(self) -> dict[str, tuple[str | None, str | None]]:
        if self._departments is None:
            rows = self.conn.execute(select(departments.c.key, departments.c.parent,
                                            departments.c.head)).all()
            self._departments = {r.key: (r.parent, r.head) for r in rows}
        return self._departments

    def users_with_role(self, role: str) -> Sequence[str]:
        return [name for name, (roles, _dept, _admin) in self._load_people().items()
                if role in roles]

    def department_head(self, user: str, levels: int) -> str | None:
        """The head `levels` up from the user's department. A head's own head is the
        parent department's: nobody approves as their own superior."""
        person = self._load_people().get(user)
        if person is None or person[1] is None:
            return None
        depts = self._load_departments()
        key: str | None = person[1]
        found = 0
        for _ in range(MAX_DEPARTMENT_DEPTH):
            if key is None or key not in depts:
                return None
            parent, head = depts[key]
            if head is not None and head != user:
                found += 1
                if found == levels:
                    return head
            key = parent
        return None

    def users_from_expression(self, expr: str, record: Mapping[str, Any]) -> Sequence[str]:
        """An expression over the record giving a username or a list of them."""
        if self.scope is None:
            return []
        try:
            value = compile_expr(expr, self.scope).evaluate(record, self.env)
        except ExprError:
            return []
        if isinstance(value, str):
            return [value] if value else []
        if isinstance(value, list | tuple):
            return [v for v in value if isinstance(v, str) and v]
        return []

    def admins(self) -> Sequence[str]:
        return [name for name, (_roles, _dept, admin) in self._load_people().items() if admin]


class WeekdayCalendar:
    """Working time = Monday to Friday in the deployment's time zone, all day.

    Whole working days are added a day at a time, the rest an hour at a time, so a due
    time of `P3D` from Friday 10:00 is the next Wednesday 10:00.
    """

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def add_working(self, start: datetime, delta: timedelta) -> datetime:
        local = start.astimezone(self.tz)
        days, rest = delta.days, delta - timedelta(days=delta.days)
        while days > 0:
            local += timedelta(days=1)
            if local.weekday() < 5:
                days -= 1
        step = timedelta(minutes=1)
        while rest > timedelta(0):
            local += step
            if local.weekday() < 5:
                rest -= step
        return local.astimezone(start.tzinfo)


class AppCalendar:
    """Working time = the app's calendar (`app.json` "calendar"): each day of a duration
    is one working day's hours, the rest working time, so a due time of `P1DT2H` from
    Friday 17:00 with 09:00-18:00 days is Monday 17:00 plus two hours: Tuesday 10:00."""

    def __init__(self, calendar: WorkCalendar, tz: ZoneInfo) -> None:
        self.calendar = calendar
        self.tz = tz

    def add_working(self, start: datetime, delta: timedelta) -> datetime:
        rest = delta - timedelta(days=delta.days)
        seconds = delta.days * self.calendar.seconds_per_day + rest.total_seconds()
        return self.calendar.add_seconds(start, seconds, self.tz)
