"""The function registry: every function's signature, description and examples.

Each function is declared once with its parameter kinds, its result type (a type or a
rule over the argument types), its Python implementation and its documentation; the
checker, both back ends, the designer's autocomplete and the example tests read it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engines.expr.types import NUMERIC, T

ResultRule = T | Callable[[list[T]], T]


@dataclass(frozen=True)
class Example:
    """`expr` evaluated over `values` gives `result` (a JSON-ish value)."""

    expr: str
    result: Any
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fn:
    """One function of the language.

    `params` are kinds (`number`, `text`, `boolean`, `date`, `list`, `any`), suffixed
    `?` when optional and `*` when repeated (at least once). `impl` receives the
    evaluated arguments (and the Env first when `needs_env`); `None` marks a special
    form the back ends translate themselves (IF, AND, aggregates…).
    """

    name: str
    category: str
    params: tuple[str, ...]
    returns: ResultRule
    zh: str
    en: str
    examples: tuple[Example, ...]
    impl: Callable[..., Any] | None = None
    needs_env: bool = False
    nullable: bool = True

    @property
    def min_args(self) -> int:
        return sum(1 for p in self.params if not p.endswith(("?", "*")))

    @property
    def max_args(self) -> int | None:
        return None if any(p.endswith("*") for p in self.params) else len(self.params)

    def kind_of(self, index: int) -> str:
        """The kind expected of argument `index` (the repeated one repeats)."""
        if index < len(self.params):
            return self.params[index].rstrip("?*")
        return self.params[-1].rstrip("?*")

    def result(self, arg_types: list[T]) -> T:
        return self.returns if isinstance(self.returns, T) else self.returns(arg_types)

    def signature(self) -> str:
        return f"{self.name}({', '.join(self.params)}) -> {self.describe_result()}"

    def describe_result(self) -> str:
        return self.returns.value if isinstance(self.returns, T) else "depends"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "category": self.category,
                "signature": self.signature(), "params": list(self.params),
                "returns": self.describe_result(),
                "description": {"zh": self.zh, "en": self.en},
                "examples": [{"expr": e.expr, "result": e.result, "values": dict(e.values)}
                             for e in self.examples]}


FUNCTIONS: dict[str, Fn] = {}
"""name → Fn, for every function the language knows."""


def register(fn: Fn) -> Fn:
    FUNCTIONS[fn.name] = fn
    return fn


def numeric_result(types: list[T]) -> T:
    """Money wins over number, number over integer (exact decimals stay exact)."""
    if T.MONEY in types:
        return T.MONEY
    if T.NUMBER in types or T.ANY in types:
        return T.NUMBER
    return T.INTEGER if types and all(t in (T.INTEGER, T.NULL) for t in types) else T.NUMBER


def same_as_first(types: list[T]) -> T:
    return types[0] if types and types[0] not in (T.NULL,) else T.ANY


def is_numeric(t: T) -> bool:
    return t in NUMERIC
