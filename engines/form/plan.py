"""The compiled, immutable plan of each field: what `process` runs for it.

Everything that can be decided once per form version is decided here at compile
time (closures built, expressions compiled, stored/native converters chosen), so
processing a submission is a loop over ready-made steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from engines.form import spec as s
from engines.form._expr import Compiled, T
from engines.form.normalisers import Normaliser


class RecordSource(Protocol):
    """Other records, for lookups and data linkage; runtime implements it over the
    store (with the caller's permissions), tests with dicts.

    Values are the stored JSON of the other record's `data`.
    """

    def get(self, form: str, record_id: str) -> Mapping[str, Any] | None:
        """The data of record `record_id` of `form`, None when it does not exist."""
        ...

    def first(self, form: str, where: Compiled,
              record: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The data of the first live record of `form` for which `where` is true;
        `record.x` in `where` reads `record[x]` (this form's values, native)."""
        ...


@dataclass(frozen=True, slots=True)
class CheckPlan:
    """A custom validation: `expr` false means `message`; only when `when` is true."""

    expr: Compiled
    message: dict[str, str]
    when: Compiled | None = None


@dataclass(frozen=True, slots=True)
class LinkagePlan:
    form: str
    where: Compiled
    field: str


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """One field, ready to run. `stores` is false for values that live elsewhere
    (system columns, followed lookups); `input` is false for computed values."""

    key: str
    type: str
    spec: s.AnyField
    label: dict[str, str]
    expr_type: T
    stores: bool
    input: bool
    normalise: Normaliser | None
    to_native: Callable[[Any], Any] | None
    """Stored JSON → native; None when the stored value is already what expressions
    use (text, lists, records)."""
    default: Any = None
    default_expr: Compiled | None = None
    linkage: LinkagePlan | None = None
    visible_when: Compiled | None = None
    required_when: Compiled | None = None
    read_only_when: Compiled | None = None
    formula: Compiled | None = None
    formula_out: Callable[[Any], Any] | None = None
    checks: tuple[CheckPlan, ...] = ()
    rows: RowPlan | None = None
    required: bool = False
    read_only: bool = False
    keep_hidden: bool = False


@dataclass(frozen=True, slots=True)
class RowPlan:
    """The rows of a subform: their fields and the order of their formulas."""

    fields: tuple[FieldPlan, ...]
    by_key: Mapping[str, FieldPlan]
    checks: tuple[CheckPlan, ...] = ()
    min_rows: int | None = None
    max_rows: int | None = None


@dataclass(frozen=True, slots=True)
class FormulaStep:
    """One step of the formula order: a top-level formula, or a row formula of a
    subform computed for every row."""

    kind: Literal["top", "rows"]
    plan: FieldPlan
    subform: FieldPlan | None = None
    reads: frozenset[str] = field(default_factory=frozenset)
