"""What publishing a changed form does to the records written with the old version.

`diff_forms(old, new)` lists every change between two versions of a form. A change
that can make existing records invalid or lose data (`breaking`) carries `affects`:
an expression over the *old* form that selects the records it touches
(`not ISBLANK(fax)` for a removed field), so runtime can count them in SQL and show the
impact before asking the publisher to choose (clear the values, keep the records on
their version, or cancel). `affects` is None when every record is touched (a new
required field without a default). Nothing is dropped silently: the caller decides.

Widening changes are not breaking: a longer max_length, a wider range, a new option,
integer → number → money, text ↔ textarea, select ↔ radio, multiselect ↔ checkbox,
single → multiple relation/user/department.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engines.form import spec as s

_WIDENING = {
    ("integer", "number"), ("integer", "money"), ("number", "money"), ("integer", "percent"),
    ("text", "textarea"), ("textarea", "text"), ("select", "radio"), ("radio", "select"),
    ("multiselect", "checkbox"), ("checkbox", "multiselect"), ("text", "richtext"),
    ("textarea", "richtext"), ("attachment", "image"), ("date", "datetime"),
}
_MULTI = frozenset({"multiselect", "checkbox"})


@dataclass(frozen=True, slots=True)
class FormChange:
    kind: str
    field: str | None
    breaking: bool
    message: dict[str, str]
    affects: str | None = None


def _has(key: str) -> str:
    return f"not ISBLANK({key})"


def _literal(value: Any) -> str | None:
    """`value` written in the expression language, None when it has no literal."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return f"DATE({value.year}, {value.month}, {value.day})"
    return None


def _change(kind: str, key: str | None, breaking: bool, zh: str, en: str,
            affects: str | None = None) -> FormChange:
    return FormChange(kind, key, breaking, {"zh": zh, "en": en}, affects)


def _bounds(key: str, old: Any, new: Any) -> list[FormChange]:
    out = []
    for attr, op, tighter in (("min", "<", operator.gt), ("max", ">", operator.lt)):
        before, after = getattr(old, attr, None), getattr(new, attr, None)
        if after is not None and old.type != "rating" and (
                before is None or tighter(after, before)):
            out.append(_change("range_narrowed", key, True, f"{key} 的{attr}收紧为 {after}",
                               f"{key}: {attr} tightened to {after}",
                               f"{key} {op} {_literal(after)}" if _literal(after) else _has(key)))
    before, after = getattr(old, "max_length", None), getattr(new, "max_length", None)
    if after is not None and (before is None or after < before):
        out.append(_change("length_narrowed", key, True, f"{key} 的最大长度改为 {after}",
                           f"{key}: max_length lowered to {after}", f"LEN({key}) > {after}"))
    return out


def _options(key: str, old: Any, new: Any) -> list[FormChange]:
    before = {o.value for o in getattr(old, "options", [])}
    after = {o.value for o in getattr(new, "options", [])}
    out = []
    for value in sorted(before - after):
        test = f"{value!r} in {key}" if old.type in _MULTI else f"{key} == {value!r}"
        out.append(_change("option_removed", key, True, f"{key} 删除了选项 {value}",
                           f"{key}: option {value} removed", test))
    for value in sorted(after - before):
        out.append(_change("option_added", key, False, f"{key} 新增选项 {value}",
                           f"{key}: option {value} added"))
    return out


def _field(old: Any, new: Any) -> list[FormChange]:
    key = new.key
    out: list[FormChange] = []
    if old.type != new.type:
        widening = (old.type, new.type) in _WIDENING
        out.append(_change("type_changed", key, not widening,
                           f"{key} 的类型由 {old.type} 改为 {new.type}",
                           f"{key}: type {old.type} → {new.type}",
                           None if widening else _has(key)))
        if not widening:
            return out
    required = new.required and not old.required and new.required_when is None
    if required:
        out.append(_change("became_required", key, True, f"{key} 改为必填",
                           f"{key} is now required", f"ISBLANK({key})"))
    if new.unique and not old.unique:
        out.append(_change("became_unique", key, True, f"{key} 改为唯一",
                           f"{key} must now be unique", _has(key)))
    if getattr(old, "form", None) != getattr(new, "form", None):
        out.append(_change("relation_target_changed", key, True,
                           f"{key} 关联的表单改为 {new.form}",
                           f"{key} now links to form {new.form}", _has(key)))
    if getattr(old, "multiple", False) and not getattr(new, "multiple", False):
        out.append(_change("multiple_removed", key, True, f"{key} 不再允许多个值",
                           f"{key} no longer takes several values", _has(key)))
    if isinstance(old, s.MoneyField) and isinstance(new, s.MoneyField) and (
            new.precision < old.precision or new.currency != old.currency):
        out.append(_change("money_changed", key, True, f"{key} 的币种或精度改变",
                           f"{key}: currency or precision changed", _has(key)))
    if isinstance(old, s.SubformField) and isinstance(new, s.SubformField):
        inner = diff_fields(old.fields, new.fields)
        out += [FormChange(c.kind, f"{key}.{c.field}", c.breaking, c.message,
                           _has(key) if c.breaking else None) for c in inner]
    if isinstance(old, s.FormulaField) and isinstance(new, s.FormulaField) and \
            old.expr != new.expr:
        out.append(_change("formula_changed", key, False, f"{key} 的公式改变（保存时重算）",
                           f"{key}: formula changed (recomputed on the next save)"))
    return out + _bounds(key, old, new) + _options(key, old, new)


def diff_fields(old: list[Any], new: list[Any]) -> list[FormChange]:
    before = {f.key: f for f in old}
    after = {f.key: f for f in new}
    out: list[FormChange] = []
    for key, field in before.items():
        if key not in after:
            out.append(_change("field_removed", key, field.type not in (
                "created_by", "created_at", "updated_by", "updated_at"),
                f"删除了字段 {key}", f"Field {key} removed", _has(key)))
    for key, field in after.items():
        if key in before:
            out += _field(before[key], field)
            continue
        if field.required and field.default is None and field.default_expr is None and \
                field.required_when is None and field.type not in ("formula", "autonumber"):
            out.append(_change("required_field_added", key, True,
                               f"新增必填字段 {key}（现有记录没有值）",
                               f"New required field {key} (existing records have no value)"))
        else:
            out.append(_change("field_added", key, False, f"新增字段 {key}",
                               f"Field {key} added"))
    return out


def diff_forms(old: s.FormSpec, new: s.FormSpec) -> list[FormChange]:
    """Every change from `old` to `new`, breaking ones with the records they touch."""
    return diff_fields(old.fields, new.fields)
