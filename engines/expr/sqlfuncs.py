"""Functions in SQL: the ones a filter, report or scheduled rule needs over fields.

Each returns the same value as the Python implementation (blank rules included);
functions missing here are refused with `no_sql` when a SQL translation is asked for.
Constant calls (TODAY(), DATE(2026, 1, 1)) never get here: they are bound values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Date,
    Float,
    Integer,
    Numeric,
    String,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from engines.expr import nodes as n
from engines.expr.functions_math import EXP_LIMIT
from engines.expr.types import NUMERIC, ExprError, T

if TYPE_CHECKING:
    from engines.expr.sqlgen import Sql, SqlGen

Col = ColumnElement[Any]


def _no_sql(name: str) -> ExprError:
    return ExprError("no_sql", f"函数 {name} 不能在数据库查询中计算",
                     f"the function {name} cannot be computed in SQL")


def _sql(el: Col, t: T, nullable: bool = True) -> Sql:
    from engines.expr.sqlgen import Sql

    return Sql(el, t, nullable)


def _isblank(g: SqlGen, node: n.Call) -> Sql:
    a = g.value(node.args[0])
    if a.type is T.TEXT:
        return _sql(func.coalesce(a.el, "") == "", T.BOOLEAN, False)
    return _sql(a.el.is_(None), T.BOOLEAN, False)


def _coalesce(g: SqlGen, node: n.Call) -> Sql:
    parts = [g.value(a) for a in node.args]
    els = [func.nullif(p.el, "") if p.type is T.TEXT else p.el for p in parts]
    return _sql(func.coalesce(*els), node.type, all(p.nullable for p in parts))


def _not(g: SqlGen, node: n.Call) -> Sql:
    el, maybe_null = g.cond(node.args[0])
    inner = func.coalesce(el, False) if maybe_null else el
    return _sql(~inner, T.BOOLEAN, False)


def _numbers(g: SqlGen, node: n.Call) -> list[Sql]:
    parts = [g.value(a) for a in node.args]
    if any(p.type not in NUMERIC for p in parts):
        raise _no_sql(node.fn.name)
    return parts


def _sum(g: SqlGen, node: n.Call) -> Sql:
    parts = _numbers(g, node)
    total = g.zero(parts[0])
    for p in parts[1:]:
        total = total + g.zero(p)
    return _sql(total, node.type, False)


def _minmax(name: str) -> Callable[[SqlGen, n.Call], Sql]:
    def build(g: SqlGen, node: n.Call) -> Sql:
        parts = _numbers(g, node)
        if len(parts) == 1:
            return parts[0]
        if g.pg:
            el = (func.least if name == "MIN" else func.greatest)(*[p.el for p in parts])
            return _sql(el, node.type)
        # SQLite's min()/max() give NULL when any argument is NULL: skip blanks first.
        pick = func.min if name == "MIN" else func.max
        first = parts[0].el
        filled = [func.coalesce(p.el, first) for p in parts]
        for p in parts[1:]:
            filled = [func.coalesce(f, p.el) for f in filled]
        return _sql(pick(*filled), node.type)
    return build


def _round_like(g: SqlGen, node: n.Call, kind: str) -> Sql:
    x = g.value(node.args[0])
    digits = g.value(node.args[1]).el if len(node.args) > 1 else literal(0, Integer)
    real = cast(x.el, Numeric) if g.pg else cast(x.el, Float)
    scale = func.power(10, digits)
    el: Col
    if kind == "round":
        el = func.round(real, digits)
    elif kind == "up":
        el = func.sign(real) * func.ceil(func.abs(real) * scale) / scale
    else:
        el = func.sign(real) * func.floor(func.abs(real) * scale) / scale
    return _sql(el, node.type, x.nullable)


def _abs(g: SqlGen, node: n.Call) -> Sql:
    x = g.value(node.args[0])
    return _sql(func.abs(x.el), node.type, x.nullable)


def _int(g: SqlGen, node: n.Call) -> Sql:
    x = g.value(node.args[0])
    return _sql(cast(func.floor(x.el), Integer), T.INTEGER, x.nullable)


def _guarded(el: Col, ok: Col) -> Col:
    """`el` only where `ok` holds, else NULL: a value outside a function's domain never
    reaches the database's own function (PostgreSQL raises on LN(0), SQLite gives NULL),
    so both give blank, as the Python back end does."""
    return case((ok, el), else_=None)


def _math(name: str) -> Callable[[SqlGen, n.Call], Sql]:
    def build(g: SqlGen, node: n.Call) -> Sql:
        parts = _numbers(g, node)
        x = g.as_real(parts[0].el)
        el: Col
        if name == "LN":
            el = func.ln(_guarded(x, x > 0))
        elif name == "SQRT":
            el = func.sqrt(_guarded(x, x >= 0))
        elif name == "EXP":
            el = func.exp(_guarded(x, x <= EXP_LIMIT))
        else:  # LOG(x, base): base first in both databases' log(b, x)
            b = g.as_real(parts[1].el) if len(parts) > 1 else g.as_real(literal(10, Integer))
            el = func.log(_guarded(b, (b > 0) & (b != 1)), _guarded(x, x > 0))
        return _sql(el, T.NUMBER)
    return build


def _text_fn(name: str) -> Callable[[SqlGen, n.Call], Sql]:
    def build(g: SqlGen, node: n.Call) -> Sql:
        s = g.zero(g.value(node.args[0])) if node.args[0].type is T.TEXT else \
            g.text_of(node.args[0])
        if name == "LEN":
            return _sql(func.length(s), T.INTEGER, False)
        if name == "UPPER":
            return _sql(func.upper(s), T.TEXT, False)
        if name == "LOWER":
            return _sql(func.lower(s), T.TEXT, False)
        if name == "LEFT":
            k = g.value(node.args[1]).el if len(node.args) > 1 else literal(1, Integer)
            return _sql(func.substr(s, 1, k), T.TEXT, False)
        if name == "MID":
            start, k = g.value(node.args[1]).el, g.value(node.args[2]).el
            return _sql(func.substr(s, start, k), T.TEXT, False)
        other = g.text_of(node.args[1])
        if name == "CONTAINS":
            found = func.strpos(s, other) if g.pg else func.instr(s, other)
            return _sql(found > 0, T.BOOLEAN, False)
        if name == "STARTSWITH":
            return _sql(func.substr(s, 1, func.length(other)) == other, T.BOOLEAN, False)
        if name == "ENDSWITH":
            tail = func.right(s, func.length(other)) if g.pg else \
                func.substr(s, -func.length(other))
            return _sql(or_(other == "", tail == other), T.BOOLEAN, False)
        raise _no_sql(name)
    return build


def list_contains(g: SqlGen, items: Col, item: Col) -> Col:
    """Whether a JSON list field (a multiselect) holds `item`; a blank list holds nothing."""
    if g.pg:
        return func.coalesce(cast(items, JSONB).op("@>", is_comparison=True)(
            func.jsonb_build_array(item)), False)
    each = func.json_each(items).table_valued("value")
    return select(literal(1)).select_from(each).where(each.c.value == item).exists()


def _contains(g: SqlGen, node: n.Call) -> Sql:
    if node.args[0].type is T.LIST:
        items, item = g.value(node.args[0]), g.value(node.args[1])
        return _sql(list_contains(g, items.el, item.el), T.BOOLEAN, False)
    if node.args[0].type is not T.TEXT:
        raise _no_sql("CONTAINS over this value")
    return _text_fn("CONTAINS")(g, node)


def _local(g: SqlGen, s: Sql) -> Col:
    """A date or an instant as the local calendar date (text on SQLite, date on PG)."""
    if s.type is T.DATE:
        return s.el
    if g.pg:
        return cast(func.timezone(g.ctx.tz.key, s.el), Date)
    offset = g.ctx.tz.utcoffset(g.ctx.now())
    secs = int(offset.total_seconds()) if offset is not None else 0
    return func.date(s.el, f"{secs:+d} seconds")


def _part(name: str) -> Callable[[SqlGen, n.Call], Sql]:
    fmt = {"YEAR": "%Y", "MONTH": "%m", "DAY": "%d"}[name]

    def build(g: SqlGen, node: n.Call) -> Sql:
        s = g.value(node.args[0])
        d = _local(g, s)
        el = cast(func.extract(name.lower(), d), Integer) if g.pg else \
            cast(func.strftime(fmt, d), Integer)
        return _sql(el, T.INTEGER)
    return build


def _weekday(g: SqlGen, node: n.Call) -> Sql:
    s = g.value(node.args[0])
    kind = 1
    if len(node.args) > 1:
        if not isinstance(node.args[1], n.Const):
            raise _no_sql("WEEKDAY")
        kind = int(node.args[1].value)
    if kind not in (1, 2, 3):
        raise _no_sql("WEEKDAY")
    d = _local(g, s)
    sun0 = cast(func.extract("dow", d), Integer) if g.pg else cast(func.strftime("%w", d), Integer)
    mon0 = (sun0 + 6) % 7
    el = {1: sun0 + 1, 2: mon0 + 1, 3: mon0}[kind]
    return _sql(el, T.INTEGER)


def _days(g: SqlGen, node: n.Call) -> Sql:
    if len(node.args) == 1:
        raise _no_sql("DAYS(n) over a field")
    end, start = (_local(g, g.value(a)) for a in node.args)
    el = cast(end - start, Integer) if g.pg else \
        cast(func.julianday(end) - func.julianday(start), Integer)
    return _sql(el, T.INTEGER)


def _span(name: str, unit: int) -> Callable[[SqlGen, n.Call], Sql]:
    """HOURS(end, start) / MINUTES(end, start): whole seconds between two instants (a
    date from its local midnight), divided by the unit, as in Python."""
    def build(g: SqlGen, node: n.Call) -> Sql:
        if len(node.args) == 1:
            raise _no_sql(f"{name}(n) over a field")
        end, start = (g.instant(a, g.value(a)).el for a in node.args)
        if g.pg:
            seconds: Col = func.extract("epoch", end - start)
        else:
            seconds = cast(func.strftime("%s", end), Integer) - \
                cast(func.strftime("%s", start), Integer)
        return _sql(g.as_real(seconds) / unit, T.NUMBER)
    return build


def _adddays(g: SqlGen, node: n.Call) -> Sql:
    base = g.value(node.args[0])
    if base.type is not T.DATE:
        raise _no_sql("ADDDAYS over a date-time")
    days = g.zero(g.value(node.args[1]))
    if g.pg:
        return _sql(base.el + cast(days, Integer), T.DATE)
    modifier = func.printf("%+d days", days)
    return _sql(func.date(base.el, modifier), T.DATE)


def _if_blank_null(cond: Col, el: Col) -> Col:
    return case((cond, None), else_=el)


def _as_binop(op: str) -> Callable[[SqlGen, n.Call], Sql]:
    def build(g: SqlGen, node: n.Call) -> Sql:
        return g.binop(n.Bin(type=node.type, nullable=True, pos=node.pos, op=op,
                             left=node.args[0], right=node.args[1]))
    return build


_STRING = String

BUILDERS: dict[str, Callable[[SqlGen, n.Call], Sql]] = {
    "ISBLANK": _isblank, "COALESCE": _coalesce, "NOT": _not,
    "SUM": _sum, "MIN": _minmax("MIN"), "MAX": _minmax("MAX"),
    "ROUND": lambda g, c: _round_like(g, c, "round"),
    "ROUNDUP": lambda g, c: _round_like(g, c, "up"),
    "ROUNDDOWN": lambda g, c: _round_like(g, c, "down"),
    "ABS": _abs, "INT": _int, "MOD": _as_binop("%"), "POWER": _as_binop("**"),
    "LN": _math("LN"), "LOG": _math("LOG"), "EXP": _math("EXP"), "SQRT": _math("SQRT"),
    "LEN": _text_fn("LEN"), "UPPER": _text_fn("UPPER"), "LOWER": _text_fn("LOWER"),
    "LEFT": _text_fn("LEFT"), "MID": _text_fn("MID"), "CONTAINS": _contains,
    "STARTSWITH": _text_fn("STARTSWITH"), "ENDSWITH": _text_fn("ENDSWITH"),
    "YEAR": _part("YEAR"), "MONTH": _part("MONTH"), "DAY": _part("DAY"),
    "WEEKDAY": _weekday, "DAYS": _days, "ADDDAYS": _adddays,
    "HOURS": _span("HOURS", 3600), "MINUTES": _span("MINUTES", 60),
}
"""Function name → SQL builder. The names missing here have no SQL translation."""


def call_sql(g: SqlGen, node: n.Call) -> Sql:
    build = BUILDERS.get(node.fn.name)
    if build is None:
        raise _no_sql(node.fn.name)
    return build(g, node)
