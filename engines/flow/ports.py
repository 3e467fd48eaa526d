"""The small interfaces through which the pure flow engine reaches the world.

Runtime implements them over the database (users, roles, departments, holidays);
tests use in-memory fakes. Keeping them tiny keeps every engine call testable
without a database (see httpx's mock transport for the idea).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

Condition = Callable[[Mapping[str, Any]], bool]
"""A compiled condition: record data in, truth out."""

ConditionCompiler = Callable[[str], Condition]
"""Compiles an expression once (runtime passes one built on engines.expr); raises
ValueError (or any Exception) with a message when the expression is bad."""


Value = Callable[[Mapping[str, Any]], Any]
"""A compiled value expression: record data in, a value out."""


@runtime_checkable
class ValueCompiler(Protocol):
    """Compiles the value expressions of a flow: an SLA's `due_at` and the values of a
    `create_record` action. Raises ValueError (or any Exception) with a message when an
    expression is bad. A condition compiler may implement it too (runtime's does), and
    `compile_flow` then uses it for both."""

    def instant(self, source: str) -> Value:
        """An expression giving a date or an instant; the value is an aware datetime
        (a date meaning the end of that day where the deployment is) or None."""
        ...

    def field_value(self, source: str, form: str, field: str) -> Value:
        """An expression for `field` of `form`; the value is in the field's stored
        (JSON) form, ready to be written."""
        ...


class Directory(Protocol):
    """Who people are: roles, department heads, admins, expression-chosen users."""

    def users_with_role(self, role: str) -> Sequence[str]: ...

    def department_head(self, user: str, levels: int) -> str | None:
        """The head of `user`'s department `levels` up (1 = direct), or None."""
        ...

    def users_from_expression(self, expr: str, record: Mapping[str, Any]) -> Sequence[str]: ...

    def admins(self) -> Sequence[str]: ...


class WorkCalendar(Protocol):
    """Working time: skips weekends, holidays and (optionally) off-hours."""

    def add_working(self, start: datetime, delta: timedelta) -> datetime: ...
