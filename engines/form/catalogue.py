"""The field catalogue: for each field type, how it is stored, checked and typed.

For every `type` of `engines.form.spec` this module answers three questions, once per
field at compile time:

- `normaliser(spec)`: the closure that turns a submitted value into its stored JSON
  (or raises `Invalid`); None for values the user never submits (formula,
  auto-number, lookup, subform, system fields: those are computed or nested);
- `value_schema(spec)`: the JSON Schema (draft 2020-12) fragment of the stored value;
- `expr_field(spec)`: the type expressions see (`engines.expr.Field`).

Stored shapes by type: text-like, email, url, phone, USCC, resident ID, select, radio,
autonumber, user/department/relation (single) → string; number, percent → number;
integer → integer; rating → integer (or number with halves); money → decimal string
with exactly `precision` places; date "YYYY-MM-DD"; datetime "YYYY-MM-DDTHH:MM:SSZ"
(UTC); time "HH:MM:SS"; multiselect, checkbox and multiple keys → list of strings;
boolean; address, location, files → see `compound`; subform → list of row objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engines.form import compound, normalisers
from engines.form import spec as s
from engines.form._expr import ExprField, T
from engines.form.checks import canonical_phone, canonical_resident_id, canonical_uscc
from engines.form.normalisers import Normaliser

COMPUTED_TYPES = frozenset({"formula", "autonumber", "lookup", "created_by", "created_at",
                            "updated_by", "updated_at"})
"""Types whose value the server sets; a submitted value for them is ignored."""

SYSTEM_TYPES = frozenset({"created_by", "created_at", "updated_by", "updated_at"})
"""Types that show a system column; nothing is stored in the record's data."""

CHOICE_TYPES = frozenset({"select", "radio", "multiselect", "checkbox"})
MULTI_CHOICE_TYPES = frozenset({"multiselect", "checkbox"})
FILE_TYPES = frozenset({"attachment", "image", "signature"})

_DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
_KEYS = {"type": "string", "minLength": 1, "maxLength": 128}


def _phone(kind: str) -> Normaliser:
    return normalisers.checked_text(lambda text: canonical_phone(text, kind))


def _text_like(f: s.TextField | s.TextareaField) -> Normaliser:
    return normalisers.text(f.min_length, f.max_length, f.pattern)


def _keys(multiple: bool, zh: str, en: str) -> Normaliser:
    return normalisers.keys(multiple, zh, en)


_BUILDERS: dict[str, Callable[[Any], Normaliser]] = {
    "text": _text_like,
    "textarea": _text_like,
    "richtext": lambda f: normalisers.text(None, f.max_length, None, trim=False),
    "email": lambda f: normalisers.email(f.max_length),
    "url": lambda f: normalisers.url(f.max_length),
    "phone": lambda f: _phone(f.kind),
    "uscc": lambda f: normalisers.checked_text(canonical_uscc),
    "resident_id": lambda f: normalisers.checked_text(canonical_resident_id),
    "number": lambda f: normalisers.number(f.min, f.max, f.precision),
    "percent": lambda f: normalisers.number(f.min, f.max, f.precision, percent=True),
    "integer": lambda f: normalisers.integer(f.min, f.max),
    "money": lambda f: normalisers.money(f.min, f.max, f.precision),
    "date": lambda f: normalisers.date_value(f.min, f.max),
    "datetime": lambda f: normalisers.datetime_value(f.min, f.max),
    "time": lambda f: normalisers.time_value(f.min, f.max),
    "select": lambda f: normalisers.choice([o.value for o in f.options]),
    "radio": lambda f: normalisers.choice([o.value for o in f.options]),
    "multiselect": lambda f: normalisers.choices([o.value for o in f.options],
                                                 f.min_items, f.max_items),
    "checkbox": lambda f: normalisers.choices([o.value for o in f.options],
                                              f.min_items, f.max_items),
    "boolean": lambda f: normalisers.boolean(),
    "address": lambda f: compound.address(f.level, f.detail, f.required),
    "location": lambda f: compound.location(f.center, f.radius_m),
    "attachment": lambda f: compound.files(f.max_files, f.max_size, f.accept),
    "image": lambda f: compound.files(f.max_files, f.max_size, f.accept or ["image/*"]),
    "signature": lambda f: compound.files(f.max_files, f.max_size, f.accept or ["image/*"]),
    "rating": lambda f: normalisers.rating(f.max, f.allow_half),
    "user": lambda f: _keys(f.multiple, "用户", "a user key"),
    "department": lambda f: _keys(f.multiple, "部门", "a department key"),
    "relation": lambda f: _keys(f.multiple, "记录编号", "a record id"),
}


