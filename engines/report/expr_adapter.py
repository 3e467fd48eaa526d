"""`ExprBackend` over Loom's expression language (`engines.expr`).

Reports see fields of related forms as `customer.region`. The expression language
reads dotted names only on `record`, `old`, `user` and subforms, so before compiling,
a `relation.field` path is rewritten to the flat name `relation__field` (tokens, not
text: a string literal `"customer.region"` is left alone), declared in the scope with
the related field's type, and read back through the report's column resolver.

`ReportSqlContext` gives the SQL back end each value in the representation it
expects per dialect (see `engines.expr.sqlcontext`): dates as `date` and datetimes as
`timestamptz` on PostgreSQL, ISO text on SQLite.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, DateTime, cast, func, literal_column
from sqlalchemy.sql.elements import ColumnElement

from engines.expr import ExprError, Field, FixedEnv, Scope, T, UserInfo, compile_expr
from engines.expr.sqlcontext import SqlPart
from engines.expr.workcal import WorkCalendar
from engines.report.expressions import ColumnFor
from engines.report.fields import Kind

_T_OF_KIND: dict[str, T] = {
    "text": T.TEXT, "relation": T.TEXT, "id": T.TEXT, "number": T.NUMBER,
    "integer": T.INTEGER, "money": T.MONEY, "date": T.DATE, "datetime": T.DATETIME,
    "timestamp": T.DATETIME, "boolean": T.BOOLEAN, "list": T.LIST,
}
_KIND_OF_T: dict[T, Kind] = {
    T.TEXT: "text", T.NUMBER: "number", T.INTEGER: "integer", T.MONEY: "money",
    T.DATE: "date", T.DATETIME: "datetime", T.BOOLEAN: "boolean", T.LIST: "list",
}
SEP = "__"


def flatten(source: str, fields: Mapping[str, Kind]) -> str:
    """`customer.region > ""` → `customer__region > ""` for every known path."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source  # the checker reports the syntax error itself
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    edits: list[tuple[int, int, str]] = []
    for i in range(len(tokens) - 2):
        a, dot, b = tokens[i], tokens[i + 1], tokens[i + 2]
        prev = tokens[i - 1] if i else None
        if (a.type == tokenize.NAME and dot.string == "." and b.type == tokenize.NAME
                and f"{a.string}.{b.string}" in fields
                and not (prev is not None and prev.string == ".")):
            start = offsets[a.start[0] - 1] + a.start[1]
            end = offsets[b.end[0] - 1] + b.end[1]
            edits.append((start, end, f"{a.string}{SEP}{b.string}"))
    for start, end, text in reversed(edits):
        source = source[:start] + text + source[end:]
    return source


def _scope(fields: Mapping[str, Kind], names: Mapping[str, Kind]) -> Scope:
    flat = {k.replace(".", SEP): Field(_T_OF_KIND.get(v, T.ANY)) for k, v in fields.items()}
    return Scope(flat, names={k: _T_OF_KIND.get(v, T.ANY) for k, v in names.items()})


def _message(exc: ExprError) -> dict[str, str]:
    where = f" ({exc.line}:{exc.column})" if exc.line else ""
    return {lang: text.replace(SEP, ".") + where for lang, text in exc.message.items()}


_CHECK_NOW = datetime(2000, 1, 1, tzinfo=UTC)


def _placeholder(name: str) -> ColumnElement[Any]:
    """Stands for a column while checking that an expression has a SQL form."""
    return literal_column(f'"{name}"')


