"""What the SQL back end needs from runtime: where each field's value comes from.

Values in SQL have one representation per type and dialect, which `field`, `outer`
and `name` must return (the SQL back end builds everything else on top):

| type               | PostgreSQL            | SQLite                                  |
|--------------------|-----------------------|-----------------------------------------|
| TEXT               | text                  | text                                    |
| INTEGER / NUMBER   | numeric / float       | integer / real                          |
| MONEY              | numeric (exact)       | real (rounded to cents when shown)      |
| BOOLEAN            | boolean               | integer 0/1                             |
| DATE               | date                  | text `YYYY-MM-DD`                       |
| DATETIME           | timestamptz           | text `YYYY-MM-DDTHH:MM:SSZ` (UTC)       |

A blank is SQL NULL in every case.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.sql.elements import ColumnElement

from engines.expr.types import T, UserInfo
from engines.expr.workcal import WorkCalendar

SqlPart = Callable[["SqlContext"], ColumnElement[Any]]


class SqlContext(Protocol):
    """Runtime's view of the records table for one query."""

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        ...

    @property
    def tz(self) -> ZoneInfo: ...

    @property
    def user(self) -> UserInfo | None: ...

    @property
    def holidays(self) -> frozenset[date]: ...

    @property
    def calendar(self) -> WorkCalendar | None:
        """The app's working calendar, for constants folded before the query runs."""
        ...

    def now(self) -> datetime:
        """The instant the query runs at (bound as a parameter, never SQL's own clock)."""
        ...

    def field(self, name: str, type: T) -> ColumnElement[Any]:
        """A field (or system field) of the record in scope, in the table's representation."""
        ...

    def outer(self, name: str, type: T) -> ColumnElement[Any]:
        """`record.x` inside an aggregate condition: the record the aggregate is for."""
        ...

    def name(self, name: str, type: T) -> ColumnElement[Any]:
        """An extra scope name (a report parameter): usually a bound value."""
        ...

    def aggregate(self, func: str, form: str, condition: SqlPart | None,
                  value: SqlPart | None) -> ColumnElement[Any]:
        """A correlated scalar subquery: `func(value)` over the live records of `form`
        where `condition` holds; the parts are built with a context for that form."""
        ...