def normaliser(field: s.AnyField) -> Normaliser | None:
    """The submitted value → stored JSON closure, None for non-input types."""
    build = _BUILDERS.get(field.type)
    return build(field) if build is not None else None


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _text_schema(f: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string"}
    if getattr(f, "max_length", None) is not None:
        out["maxLength"] = f.max_length
    if getattr(f, "min_length", None) is not None:
        out["minLength"] = f.min_length
    return out


def _number_schema(kind: str, f: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind}
    if f.min is not None:
        out["minimum"] = f.min
    if f.max is not None:
        out["maximum"] = f.max
    return out


def _keys_schema(multiple: bool) -> dict[str, Any]:
    return {"type": "array", "items": _KEYS, "uniqueItems": True} if multiple else _KEYS


def _file_schema(f: Any) -> dict[str, Any]:
    ref = {"type": "object", "additionalProperties": False,
           "required": ["id", "name", "size", "content_type"],
           "properties": {"id": {"type": "string", "minLength": 1},
                          "name": {"type": "string", "minLength": 1},
                          "size": {"type": "integer", "minimum": 0},
                          "content_type": {"type": "string"}}}
    return {"type": "array", "items": ref, "maxItems": f.max_files}


_ADDRESS_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {k: {"type": "string"} for k in
                   ("province", "city", "district", "detail", "code")},
}
_LOCATION_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["lat", "lng"],
    "properties": {"lat": {"type": "number", "minimum": -90, "maximum": 90},
                   "lng": {"type": "number", "minimum": -180, "maximum": 180},
                   "address": {"type": "string"}},
}
_RESULT_SCHEMA: dict[str, dict[str, Any]] = {
    "number": {"type": "number"}, "integer": {"type": "integer"},
    "money": {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}, "text": {"type": "string"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "pattern": _DATETIME_PATTERN},
    "boolean": {"type": "boolean"},
}


