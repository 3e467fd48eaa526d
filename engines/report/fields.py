"""What a report can see of the forms: field kinds, relations, system fields.

The report engine does not parse form definitions itself; the caller (the bundle
loader, the runtime) hands it a `FormCatalog`: for every form, its fields with their
form field type and, for relations, the related form. Formula and lookup fields are
given with the value type they produce (`FieldInfo("money")`), because only the form
engine knows it.

A field's *kind* is what matters for SQL and for checks: how to read it out of the
JSON document, whether it can be summed, bucketed, grouped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from engines.common import both

Kind = Literal["text", "number", "integer", "money", "date", "datetime", "boolean",
               "relation", "list", "timestamp", "id"]
"""`timestamp` is a real DateTime column (created_at); `id` the integer primary key."""

NUMERIC_KINDS: frozenset[str] = frozenset({"number", "integer", "money"})
ORDERED_KINDS: frozenset[str] = NUMERIC_KINDS | {"date", "datetime", "timestamp", "text"}
TIME_KINDS: frozenset[str] = frozenset({"date", "datetime", "timestamp"})

_KIND_OF_TYPE: dict[str, Kind] = {
    "number": "number", "percent": "number", "rating": "number", "decimal": "number",
    "float": "number",
    "integer": "integer",
    "money": "money",
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean", "checkbox": "boolean",
    "relation": "relation",
    "multiselect": "list", "subform": "list", "attachment": "list", "image": "list",
    "list": "list", "location": "list",
}

SYSTEM_FIELDS: dict[str, Kind] = {
    "id": "id",
    "created_at": "timestamp",
    "updated_at": "timestamp",
    "created_by": "text",
    "updated_by": "text",
    "owner": "text",
    "department": "text",
    "version": "integer",
}


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """A form field as reports see it: its form field type and, for a relation, the
    related form's key."""

    type: str
    target: str | None = None

    @property
    def kind(self) -> Kind:
        return _KIND_OF_TYPE.get(self.type, "text")


FormCatalog = Mapping[str, Mapping[str, FieldInfo]]
"""form key → field key → FieldInfo (system fields are implied)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a report definition: where (JSON path), what, why."""

    path: str
    code: str
    message: dict[str, str]


class ReportDefinitionError(Exception):
    """A definition with problems; every problem is listed, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.message['en']}" for p in problems[:5]))


@dataclass(frozen=True, slots=True)
class ResolvedField:
    """A field path resolved: which table alias (None = the source form), which key,
    which kind. `relation` is the relation field of the source it goes through."""

    relation: str | None
    form: str
    key: str
    kind: Kind

    @property
    def system(self) -> bool:
        return self.key in SYSTEM_FIELDS


def kind_of(catalog: FormCatalog, form: str, key: str) -> Kind | None:
    if key in SYSTEM_FIELDS:
        return SYSTEM_FIELDS[key]
    info = catalog.get(form, {}).get(key)
    return info.kind if info else None


def resolve(catalog: FormCatalog, source: str, path: str) -> ResolvedField | Problem:
    """`amount` or `customer.region` → a ResolvedField, or the Problem saying why not
    (the caller adds the JSON path)."""
    parts = path.split(".")
    if len(parts) == 1:
        kind = kind_of(catalog, source, path)
        if kind is None:
            return Problem("", "unknown_field", both(
                f"表单 {source} 没有字段 {path}", f"form {source} has no field {path}"))
        return ResolvedField(None, source, path, kind)
    if len(parts) != 2:
        return Problem("", "bad_field_path", both(
            f"字段路径只能跨一层关联：{path}",
            f"a field path crosses one relation at most: {path}"))
    relation, key = parts
    info = catalog.get(source, {}).get(relation)
    if info is None or info.kind != "relation" or not info.target:
        return Problem("", "not_a_relation", both(
            f"{relation} 不是表单 {source} 的关联字段",
            f"{relation} is not a relation field of form {source}"))
    if info.target not in catalog:
        return Problem("", "unknown_form", both(
            f"关联的表单不存在：{info.target}", f"related form not found: {info.target}"))
    kind = kind_of(catalog, info.target, key)
    if kind is None:
        return Problem("", "unknown_field", both(
            f"表单 {info.target} 没有字段 {key}", f"form {info.target} has no field {key}"))
    return ResolvedField(relation, info.target, key, kind)


class _TypeLike(Protocol):
    @property
    def value(self) -> str: ...


class PlanLike(Protocol):
    """What `catalog_entry` reads of a compiled form's field plan (engines.form's
    `FieldPlan`), without the report engine importing the form engine."""

    @property
    def key(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def expr_type(self) -> _TypeLike: ...

    @property
    def stores(self) -> bool: ...

    @property
    def spec(self) -> Any: ...


def catalog_entry(plans: Iterable[PlanLike]) -> dict[str, FieldInfo]:
    """One form's fields for a `FormCatalog`, from its compiled field plans: relations
    keep their target form, computed fields (formula, lookup) their value type, and
    values the record does not store (followed lookups) are left out — a report
    reaches them through the relation (`customer.region`)."""
    out: dict[str, FieldInfo] = {}
    for plan in plans:
        if not plan.stores or plan.key in SYSTEM_FIELDS:
            continue
        if plan.type == "relation":
            out[plan.key] = FieldInfo("relation", getattr(plan.spec, "form", None))
        elif plan.type in ("formula", "lookup"):
            out[plan.key] = FieldInfo(plan.expr_type.value)
        else:
            out[plan.key] = FieldInfo(plan.type)
    return out