class ReportSqlContext:
    """The expression language's `SqlContext` for one report statement."""

    def __init__(self, column: ColumnFor, fields: Mapping[str, Kind], *, dialect: str,
                 tz: ZoneInfo, now: datetime, user: UserInfo | None = None) -> None:
        self._column, self._fields = column, fields
        self._dialect, self._tz, self._now, self._user = dialect, tz, now, user

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
        return frozenset()

    @property
    def calendar(self) -> WorkCalendar | None:
        """None: a compiled report does not carry its app's calendar, so a working-time
        constant in a report filter counts Monday to Friday."""
        return None

    def now(self) -> datetime:
        return self._now

    def field(self, name: str, type: T) -> ColumnElement[Any]:
        path = name.replace(SEP, ".")
        value = self._column(path)
        kind = self._fields.get(path)
        pg = self._dialect == "postgresql"
        if kind == "date" and pg:
            return cast(value, Date)
        if kind == "datetime" and pg:
            return cast(value, DateTime(timezone=True))
        if kind == "timestamp" and not pg:
            return func.strftime("%Y-%m-%dT%H:%M:%SZ", value)
        return value

    def outer(self, name: str, type: T) -> ColumnElement[Any]:
        return self.field(name, type)

    def name(self, name: str, type: T) -> ColumnElement[Any]:
        return self._column(name)

    def aggregate(self, func: str, form: str, condition: SqlPart | None,
                  value: SqlPart | None) -> ColumnElement[Any]:
        raise ExprError("not_in_reports",
                        "报表筛选中不能使用跨表汇总函数，请用关联（joins）",
                        "aggregates over other forms are not available in report "
                        "expressions; join the related form instead")


class ExprLanguageBackend:
    """`ExprBackend` implemented with `engines.expr.compile_expr`.

    Compiled expressions are kept per (source, fields, names): a report's filters and
    measure conditions are compiled again for every call otherwise (118 compilations,
    a third of the time it took to plan the trust dashboard). The field and name
    mappings are a compiled report's own, never changed, and known by identity; an
    entry holds them, so an identity cannot be reused while it lives."""

    MEMO_SIZE = 4096

    def __init__(self) -> None:
        self._memo: dict[tuple[str, int, int], tuple[Mapping[str, Kind],
                                                     Mapping[str, Kind], Any]] = {}

    def _compile(self, source: str, fields: Mapping[str, Kind],
                 names: Mapping[str, Kind]) -> Any:
        key = (source, id(fields), id(names))
        hit = self._memo.get(key)
        if hit is not None and hit[0] is fields and hit[1] is names:
            return hit[2]
        compiled = compile_expr(flatten(source, fields), _scope(fields, names))
        if len(self._memo) >= self.MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = (fields, names, compiled)
        return compiled

    def check(self, source: str, fields: Mapping[str, Kind],
              names: Mapping[str, Kind]) -> tuple[str, dict[str, str]] | None:
        """Compiles, and translates to SQL for both dialects: an expression that only
        the Python back end can run is refused when the report is saved, not when a
        viewer opens it."""
        try:
            compiled = self._compile(source, fields, names)
            for dialect in ("sqlite", "postgresql"):
                ctx = ReportSqlContext(_placeholder, fields, dialect=dialect,
                                       tz=ZoneInfo("UTC"), now=_CHECK_NOW)
                compiled.to_sql(ctx)
        except ExprError as exc:
            return exc.code, _message(exc)
        return None

    def names(self, source: str, fields: Mapping[str, Kind],
              names: Mapping[str, Kind]) -> frozenset[str]:
        compiled = self._compile(source, fields, names)
        return frozenset(n.replace(SEP, ".") for n in compiled.names)

    def kind(self, source: str, fields: Mapping[str, Kind], names: Mapping[str, Kind]) -> Kind:
        compiled = self._compile(source, fields, names)
        return _KIND_OF_T.get(compiled.type, "text")

    def to_sql(self, source: str, *, fields: Mapping[str, Kind], names: Mapping[str, Kind],
               column: ColumnFor, dialect: str, tz: str, now: Any) -> ColumnElement[Any]:
        compiled = self._compile(source, fields, names)
        ctx = ReportSqlContext(column, fields, dialect=dialect, tz=ZoneInfo(tz), now=now)
        result: ColumnElement[Any] = compiled.to_sql(ctx)
        return result

    def evaluate(self, source: str, names: Mapping[str, Kind], now: Any, tz: str) -> Any:
        compiled = compile_expr(source, _scope({}, names))
        if not isinstance(now, datetime):
            raise TypeError("evaluate needs the caller's `now` (engines read no clock)")
        return compiled.evaluate({}, FixedEnv(at=now, tz=ZoneInfo(tz)))


__all__ = ["ExprLanguageBackend", "ReportSqlContext", "flatten"]
