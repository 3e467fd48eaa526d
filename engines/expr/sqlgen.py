"""The SQL back end: the same checked tree as SQLAlchemy Core, following the same
blank rules as the Python back end (see the package docstring).

- Subtrees that read no field (`NOW() - DAYS(7)`, `TODAY()`, `user.department`) are
  evaluated once in Python and bound as parameters: SQL never reads its own clock.
- Conditions are built for a WHERE clause ("positive" context), where NULL and FALSE
  both reject a row; so `amount > 1000` stays `amount > 1000` (a blank amount is 0, and
  0 > 1000 is false either way) and indexes still apply. Under NOT, or when a boolean is
  used as a value, NULL is turned into FALSE explicitly.
- What SQL cannot do the same way (subform columns, `old.x`, some text functions) is
  refused with ExprError `no_sql`, never approximated silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    true,
)
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from engines.expr import nodes as n
from engines.expr.sqlcontext import SqlContext
from engines.expr.sqlfuncs import call_sql
from engines.expr.types import NUMERIC, ExprError, T, format_datetime

__all__ = ["SqlContext", "to_sql"]

Col = ColumnElement[Any]


def no_sql(what: str) -> ExprError:
    return ExprError("no_sql", f"{what} 不能在数据库查询中计算",
                     f"{what} cannot be computed in SQL")


@dataclass(frozen=True)
class Sql:
    """A SQL value: the element, its type, and whether it may be NULL."""

    el: Col
    type: T
    nullable: bool
    never_blank: bool = False
    """Never NULL nor the type's zero (a row's id): `x == it` needs no COALESCE."""


def to_sql(node: n.Node, ctx: SqlContext) -> Col:
    """`node` as one SQL expression (a condition for WHERE when it is boolean)."""
    gen = SqlGen(ctx)
    if node.type is T.BOOLEAN:
        return gen.cond(node)[0]
    return gen.value(node).el


class SqlGen:
    def __init__(self, ctx: SqlContext) -> None:
        self.ctx = ctx
        self.pg = ctx.dialect == "postgresql"

    # ------------------------------------------------------------ literals
    def bind(self, value: Any, t: T) -> Sql:
        if value is None:
            return Sql(null(), t, True)
        if isinstance(value, bool):
            return Sql(true() if value else false(), T.BOOLEAN, False)
        if isinstance(value, Decimal):
            el: Col = literal(value, Numeric(38, 10)) if self.pg else literal(float(value), Float)
            return Sql(el, T.MONEY, False)
        if isinstance(value, int):
            return Sql(literal(value, Integer), T.INTEGER, False)
        if isinstance(value, float):
            return Sql(literal(value, Float), T.NUMBER, False)
        if isinstance(value, str):
            return Sql(literal(value, String), T.TEXT, False)
        if isinstance(value, datetime):
            el = literal(value, DateTime(timezone=True)) if self.pg else \
                literal(format_datetime(value), String)
            return Sql(el, T.DATETIME, False)
        if isinstance(value, date):
            el = literal(value, Date) if self.pg else literal(value.isoformat(), String)
            return Sql(el, T.DATE, False)
        raise no_sql(f"{type(value).__name__} {value!r}"[:60])

    def is_constant(self, node: n.Node) -> bool:
        for sub in n.walk(node):
            if isinstance(sub, n.Agg) or (isinstance(sub, n.Var) and sub.kind != "user"):
                return False
        return True

    def fold(self, node: n.Node) -> Any:
        from engines.expr.compiled import Compiled
        from engines.expr.env import FixedEnv

        env = FixedEnv(at=self.ctx.now(), tz=self.ctx.tz, user=self.ctx.user,
                       holidays=self.ctx.holidays,
                       calendar=self.ctx.calendar)
        return Compiled("", node).evaluate({}, env)

    # ------------------------------------------------------------ values
    def value(self, node: n.Node) -> Sql:
        if isinstance(node, n.Const) or (self.is_constant(node) and not isinstance(node, n.Var)
                                          and node.type is not T.DURATION):
            value = node.value if isinstance(node, n.Const) else self.fold(node)
            if isinstance(value, list | tuple):
                raise no_sql("a list")
            return self.bind(value, node.type)
        if node.type is T.BOOLEAN:
            el, maybe_null = self.cond(node)
            return Sql(func.coalesce(el, false()) if maybe_null else el, T.BOOLEAN, False)
        if isinstance(node, n.Var):
            return self.var(node)
        if isinstance(node, n.Unary):
            inner = self.value(node.operand)
            return inner if node.op == "pos" else Sql(-inner.el, inner.type, inner.nullable)
        if isinstance(node, n.Bin):
            return self.binop(node)
        if isinstance(node, n.Cond):
            test = self.cond(node.test)[0]
            then, orelse = self.value(node.then), self.value(node.orelse)
            return Sql(case((test, then.el), else_=orelse.el), node.type, node.nullable)
        if isinstance(node, n.Call):
            return call_sql(self, node)
        if isinstance(node, n.Agg):
            return self.aggregate(node)
        raise no_sql(type(node).__name__)

    def var(self, node: n.Var) -> Sql:
        if node.kind == "field":
            if node.type in (T.SUBFORM, T.RECORD):
                raise no_sql(node.key)
            return Sql(self.ctx.field(node.key, node.type), node.type, True)
        if node.kind == "outer":
            el = self.ctx.outer(node.key, node.type)
            # `record.x` bound to a known value (one record in Python) is a constant: the
            # comparison can then use the raw, indexable column (see _compare_zeroed).
            if isinstance(el, BindParameter):
                return Sql(el, node.type, el.value is None)
            # correlated with the rows of an outer query (a scheduled rule's aggregates
            # for all candidates): a row's id is never blank, so `customer == record.id`
            # also compares the raw, indexable column
            row_id = node.key == "id"
            return Sql(el, node.type, not row_id, never_blank=row_id)
        if node.kind == "name":
            return Sql(self.ctx.name(node.key, node.type), node.type, True)
        what = {"old": f"old.{node.key}", "column": f"{node.key}.{node.sub}"}.get(node.kind,
                                                                             node.key)
        raise no_sql(what)

    def zero(self, s: Sql) -> Col:
        """The value with a blank replaced by the type's zero (0, "", FALSE)."""
        if not s.nullable:
            return s.el
        if s.type in NUMERIC:
            return func.coalesce(s.el, 0)
        if s.type is T.TEXT:
            return func.coalesce(s.el, "")
        if s.type is T.BOOLEAN:
            return func.coalesce(s.el, false())
        return s.el

    def as_real(self, el: Col) -> Col:
        return cast(el, Numeric) if self.pg else cast(el, Float)

    def binop(self, node: n.Bin) -> Sql:
        op = node.op
        a_node, b_node = node.left, node.right
        if op == "&" or (op == "+" and a_node.type is T.TEXT):
            left, right = self.text_of(a_node), self.text_of(b_node)
            return Sql(left.op("||")(right), T.TEXT, False)
        if node.type is T.DATE or node.type is T.DATETIME:
            return self.shift(node)
        a, b = self.value(a_node), self.value(b_node)
        if not (a.type in NUMERIC and b.type in NUMERIC):
            raise no_sql(f"{a.type.value} {op} {b.type.value}")
        x, y = self.zero(a), self.zero(b)
        if op == "+":
            return Sql(x + y, node.type, False)
        if op == "-":
            return Sql(x - y, node.type, False)
        if op == "*":
            return Sql(x * y, node.type, False)
        if op == "/":
            return Sql(self.as_real(x) / func.nullif(self.as_real(y), 0), node.type, True)
        if op == "%":
            real_y = func.nullif(self.as_real(y), 0)
            return Sql(x - y * func.floor(self.as_real(x) / real_y), node.type, True)
        if op == "**":
            return Sql(func.power(self.as_real(x), self.as_real(y)), node.type, False)
        raise no_sql(op)

    def text_of(self, node: n.Node) -> Col:
        s = self.value(node)
        if s.type is T.TEXT:
            return self.zero(s)
        if s.type is T.INTEGER:
            return func.coalesce(cast(s.el, String), "")
        raise no_sql(f"text of a {s.type.value}")

    def shift(self, node: n.Bin) -> Sql:
        """date/datetime ± a constant duration."""
        base_node, dur_node = (node.left, node.right) if node.left.type in (
            T.DATE, T.DATETIME) else (node.right, node.left)
        if not self.is_constant(dur_node):
            raise no_sql("a duration that depends on a field")
        delta = self.fold(dur_node)
        if not isinstance(delta, timedelta):
            raise no_sql("a duration")
        if node.op == "-":
            delta = -delta
        base = self.value(base_node)
        if base.type is T.DATE:
            days = delta.days
            if self.pg:
                return Sql(base.el + literal(days, Integer), T.DATE, True)
            return Sql(func.date(base.el, f"{days:+d} days"), T.DATE, True)
        secs = int(delta.total_seconds())
        if self.pg:
            return Sql(base.el + func.make_interval(0, 0, 0, 0, 0, 0, secs), T.DATETIME, True)
        return Sql(func.strftime("%Y-%m-%dT%H:%M:%SZ", base.el, f"{secs:+d} seconds"),
                   T.DATETIME, True)

    def instant(self, node: n.Node, s: Sql) -> Sql:
        """A DATE as the instant its day starts in the deployment zone (DATETIME as is).
        Constants are converted exactly in Python; on SQLite a column uses the zone's
        current UTC offset (exact for zones without daylight saving, such as China's)."""
        if s.type is not T.DATE:
            return s
        if self.is_constant(node):
            from engines.expr.ops import local_midnight

            value = node.value if isinstance(node, n.Const) else self.fold(node)
            if value is None:
                return Sql(null(), T.DATETIME, True)
            from engines.expr.env import FixedEnv

            env = FixedEnv(at=self.ctx.now(), tz=self.ctx.tz)
            return self.bind(local_midnight(env, value), T.DATETIME)
        if self.pg:
            local = func.timezone(self.ctx.tz.key, cast(s.el, DateTime(timezone=False)))
            return Sql(local, T.DATETIME, s.nullable)
        offset = self.ctx.tz.utcoffset(self.ctx.now().replace(tzinfo=None))
        secs = -int(offset.total_seconds()) if offset is not None else 0
        return Sql(func.strftime("%Y-%m-%dT%H:%M:%SZ", s.el, f"{secs:+d} seconds"),
                   T.DATETIME, s.nullable)

    # ------------------------------------------------------------ conditions
    def cond(self, node: n.Node) -> tuple[Col, bool]:
        """A condition for WHERE, and whether it may be NULL (NULL means false)."""
        if isinstance(node, n.Const):
            return (true() if node.value is True else false()), False
        if isinstance(node, n.BoolOp):
            parts = [self.cond(i) for i in node.items]
            joined = and_(*[p[0] for p in parts]) if node.op == "and" else \
                or_(*[p[0] for p in parts])
            return joined, any(p[1] for p in parts)
        if isinstance(node, n.Unary) and node.op == "not":
            el, maybe_null = self.cond(node.operand)
            return not_(func.coalesce(el, false()) if maybe_null else el), False
        if isinstance(node, n.Cmp):
            return self.compare(node)
        if self.is_constant(node):
            return (true() if self.fold(node) is True else false()), False
        if isinstance(node, n.Var | n.Call | n.Cond):
            if node.type is T.BOOLEAN and isinstance(node, n.Var):
                s = self.var(node)
                return s.el == true(), True
            if isinstance(node, n.Cond):
                test = self.cond(node.test)[0]
                then = self.cond(node.then)[0]
                orelse = self.cond(node.orelse)[0]
                return case((test, then), else_=orelse), True
            s = call_sql(self, node) if isinstance(node, n.Call) else self.value(node)
            if s.type is not T.BOOLEAN:
                raise no_sql("a condition of this kind")
            return s.el, s.nullable
        raise no_sql("this condition")

    def compare(self, node: n.Cmp) -> tuple[Col, bool]:
        op = node.op
        if op in ("in", "notin"):
            return self.membership(node)
        a, b = self.value(node.left), self.value(node.right)
        if T.NULL in (a.type, b.type) and op in ("==", "!="):
            other = b if a.type is T.NULL else a
            blank = func.coalesce(other.el, "") == "" if other.type is T.TEXT else \
                other.el.is_(None)
            return (blank if op == "==" else not_(blank)), False
        if {a.type, b.type} == {T.DATE, T.DATETIME}:
            a, b = self.instant(node.left, a), self.instant(node.right, b)
        if a.type in (*NUMERIC, T.TEXT, T.BOOLEAN) and b.type in (*NUMERIC, T.TEXT, T.BOOLEAN):
            return self._compare_zeroed(op, a, b)
        # dates and times: a blank equals only a blank, and never orders
        if op == "==":
            return a.el.is_not_distinct_from(b.el), False
        if op == "!=":
            return a.el.is_distinct_from(b.el), False
        return a.el.op(_SQL_OP[op], is_comparison=True)(b.el), a.nullable or b.nullable

    def _compare_zeroed(self, op: str, a: Sql, b: Sql) -> tuple[Col, bool]:
        """Numbers, texts, booleans: a blank is 0 / "" / FALSE. When the constant side
        already makes the blank case false, the raw column is compared (indexable)."""
        if a.type is T.BOOLEAN or b.type is T.BOOLEAN:
            left, right = self.zero(a), self.zero(b)
            return left.op(_SQL_OP[op], is_comparison=True)(right), False
        for col, const, flip in ((a, b, False), (b, a, True)):
            if col.nullable and not const.nullable and (
                    (op == "==" and const.never_blank) or self._zero_fails(op, const, flip)):
                other = self.zero(const)
                left, right = (other, col.el) if flip else (col.el, other)
                return left.op(_SQL_OP[op], is_comparison=True)(right), True
        left, right = self.zero(a), self.zero(b)
        return left.op(_SQL_OP[op], is_comparison=True)(right), False

    def _zero_fails(self, op: str, const: Sql, flip: bool) -> bool:
        """Whether `0 op c` (or `c op 0`) is false for the bound constant c."""
        value = getattr(const.el, "value", None)
        if value is None:
            return False
        zero: Any = "" if isinstance(value, str) else 0
        left, right = (value, zero) if flip else (zero, value)
        try:
            return not _PY_OP[op](left, right)
        except TypeError:
            return False

    def membership(self, node: n.Cmp) -> tuple[Col, bool]:
        right = node.right
        if isinstance(right, n.ListLit) and all(self.is_constant(i) for i in right.items):
            a = self.value(node.left)
            values = [self.fold(i) if not isinstance(i, n.Const) else i.value for i in right.items]
            col = self.zero(a)
            el = col.in_([self.bind(v, a.type).el for v in values if v is not None])
            return (el if node.op == "in" else not_(el)), False
        if right.type is T.TEXT:
            hay, needle = self.zero(self.value(right)), self.text_of(node.left)
            found = (func.strpos(hay, needle) if self.pg else func.instr(hay, needle)) > 0
            return (found if node.op == "in" else not_(found)), False
        if right.type is T.LIST:
            from engines.expr.sqlfuncs import list_contains

            found = list_contains(self, self.value(right).el, self.value(node.left).el)
            return (found if node.op == "in" else not_(found)), False
        raise no_sql("in over this list")

    def aggregate(self, node: n.Agg) -> Sql:
        def condition(inner: SqlContext) -> Col:
            assert node.condition is not None  # noqa: S101 - checked by the caller
            return SqlGen(inner).cond(node.condition)[0]

        def value(inner: SqlContext) -> Col:
            assert node.value is not None  # noqa: S101 - checked by the caller
            return SqlGen(inner).value(node.value).el

        el = self.ctx.aggregate(node.func, node.form,
                                condition if node.condition is not None else None,
                                value if node.value is not None else None)
        if node.func == "SUM":
            return Sql(func.coalesce(el, 0), node.type, False)
        return Sql(el, node.type, node.func != "COUNT")


_SQL_OP = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_PY_OP = {"==": lambda x, y: x == y, "!=": lambda x, y: x != y, "<": lambda x, y: x < y,
          "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}
_ = Boolean
