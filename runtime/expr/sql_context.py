"""`RecordsSqlContext`: the expression SQL back end's view of the `records` table.

Form fields come out of the JSON `data` column with the cast their type needs on each
dialect (see `engines.expr.sqlcontext` for the representation per type); system fields
come from the real columns; aggregates become correlated scalar subqueries over an
aliased `records`, filtered by app, form and `deleted_at IS NULL`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    Numeric,
    String,
    Text,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FromClause

from engines.expr import SYSTEM_FIELDS, ExprError, Field, T, UserInfo
from engines.expr.env import DEFAULT_TZ
from engines.expr.sqlcontext import SqlPart
from engines.expr.sqlgen import SqlGen
from engines.expr.workcal import WorkCalendar
from runtime.store.tables import records

Col = ColumnElement[Any]
_SQLITE_INSTANT = "%Y-%m-%dT%H:%M:%SZ"
_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
_AGG: dict[str, Any] = {"COUNT": func.count, "SUM": func.sum, "AVG": func.avg, "MIN": func.min,
        "MAX": func.max}


class RecordsSqlContext:
    """One query's context: which app/form the rows are, the instant, the user.

    `params` are the values of extra scope names (report parameters); `outer_values`
    is the record in scope when an aggregate is computed for one record in Python
    (`record.x` then becomes a bound value instead of a correlated column).
    """

    def __init__(self, *, dialect: str, app: str, form: str,
                 forms: Mapping[str, Mapping[str, Field]] | None = None,
                 now: datetime | None = None, tz: ZoneInfo = DEFAULT_TZ,
                 user: UserInfo | None = None, holidays: frozenset[date] = frozenset(),
                 params: Mapping[str, Any] | None = None,
                 outer_values: Mapping[str, Any] | None = None,
                 table: FromClause | None = None,
                 outer_ctx: RecordsSqlContext | None = None,
                 calendar: WorkCalendar | None = None) -> None:
        self._dialect = dialect
        self.app = app
        self.form = form
        self.forms = forms or {}
        self._now = (now or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC)
        self._tz = tz
        self._user = user
        self._holidays = holidays
        self.calendar = calendar  # the app's working calendar, for folded constants
        self.params = params or {}
        self.outer_values = outer_values
        self.table = table if table is not None else records
        self.outer_ctx = outer_ctx
        self._aliases = 0
        # Nesting depth names the aliases: the same expression compiles to the same SQL
        # text on every write, so SQLAlchemy's compiled cache and SQLite's statement
        # cache hit (an id()-based name made every credit check a new statement).
        self._depth: int = 0 if outer_ctx is None else outer_ctx._depth + 1

    # --------------------------------------------------------------- protocol
    @property
    def dialect(self) -> str:
        return self._dialect

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

    def field(self, name: str, type: T) -> Col:
        cols = self.table.c
        if name in SYSTEM_FIELDS and name in cols:
            return self._system(name, cols[name])
        return self._json(name, type)

    def outer(self, name: str, type: T) -> Col:
        if self.outer_ctx is not None:
            if name == "id" and self._dialect != "postgresql":
                # The correlated row's id as text WITHOUT the TEXT affinity a CAST gives:
                # with it, SQLite will not use the expression index of the aggregated
                # form's relation field for `customer == record.id`.
                return literal_column("''").op("||")(self.outer_ctx.table.c.id)
            return self.outer_ctx.field(name, type)
        if self.outer_values is not None:
            return SqlGen(self).bind(self.outer_values.get(name), type).el
        raise ExprError("no_outer", "这里没有当前记录（record）",
                        "there is no record in scope here")

    def name(self, name: str, type: T) -> Col:
        """An extra scope name's value, bound: a report parameter, or — inside an
        aggregate computed for one record in Python — a name evaluated beside that
        record (`target.x` of an `update_related` value, `engines.rule.related`)."""
        if name in self.params or self.outer_values is None:
            return SqlGen(self).bind(self.params.get(name), type).el
        return SqlGen(self).bind(self.outer_values.get(name), type).el

    def aggregate(self, func_name: str, form: str, condition: SqlPart | None,
                  value: SqlPart | None) -> Col:
        self._aliases += 1
        alias = records.alias(f"agg_{form}_{self._depth}_{self._aliases}")
        inner = RecordsSqlContext(dialect=self._dialect, app=self.app, form=form,
                                  forms=self.forms, now=self._now, tz=self._tz,
                                  user=self._user, holidays=self._holidays, params=self.params,
                                  table=alias, outer_ctx=self if self.outer_values is None
                                  else None, outer_values=self.outer_values,
                                  calendar=self.calendar)
        measure = func.count() if func_name == "COUNT" or value is None else \
            _AGG[func_name](value(inner))
        query = select(measure).where(alias.c.app == self.app, alias.c.form == form,
                                      alias.c.deleted_at.is_(None))
        if condition is not None:
            query = query.where(condition(inner))
        return query.scalar_subquery()

    # --------------------------------------------------------------- helpers
    def live(self) -> Col:
        """The rows this context reads: its app and form, not deleted."""
        return (self.table.c.app == self.app) & (self.table.c.form == self.form) & \
            self.table.c.deleted_at.is_(None)

    def _system(self, name: str, col: Col) -> Col:
        if name == "id":
            return cast(col, String)
        if name in ("created_at", "updated_at") and self._dialect != "postgresql":
            return func.strftime(_SQLITE_INSTANT, col)
        return col

    def _json(self, name: str, type: T) -> Col:
        # The key is written into the SQL text, not bound, so the expression is the same
        # one the field's index was built on (a bound path defeats every index). Keys
        # are identifiers by construction; anything else is refused.
        if not _KEY.fullmatch(name):
            raise ExprError("bad_field", f"字段名无效：{name!r}", f"bad field name {name!r}")
        data = self.table.c.data
        if self._dialect == "postgresql":
            text: Col = data.op("->>", return_type=Text())(literal_column(f"'{name}'"))
            if type in (T.NUMBER, T.INTEGER, T.MONEY):
                return cast(text, Numeric)
            if type is T.BOOLEAN:
                return cast(text, Boolean)
            if type is T.DATE:
                return func.loom_date(text, type_=Date())  # immutable: indexable (migration 0002)
            if type is T.DATETIME:
                return func.loom_instant(text, type_=DateTime(timezone=True))  # migration 0002
            return text
        raw: Col = func.json_extract(data, literal_column(f"'$.{name}'"))
        if type is T.MONEY:
            return cast(raw, Float)
        return raw
