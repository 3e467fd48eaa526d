"""A condition compiler for the BPMN tests (Python syntax through simpleeval)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simpleeval import SimpleEval

from engines.flow.ports import Condition


def compile_condition(expr: str) -> Condition:
    evaluator = SimpleEval()
    parsed = evaluator.parse(expr)

    def condition(record: Mapping[str, Any]) -> bool:
        evaluator.names = dict(record)
        return bool(evaluator.eval(expr, previously_parsed=parsed))

    return condition


class AdminsOnly:
    """A directory where nobody has a role: every task goes to the admin."""

    def users_with_role(self, role: str) -> list[str]:
        return []

    def department_head(self, user: str, levels: int) -> str | None:
        return None

    def users_from_expression(self, expr: str, record: Mapping[str, Any]) -> list[str]:
        return []

    def admins(self) -> list[str]:
        return ["admin"]
