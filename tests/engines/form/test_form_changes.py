"""Publishing impact: what a new version does to records of the old one."""

from __future__ import annotations

from typing import Any

from engines.expr import FixedEnv
from engines.form import FormSpec, compile_form
from engines.form.changes import diff_forms

OPTIONS = [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]


def spec(fields: list[dict[str, Any]]) -> FormSpec:
    for f in fields:
        f.setdefault("label", f["key"])
        for g in f.get("fields", []) if f.get("type") == "subform" else []:
            g.setdefault("label", g["key"])
    return FormSpec.model_validate({"key": "t", "name": "T", "fields": fields})


OLD = [
    {"key": "name", "type": "text", "max_length": 100},
    {"key": "fax", "type": "text"},
    {"key": "qty", "type": "integer"},
    {"key": "score", "type": "number", "min": 0},
    {"key": "level", "type": "select", "options": OPTIONS},
    {"key": "tags", "type": "multiselect", "options": OPTIONS},
    {"key": "code", "type": "text"},
    {"key": "since", "type": "date"},
    {"key": "lines", "type": "subform", "fields": [{"key": "x", "type": "text"},
                                                   {"key": "y", "type": "integer"}]},
]
NEW = [
    {"key": "name", "type": "text", "max_length": 20, "required": True},
    {"key": "qty", "type": "number"},
    {"key": "score", "type": "integer", "min": 0},
    {"key": "level", "type": "radio", "options": [OPTIONS[0]]},
    {"key": "tags", "type": "multiselect", "options": [OPTIONS[1],
                                                       {"value": "c", "label": "C"}]},
    {"key": "code", "type": "text", "unique": True},
    {"key": "since", "type": "date", "min": "2020-01-01"},
    {"key": "lines", "type": "subform", "fields": [{"key": "x", "type": "text"}]},
    {"key": "owner_name", "type": "text", "required": True},
    {"key": "note", "type": "text"},
]


def test_changes_with_their_affected_records() -> None:
    changes = {(c.kind, c.field): c for c in diff_forms(spec(OLD), spec(NEW))}
    expected = {
        ("field_removed", "fax"): (True, "not ISBLANK(fax)"),
        ("became_required", "name"): (True, "ISBLANK(name)"),
        ("length_narrowed", "name"): (True, "LEN(name) > 20"),
        ("type_changed", "qty"): (False, None),
        ("type_changed", "score"): (True, "not ISBLANK(score)"),
        ("type_changed", "level"): (False, None),
        ("option_removed", "level"): (True, "level == 'b'"),
        ("option_removed", "tags"): (True, "'a' in tags"),
        ("option_added", "tags"): (False, None),
        ("became_unique", "code"): (True, "not ISBLANK(code)"),
        ("range_narrowed", "since"): (True, "since < DATE(2020, 1, 1)"),
        ("field_removed", "lines.y"): (True, "not ISBLANK(lines)"),
        ("required_field_added", "owner_name"): (True, None),
        ("field_added", "note"): (False, None),
    }
    assert {k: (c.breaking, c.affects) for k, c in changes.items()} == expected
    assert all(c.message["zh"] and c.message["en"] for c in changes.values())


def test_affects_expressions_select_the_right_old_records() -> None:
    old_form = compile_form(spec(OLD))
    from engines.expr import compile_expr

    records = [{"fax": "1", "level": "b", "tags": ["a"], "name": "x" * 30},
               {"level": "a", "tags": ["b"], "name": "ok"}]
    for change in diff_forms(spec(OLD), spec(NEW)):
        if change.affects is None or "." in (change.field or ""):
            continue
        test = compile_expr(change.affects, old_form.scope)
        hits = [test.evaluate(r, FixedEnv()) for r in records]
        if change.field == "fax" or change.kind == "option_removed":
            assert hits == [True, False], change
        if change.kind == "length_narrowed":
            assert hits == [True, False]


def test_same_form_has_no_changes() -> None:
    assert diff_forms(spec(OLD), spec(OLD)) == []
