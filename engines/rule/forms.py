"""What the rule engine needs to know about a form, derived from its `FormSpec`.

Rules name fields (triggers, set_fields, recipients, templates) and compile
expressions over them, so they need each field's expression type, which fields hold
users, which are relations to which form, and which can be written at all (formulas,
follow-lookups and auto-numbers are computed, so a rule that sets them is refused).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engines.expr import SYSTEM_FIELDS, ExprError, Field, Scope, T, compile_expr
from engines.form.spec import FormSpec

_SIMPLE: Mapping[str, T] = {
    "text": T.TEXT, "textarea": T.TEXT, "richtext": T.TEXT, "email": T.TEXT, "url": T.TEXT,
    "phone": T.TEXT, "uscc": T.TEXT, "resident_id": T.TEXT, "select": T.TEXT,
    "radio": T.TEXT, "autonumber": T.TEXT, "created_by": T.TEXT, "updated_by": T.TEXT,
    "number": T.NUMBER, "percent": T.NUMBER, "integer": T.INTEGER, "rating": T.INTEGER,
    "money": T.MONEY, "date": T.DATE, "datetime": T.DATETIME, "created_at": T.DATETIME,
    "updated_at": T.DATETIME, "time": T.TIME, "boolean": T.BOOLEAN,
    "multiselect": T.LIST, "checkbox": T.LIST,
}
_COMPUTED = frozenset({"formula", "autonumber", "created_by", "created_at", "updated_by",
                       "updated_at"})
SYSTEM_USER_FIELDS = frozenset({"owner", "created_by", "updated_by"})
WRITABLE_SYSTEM_FIELDS = frozenset({"owner", "department"})


@dataclass(frozen=True)
class FormInfo:
    key: str
    fields: Mapping[str, Field]
    kinds: Mapping[str, str] = field(default_factory=dict)
    """The form field type of each key ("user", "relation", …); system fields absent."""
    relations: Mapping[str, str] = field(default_factory=dict)
    """Relation field → the form it points at."""
    writable: frozenset[str] = frozenset()
    options: Mapping[str, frozenset[str]] = field(default_factory=dict)
    looked_up: Mapping[str, str] = field(default_factory=dict)
    """Lookup field → the form field type it copies ("user" for a customer's manager)."""

    def field_of(self, key: str) -> Field | None:
        return self.fields.get(key) or SYSTEM_FIELDS.get(key)

    def has(self, key: str) -> bool:
        return self.field_of(key) is not None

    def holds_users(self, key: str) -> bool:
        return (self.kinds.get(key) == "user" or self.looked_up.get(key) == "user"
                or key in SYSTEM_USER_FIELDS)

    def holds_departments(self, key: str) -> bool:
        return self.kinds.get(key) == "department" or key == "department"


def _type_of(spec: Any) -> Field:
    kind = spec.type
    multiple = bool(getattr(spec, "multiple", False))
    if kind in ("user", "department", "relation"):
        return Field(T.LIST, item=T.TEXT) if multiple else Field(T.TEXT)
    if kind in ("multiselect", "checkbox"):
        return Field(T.LIST, item=T.TEXT)
    if kind in _SIMPLE:
        return Field(_SIMPLE[kind])
    if kind == "formula":
        return Field(T(spec.result)) if spec.result else Field(T.ANY)
    if kind == "subform":
        return Field(T.SUBFORM, fields={f.key: _type_of(f) for f in spec.fields})
    return Field(T.ANY)  # lookups inside subform rows, files, address, location


def form_info(spec: FormSpec, forms: Mapping[str, FormSpec] | None = None) -> FormInfo:
    """The rule engine's view of one form (`forms` resolves lookup types)."""
    forms = forms or {}
    fields: dict[str, Field] = {}
    kinds: dict[str, str] = {}
    relations: dict[str, str] = {}
    writable: set[str] = set(WRITABLE_SYSTEM_FIELDS)
    options: dict[str, frozenset[str]] = {}
    looked_up: dict[str, str] = {}
    for f in spec.fields:
        kinds[f.key] = f.type
        if f.type == "lookup":
            fields[f.key] = _lookup_field(spec, f.through, f.field, forms)
            looked_up[f.key] = _lookup_kind(spec, f.through, f.field, forms)
        else:
            fields[f.key] = _type_of(f)
        if f.type == "relation":
            relations[f.key] = f.form
        if f.type in ("select", "radio", "multiselect", "checkbox"):
            options[f.key] = frozenset(o.value for o in f.options)
        if f.type not in _COMPUTED and not (f.type == "lookup" and f.mode == "follow"):
            writable.add(f.key)
    return FormInfo(spec.key, fields, kinds, relations, frozenset(writable), options,
                    looked_up)


def _lookup_kind(spec: FormSpec, through: str, target: str,
                 forms: Mapping[str, FormSpec]) -> str:
    relation = spec.field(through)
    other = forms.get(getattr(relation, "form", "")) if relation is not None else None
    looked = other.field(target) if other is not None else None
    return str(looked.type) if looked is not None else "any"


def _lookup_field(spec: FormSpec, through: str, target: str,
                  forms: Mapping[str, FormSpec]) -> Field:
    relation = spec.field(through)
    other = forms.get(getattr(relation, "form", "")) if relation is not None else None
    looked = other.field(target) if other is not None else None
    if looked is None or looked.type == "lookup":
        return Field(T.ANY)
    return _type_of(looked)


def form_infos(forms: Mapping[str, FormSpec]) -> dict[str, FormInfo]:
    return {key: form_info(spec, forms) for key, spec in forms.items()}


def formula_dependents(spec: FormSpec) -> dict[str, frozenset[str]]:
    """field → the formula fields that change when it does (transitively).

    Used by the cycle finder: a rule writing `qty` fires rules watching `amount` when
    `amount = qty * price`. Formulas that do not compile are skipped here; the form
    compiler reports them.
    """
    info = form_info(spec)
    scope = Scope(fields=dict(info.fields))
    direct: dict[str, set[str]] = {}
    for f in spec.fields:
        if f.type != "formula":
            continue
        try:
            names = compile_expr(f.expr, scope).names
        except ExprError:
            continue
        for name in names:
            direct.setdefault(name, set()).add(f.key)
    closed: dict[str, frozenset[str]] = {}
    for start, formulas in direct.items():
        seen: set[str] = set()
        todo = list(formulas)
        while todo:
            key = todo.pop()
            if key not in seen:
                seen.add(key)
                todo += direct.get(key, ())
        closed[start] = frozenset(seen)
    return closed
