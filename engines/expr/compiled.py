"""`compile_expr`: parse and check once, build the Python function once; `Compiled` is
immutable and cheap to evaluate many times (and to translate to SQL)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from engines.expr import nodes as n
from engines.expr.checker import Checker
from engines.expr.pygen import build
from engines.expr.types import NUMERIC, ExprError, Scope, T, an

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

    from engines.expr.env import Env
    from engines.expr.sqlgen import SqlContext


class Evaluator(Protocol):
    def __call__(self, values: Mapping[str, Any], env: Env | None = None) -> Any: ...


class Compiled:
    """One checked expression.

    `names` are the fields (and extra names) of the record in scope it reads;
    `evaluate(values, env)` runs it on native values (see `to_native`); `to_sql(ctx)`
    gives the same computation as a SQLAlchemy expression.
    """

    __slots__ = ("evaluate", "names", "node", "outer_names", "source", "type", "uses_env")

    evaluate: Evaluator
    source: str
    type: T
    node: n.Node
    names: frozenset[str]
    outer_names: frozenset[str]
    uses_env: bool

    def __init__(self, source: str, node: n.Node) -> None:
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "node", node)
        object.__setattr__(self, "type", node.type)
        names, outer, uses_env = _reads(node)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "outer_names", outer)
        object.__setattr__(self, "uses_env", uses_env)
        object.__setattr__(self, "evaluate", build(source, node, Compiled))

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Compiled is immutable")

    def __repr__(self) -> str:
        return f"Compiled({self.source!r}, type={self.type.value})"

    def to_sql(self, ctx: SqlContext) -> ColumnElement[Any]:
        """The same computation in SQL over the records table that `ctx` describes."""
        from engines.expr.sqlgen import to_sql

        try:
            return to_sql(self.node, ctx)
        except ExprError as exc:
            raise exc.at(self.source, 1, 1) from None

    @property
    def python_source(self) -> str:
        """The generated Python (for debugging and the docs)."""
        return str(getattr(self.evaluate, "__loom_source__", ""))


def _reads(node: n.Node) -> tuple[frozenset[str], frozenset[str], bool]:
    names: set[str] = set()
    outer: set[str] = set()
    uses_env = False
    for sub in n.walk(node):
        if isinstance(sub, n.Var):
            if sub.kind in ("field", "name", "column"):
                names.add(sub.key)
            elif sub.kind == "outer":
                outer.add(sub.key)
            elif sub.kind == "user":
                uses_env = True
        elif isinstance(sub, n.Call) and sub.fn.needs_env:
            uses_env = True
        elif isinstance(sub, n.Agg):
            uses_env = True
            for part in (sub.condition, sub.value):
                if part is not None:
                    for inner in n.walk(part):
                        if isinstance(inner, n.Var) and inner.kind == "outer":
                            names.add(inner.key)
    return frozenset(names), frozenset(outer), uses_env


def _fits(got: T, expect: T) -> bool:
    if expect is T.ANY or got in (T.ANY, T.NULL) or got is expect:
        return True
    if expect in NUMERIC and got in NUMERIC:
        return True
    return {got, expect} <= {T.DATE, T.DATETIME} or (expect is T.LIST and got is T.SUBFORM)


@lru_cache(maxsize=4096)
def compile_expr(source: str, scope: Scope, expect: T | None = None) -> Compiled:
    """Parse, check and compile `source` in `scope`; raises ExprError (with position).

    `expect` is the type the caller needs (BOOLEAN for conditions, the field's type for
    formulas and defaults). Results are cached per (source, scope, expect).
    """
    checker = Checker(source, scope)
    node = checker.check(checker.parse())
    if expect is not None and not _fits(node.type, expect):
        raise ExprError("wrong_type", f"表达式的结果须为 {expect.value}，实际为 {node.type.value}",
                        f"the expression must give {an(expect)}, not {an(node.type)}",
                        source=source, line=node.pos[0] or 1, column=node.pos[1] or 1)
    return Compiled(source, node)
