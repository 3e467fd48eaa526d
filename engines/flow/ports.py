"""The small interfaces through which the pure flow engine reaches the world.

Runtime implements them over the database (users, roles, departments, holidays);
tests use in-memory fakes. Keeping them tiny keeps every engine call testable
without a database (see httpx's mock transport for the idea).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

Condition = Callable[[Mapping[str, Any]], bool]
"""A compiled condition: record data in, truth out."""

ConditionCompiler = Callable[[str], Condition]
"""Compiles an expression once (runtime passes one built on engines.expr); raises
ValueError (or any Exception) with a message when the expression is bad."""


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
