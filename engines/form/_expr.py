"""The one place the form engine reaches into the expression language.

Everything the form engine needs from `engines.expr` is re-exported here, so the rest
of the package reads `from engines.form._expr import …` and a change in how the
expression package publishes its API is a change to this file only.
"""

from __future__ import annotations

from engines.expr import (
    Compiled,
    Env,
    ExprError,
    FixedEnv,
    Scope,
    T,
    UserInfo,
    compile_expr,
    to_json,
    to_native,
)
from engines.expr import Field as ExprField

__all__ = ["Compiled", "Env", "ExprError", "ExprField", "FixedEnv", "Scope", "T", "UserInfo",
           "compile_expr", "to_json", "to_native"]


def columns_read(compiled: Compiled) -> frozenset[tuple[str, str]]:
    """The subform columns an expression reads, as (subform, column) pairs.

    `Compiled.names` says only that `lines` is read; the formula graph needs which
    column, or `share = subtotal / record.total` beside `total = SUM(lines.subtotal)`
    would look like a cycle.
    """
    from engines.expr import nodes

    return frozenset((v.key, v.sub) for v in nodes.walk(compiled.node)
                     if isinstance(v, nodes.Var) and v.kind == "column")


def aggregate_condition(compiled: Compiled) -> Compiled:
    """The condition of the aggregate `compiled` is (`COUNT(form, cond)`), compiled as
    `Env.aggregate` receives it: bare names are the other form's, `record.x` outer."""
    from engines.expr import nodes

    agg = next(v for v in nodes.walk(compiled.node) if isinstance(v, nodes.Agg))
    if agg.condition is None:
        raise ValueError("the aggregate has no condition")
    return Compiled(agg.condition_source, agg.condition)