def value_schema(field: s.AnyField) -> dict[str, Any] | None:
    """JSON Schema of the stored value (not null); None when nothing is stored."""
    t = field.type
    if t in ("text", "textarea", "richtext"):
        return _text_schema(field)
    if t == "email":
        return {"type": "string", "format": "email"}
    if t == "url":
        return {"type": "string", "format": "uri"}
    if t == "phone":
        return {"type": "string", "pattern": r"^(1\d{10}|0\d{2,3}-\d{7,8}(-\d{1,6})?|[48]00-"
                                             r"\d{3}-\d{4})$"}
    if t == "uscc":
        return {"type": "string", "pattern": r"^[0-9A-HJ-NPQRTUWXY]{18}$"}
    if t == "resident_id":
        return {"type": "string", "pattern": r"^\d{17}[\dX]$"}
    if t in ("number", "percent"):
        return _number_schema("number", field)
    if t == "integer":
        return _number_schema("integer", field)
    if isinstance(field, s.MoneyField):
        places = rf"\.\d{{{field.precision}}}" if field.precision else ""
        return {"type": "string", "pattern": rf"^-?\d+{places}$"}
    if t == "date":
        return {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    if t == "datetime":
        return {"type": "string", "pattern": _DATETIME_PATTERN}
    if t == "time":
        return {"type": "string", "pattern": r"^\d{2}:\d{2}:\d{2}$"}
    if isinstance(field, s.SelectField | s.RadioField):
        return {"type": "string", "enum": [o.value for o in field.options]}
    if isinstance(field, s.MultiSelectField | s.CheckboxField):
        out: dict[str, Any] = {"type": "array", "uniqueItems": True,
                               "items": {"enum": [o.value for o in field.options]}}
        if field.min_items is not None:
            out["minItems"] = field.min_items
        if field.max_items is not None:
            out["maxItems"] = field.max_items
        return out
    if t == "boolean":
        return {"type": "boolean"}
    if t == "address":
        return _ADDRESS_SCHEMA
    if t == "location":
        return _LOCATION_SCHEMA
    if t in FILE_TYPES:
        return _file_schema(field)
    if isinstance(field, s.RatingField):
        return {"type": "number" if field.allow_half else "integer", "minimum": 1,
                "maximum": field.max}
    if isinstance(field, s.UserField | s.DepartmentField | s.RelationField):
        return _keys_schema(field.multiple)
    if isinstance(field, s.FormulaField):
        return _RESULT_SCHEMA.get(field.result or "", {})  # refined by formula_schema
    if t == "autonumber":
        return {"type": "string"}
    if isinstance(field, s.LookupField):
        return {} if field.mode == "copy" else None
    return None  # subform (built by the compiler), system fields


def formula_schema(result: T) -> dict[str, Any]:
    """The stored schema of a formula whose result type was inferred."""
    return _RESULT_SCHEMA.get(result.value, {})


_EXPR_TYPES: dict[str, T] = {
    "text": T.TEXT, "textarea": T.TEXT, "richtext": T.TEXT, "email": T.TEXT, "url": T.TEXT,
    "phone": T.TEXT, "uscc": T.TEXT, "resident_id": T.TEXT, "select": T.TEXT,
    "radio": T.TEXT, "autonumber": T.TEXT, "number": T.NUMBER, "percent": T.NUMBER,
    "integer": T.INTEGER, "money": T.MONEY, "date": T.DATE, "datetime": T.DATETIME,
    "time": T.TIME, "boolean": T.BOOLEAN, "created_by": T.TEXT, "updated_by": T.TEXT,
    "created_at": T.DATETIME, "updated_at": T.DATETIME,
}
_RESULT_TYPES: dict[str, T] = {
    "number": T.NUMBER, "integer": T.INTEGER, "money": T.MONEY, "text": T.TEXT,
    "date": T.DATE, "datetime": T.DATETIME, "boolean": T.BOOLEAN,
}


def result_type(name: str | None) -> T | None:
    """The expression type of a formula's declared `result`."""
    return _RESULT_TYPES.get(name or "")


def expr_field(field: s.AnyField) -> ExprField:
    """How expressions see a (non-subform) field; lookups and untyped formulas are
    refined by the compiler once their targets are known."""
    t = field.type
    if t in _EXPR_TYPES:
        return ExprField(_EXPR_TYPES[t])
    if t in MULTI_CHOICE_TYPES:
        return ExprField(T.LIST, item=T.TEXT)
    if isinstance(field, s.RatingField):
        return ExprField(T.NUMBER if field.allow_half else T.INTEGER)
    if isinstance(field, s.UserField | s.DepartmentField | s.RelationField):
        return ExprField(T.LIST, item=T.TEXT) if field.multiple else ExprField(T.TEXT)
    if t in ("address", "location"):
        return ExprField(T.RECORD)
    if t in FILE_TYPES:
        return ExprField(T.LIST, item=T.RECORD)
    if isinstance(field, s.FormulaField):
        return ExprField(result_type(field.result) or T.ANY)
    return ExprField(T.ANY)
