"""The one seam between reports and the expression language.

Report filters, measure `where`s, parameter filters and expression dimensions are
written in Loom's expression language. The report engine sees that language only
through `ExprBackend`, so it can be checked and compiled against a fake in tests and
against `engines.expr` in production (`default_backend()`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from sqlalchemy.sql.elements import ColumnElement

from engines.report.fields import Kind

ColumnFor = Callable[[str], ColumnElement[Any]]
"""name (a field key, a `relation.field` path, or a parameter key) → its SQL value."""


class ExprBackend(Protocol):
    def check(self, source: str, fields: Mapping[str, Kind],
              names: Mapping[str, Kind]) -> tuple[str, dict[str, str]] | None:
        """None when `source` compiles over `fields` and `names`; else (code, message)."""
        ...

    def names(self, source: str, fields: Mapping[str, Kind],
              names: Mapping[str, Kind]) -> frozenset[str]:
        """The field and parameter names `source` reads (after a successful check)."""
        ...

    def kind(self, source: str, fields: Mapping[str, Kind],
             names: Mapping[str, Kind]) -> Kind:
        """The kind of value `source` produces (after a successful check)."""
        ...

    def to_sql(self, source: str, *, fields: Mapping[str, Kind], names: Mapping[str, Kind],
               column: ColumnFor, dialect: str, tz: str,
               now: Any) -> ColumnElement[Any]:
        """`source` as a SQL expression; fields and parameters read through `column`."""
        ...

    def evaluate(self, source: str, names: Mapping[str, Kind], now: Any,
                 tz: str) -> Any:
        """Evaluate a constant expression (a parameter's `default_expr`) at `now`."""
        ...


def default_backend() -> ExprBackend:
    """The expression language's back end (imported lazily: the spec must load
    without it)."""
    from engines.report.expr_adapter import ExprLanguageBackend

    return ExprLanguageBackend()
