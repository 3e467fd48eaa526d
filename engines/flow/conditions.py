"""The expression compiler runtime passes to `compile_flow`, built on engines.expr.

Kept out of the engine core: the core takes any `ConditionCompiler` (and, for value
expressions, any `ValueCompiler`), so it can be tested with fakes and never depends on
how expressions work. This adapter checks each expression once against the bound
form's scope — a condition must be boolean, an SLA's `due_at` a date or an instant, a
`create_record` value must fit its target field — and raises `ValueError` with the
expression error's position, which `compile_flow` turns into a located issue.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from engines.expr import (
    DEFAULT_TZ,
    SYSTEM_FIELDS,
    Env,
    ExprError,
    Scope,
    T,
    compile_expr,
    to_json,
)
from engines.flow.ports import Condition, Value

_LOOSE = (T.ANY, T.RECORD, T.SUBFORM)
"""Target field types a value is not checked against when compiled."""


def _refused(exc: ExprError) -> ValueError:
    return ValueError(f"{exc.message['en']} (line {exc.line}, column {exc.column})")


class ExprCompiler:
    """Conditions and value expressions over `scope`; `env` supplies NOW(), the user
    and aggregates at evaluation time (runtime passes one that reads its clock)."""

    def __init__(self, scope: Scope, env: Env | None = None) -> None:
        self.scope = scope
        self.env = env

    def __call__(self, source: str) -> Condition:
        try:
            compiled = compile_expr(source, self.scope, T.BOOLEAN)
        except ExprError as exc:
            raise _refused(exc) from exc
        env = self.env

        def condition(record: Mapping[str, Any]) -> bool:
            return bool(compiled.evaluate(record, env))

        return condition

    def instant(self, source: str) -> Value:
        try:
            compiled = compile_expr(source, self.scope, T.DATETIME)
        except ExprError as exc:
            raise _refused(exc) from exc
        env = self.env

        def due(record: Mapping[str, Any]) -> datetime | None:
            value = compiled.evaluate(record, env)
            if isinstance(value, datetime):
                return value.astimezone(UTC)
            if isinstance(value, date):  # a due date means the end of that day, locally
                tz = env.tz if env is not None else DEFAULT_TZ
                return datetime.combine(value, time(23, 59, 59), tzinfo=tz).astimezone(UTC)
            return None

        return due

    def field_value(self, source: str, form: str, field: str) -> Value:
        fields = self.scope.forms.get(form)
        if fields is None:
            raise ValueError(f"unknown form {form}")
        target = fields.get(field) or SYSTEM_FIELDS.get(field)
        if target is None:
            raise ValueError(f"form {form} has no field {field}")
        try:
            compiled = compile_expr(source, self.scope,
                                    None if target.type in _LOOSE else target.type)
        except ExprError as exc:
            raise _refused(exc) from exc
        env, kind = self.env, target.type

        def value(record: Mapping[str, Any]) -> Any:
            return to_json(compiled.evaluate(record, env), kind)

        return value


def expr_conditions(scope: Scope, env: Env | None = None) -> ExprCompiler:
    """The compiler of a flow's conditions and value expressions over `scope`."""
    return ExprCompiler(scope, env)
