"""What the compiled form shows the outside: JSON Schema, layout and field documents.

- `json_schema`: draft 2020-12 schema of the *stored* record data (what `process`
  returns): blank values are left out rather than stored as null, so a property is
  required only for an input field that is required unconditionally. Checked against
  the meta-schema here, at compile time.
- `layout_document`: sections, columns and tabs resolved against the fields; a field
  the layout does not place is appended in a trailing "Other" section (so a field is
  never lost from the UI by omission); an unknown or twice-placed key is an error.
- `field_documents`: each field's definition as JSON with every label as {zh, en},
  for the UI to render widgets without re-implementing the label fallback.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from engines.common import Label, text_of
from engines.form import catalogue
from engines.form import spec as s
from engines.form.issues import DefinitionIssue
from engines.form.plan import FieldPlan

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _labels(label: Label | None) -> dict[str, str] | None:
    if label is None:
        return None
    return {"zh": text_of(label, "zh"), "en": text_of(label, "en")}


def _object(plans: tuple[FieldPlan, ...] | list[FieldPlan], *, row: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for plan in plans:
        if not plan.stores:
            continue
        if plan.rows is not None:
            array: dict[str, Any] = {"type": "array",
                                     "items": _object(plan.rows.fields, row=True)}
            if plan.rows.min_rows:
                array["minItems"] = plan.rows.min_rows
            if plan.rows.max_rows is not None:
                array["maxItems"] = plan.rows.max_rows
            value: dict[str, Any] | None = array
        elif plan.formula is not None:
            value = catalogue.formula_schema(plan.expr_type)
        else:
            value = catalogue.value_schema(plan.spec)
        if value is None:
            continue
        properties[plan.key] = {**value, "title": plan.label["zh"] or plan.key}
        if plan.input and plan.required and plan.visible_when is None and (
                plan.rows is None or plan.rows.min_rows):
            required.append(plan.key)
    if row:
        properties["_id"] = {"type": "string", "maxLength": 64}
    out: dict[str, Any] = {"type": "object", "additionalProperties": False,
                           "properties": properties}
    if required:
        out["required"] = required
    return out


def json_schema(spec: s.FormSpec, plans: list[FieldPlan],
                issues: list[DefinitionIssue]) -> dict[str, Any]:
    schema = {"$schema": DRAFT, "$id": f"loom:form:{spec.key}",
              "title": text_of(spec.name, "zh") or spec.key, **_object(plans, row=False)}
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:  # a catalogue bug or an odd pattern, never the user's
        issues.append(DefinitionIssue("fields", "schema", {
            "zh": f"生成的 JSON Schema 无效：{error.message}",
            "en": f"The generated JSON Schema is invalid: {error.message}"}))
    return schema


def _section(item: s.SectionLayout, path: str, known: set[str], placed: dict[str, str],
             issues: list[DefinitionIssue]) -> dict[str, Any]:
    for j, key in enumerate(item.fields):
        where = f"{path}.fields[{j}]"
        if key not in known:
            issues.append(DefinitionIssue(where, "unknown_field", {
                "zh": f"布局中的字段 {key} 不存在",
                "en": f"The layout names an unknown field {key}"}))
        elif key in placed:
            issues.append(DefinitionIssue(where, "placed_twice", {
                "zh": f"字段 {key} 在布局中出现了两次（另见 {placed[key]}）",
                "en": f"The field {key} is placed twice (also at {placed[key]})"}))
        else:
            placed[key] = where
    out: dict[str, Any] = {"kind": "section", "title": _labels(item.section),
                           "columns": item.columns, "fields": list(item.fields)}
    if item.help is not None:
        out["help"] = _labels(item.help)
    if item.collapsed:
        out["collapsed"] = True
    return out


def layout_document(spec: s.FormSpec, issues: list[DefinitionIssue]) -> dict[str, Any]:
    known = {f.key for f in spec.fields}
    placed: dict[str, str] = {}
    items: list[dict[str, Any]] = []
    for i, item in enumerate(spec.layout):
        if isinstance(item, s.SectionLayout):
            items.append(_section(item, f"layout[{i}]", known, placed, issues))
        else:
            tabs = []
            for t, tab in enumerate(item.tabs):
                sections = [_section(sec, f"layout[{i}].tabs[{t}].sections[{k}]", known,
                                     placed, issues) for k, sec in enumerate(tab.sections)]
                tabs.append({"title": _labels(tab.tab), "sections": sections})
            items.append({"kind": "tabs", "tabs": tabs})
    rest = [f.key for f in spec.fields if f.key not in placed]
    if rest:
        title = _labels(spec.name) if not items else {"zh": "其他", "en": "Other"}
        items.append({"kind": "section", "title": title, "columns": 1, "fields": rest})
    return {"items": items}


def _field_doc(field: Any) -> dict[str, Any]:
    doc: dict[str, Any] = field.model_dump(mode="json", by_alias=True, exclude_none=True)
    for key in ("label", "help", "placeholder"):
        if getattr(field, key, None) is not None:
            doc[key] = _labels(getattr(field, key))
    if hasattr(field, "options"):
        doc["options"] = [{**o.model_dump(mode="json", exclude_none=True),
                           "label": _labels(o.label)} for o in field.options]
    if isinstance(field, s.SubformField):
        doc["fields"] = [_field_doc(g) for g in field.fields]
    for key in ("validations", "row_validations"):
        if doc.get(key):
            doc[key] = [{**v, "message": _labels(getattr(field, key)[j].message)}
                        for j, v in enumerate(doc[key])]
    return doc


def field_documents(spec: s.FormSpec) -> list[dict[str, Any]]:
    return [_field_doc(f) for f in spec.fields]
