"""A subform that no expression reads is still validated row by row (it used to raise
inside validation because its native rows were never built)."""

from __future__ import annotations

from engines.expr import FixedEnv
from engines.form.compile import compile_form
from engines.form.spec import FormSpec


def test_unread_subform_rows_are_validated() -> None:
    form = compile_form(FormSpec.model_validate({"key": "x", "name": "x", "fields": [
        {"key": "pages", "type": "subform", "label": "p", "fields": [
            {"key": "note", "type": "text", "label": "n", "required": True},
            {"key": "count", "type": "integer", "label": "c", "min": 1}]}]}))
    result = form.process({"pages": [{"note": "a", "count": 2}, {"count": 0}]},
                          env=FixedEnv(), lang="en")
    assert {(e["field"], e["code"]) for e in result.errors} >= {("pages[1].note", "required")}
    assert any(e["field"] == "pages[1].count" for e in result.errors)
    ok = form.process({"pages": [{"note": "a", "count": 2}]}, env=FixedEnv())
    assert ok.ok and ok.data == {"pages": [{"note": "a", "count": 2}]}
