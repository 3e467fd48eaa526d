"""The condition compiler runtime passes to `compile_flow`, built on engines.expr.

Kept out of the engine core: the core takes any `ConditionCompiler`, so it can be
tested with a fake and never depends on how expressions work. This adapter checks each
condition once against the bound form's scope (it must be boolean) and raises
`ValueError` with the expression error's position, which `compile_flow` turns into a
located `bad_condition` issue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engines.expr import Env, ExprError, Scope, T, compile_expr
from engines.flow.ports import Condition, ConditionCompiler


def expr_conditions(scope: Scope, env: Env | None = None) -> ConditionCompiler:
    """A compiler of flow conditions over `scope`; `env` supplies NOW(), the user and
    aggregates at evaluation time (runtime passes one that reads its clock)."""

    def compile_condition(source: str) -> Condition:
        try:
            compiled = compile_expr(source, scope, T.BOOLEAN)
        except ExprError as exc:
            raise ValueError(f"{exc.message['en']} (line {exc.line}, column {exc.column})"
                             ) from exc

        def condition(record: Mapping[str, Any]) -> bool:
            return bool(compiled.evaluate(record, env))

        return condition

    return compile_condition
