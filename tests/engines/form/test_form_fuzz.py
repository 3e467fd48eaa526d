"""Hostile submissions never raise; whatever is accepted matches the compiled schema."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from engines.expr import FixedEnv
from engines.form import CompiledForm, FormSpec, compile_form

OPTIONS = [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]
FIELDS: list[dict[str, Any]] = [
    {"key": "text", "type": "text", "max_length": 20, "pattern": "[a-z ]*"},
    {"key": "email", "type": "email"}, {"key": "url", "type": "url"},
    {"key": "phone", "type": "phone"}, {"key": "uscc", "type": "uscc"},
    {"key": "rid", "type": "resident_id"}, {"key": "num", "type": "number", "min": -5},
    {"key": "int", "type": "integer"}, {"key": "money", "type": "money"},
    {"key": "pct", "type": "percent"}, {"key": "date", "type": "date"},
    {"key": "dt", "type": "datetime"}, {"key": "time", "type": "time"},
    {"key": "sel", "type": "select", "options": OPTIONS},
    {"key": "multi", "type": "checkbox", "options": OPTIONS},
    {"key": "flag", "type": "boolean"}, {"key": "addr", "type": "address"},
    {"key": "loc", "type": "location"}, {"key": "files", "type": "attachment"},
    {"key": "img", "type": "image"}, {"key": "stars", "type": "rating"},
    {"key": "who", "type": "user", "multiple": True}, {"key": "dept", "type": "department"},
    {"key": "rel", "type": "relation", "form": "other"},
    {"key": "shown", "type": "text", "visible_when": "flag", "required_when": "sel == 'a'"},
    {"key": "rows", "type": "subform", "fields": [
        {"key": "q", "type": "integer", "label": "Q"},
        {"key": "p", "type": "money", "label": "P"},
        {"key": "t", "type": "formula", "label": "T", "expr": "q * p"}]},
    {"key": "total", "type": "formula", "expr": "SUM(rows.t) + money"},
    {"key": "days", "type": "formula", "expr": "DAYS(dt, date)"},
]
for f in FIELDS:
    f.setdefault("label", f["key"])
FORM: CompiledForm = compile_form(FormSpec.model_validate(
    {"key": "fuzz", "name": "Fuzz", "fields": FIELDS,
     "validations": [{"expr": "num < int", "message": "m"}]}))
VALIDATOR = Draft202012Validator(FORM.schema)

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text(max_size=30) | st.sampled_from(["a", "b", "2024-01-01", "1.5", "是",
                                                    "13812345678", "广东省深圳市"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["id", "name", "size", "content_type", "lat", "lng", "province",
                     "q", "p", "x"]), inner, max_size=5), max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from([f["key"] for f in FIELDS] + ["junk"]), values))
def test_any_submission_is_processed_without_raising(submission: dict[str, Any]) -> None:
    result = FORM.process(submission, env=FixedEnv(), lang="en")
    for issue in result.issues:
        assert issue.code and issue.message["zh"] and issue.message["en"]
    if result.ok:
        VALIDATOR.validate(result.data)
        again = FORM.process(result.data, env=FixedEnv())
        assert again.ok and again.data == result.data


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from([f["key"] for f in FIELDS]), values),
       st.dictionaries(st.sampled_from([f["key"] for f in FIELDS]), values))
def test_updates_over_any_old_data_do_not_raise(old: dict[str, Any],
                                                submission: dict[str, Any]) -> None:
    FORM.process(submission, old=old, env=FixedEnv())
