"""Compilation: every problem at once with a path, the schema, the layout, the graph."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pytest
from jsonschema import Draft202012Validator

from engines.form import CompiledForm, FormDefinitionError, FormSpec, check_form, compile_form


def spec(fields: list[dict[str, Any]], **extra: Any) -> FormSpec:
    for f in fields:
        f.setdefault("label", f["key"])
        for g in f.get("fields", []) if f.get("type") == "subform" else []:
            g.setdefault("label", g["key"])
    return FormSpec.model_validate({"key": "t", "name": "T", "fields": fields, **extra})


def codes(form: FormSpec, **kw: Any) -> list[tuple[str, str]]:
    return [(i.path, i.code) for i in check_form(form, **kw)]


def test_ticket_compiles_to_a_valid_schema_and_layout(ticket: CompiledForm) -> None:
    Draft202012Validator.check_schema(ticket.schema)
    props = ticket.schema["properties"]
    assert ticket.schema["required"] == ["subject", "customer"]
    assert props["amount"]["pattern"].startswith("^-?")
    assert props["lines"]["items"]["properties"]["price"]["pattern"] == r"^-?\d+\.\d{2}$"
    assert ticket.schema["additionalProperties"] is False
    assert ticket.layout["items"][0]["title"] == {"zh": "基本信息", "en": "Basics"}
    assert ticket.formula_fields == ("lines.subtotal", "amount")
    assert ticket.indexed_fields == ("customer", "status")
    assert ticket.relation_fields == {"customer": "customer"}
    assert ticket.lookup_fields == {"region": ("customer", "region", "copy")}
    assert [a.key for a in ticket.autonumber_fields] == ["code"]
    assert ticket.graph.has_edge("lines.subtotal", "amount")
    doc = ticket.document()
    assert doc["fields"][4]["options"][1] == {
        "value": "high", "label": {"zh": "高", "en": "High"}, "color": "#f5222d"}


def test_compiled_form_is_immutable(ticket: CompiledForm) -> None:
    with pytest.raises(AttributeError):
        ticket.key = "x"  # type: ignore[misc]
    with pytest.raises(nx.NetworkXError):
        ticket.graph.add_edge("a", "b")


def test_every_problem_is_reported_at_once() -> None:
    form = spec([
        {"key": "a", "type": "text", "visible_when": "b ==", "min_length": 5,
         "max_length": 2},
        {"key": "a", "type": "number", "min": 5, "max": 1},
        {"key": "s", "type": "select", "options": [{"value": "x", "label": "X"},
                                                     {"value": "x", "label": "Y"}],
         "default": "zz"},
        {"key": "f", "type": "formula", "expr": "nope + 1"},
        {"key": "n", "type": "autonumber", "pattern": "N-{YYYY}-{XX}"},
        {"key": "created_by", "type": "text"},
        {"key": "lk", "type": "lookup", "through": "a", "field": "x"},
        {"key": "r", "type": "text", "pattern": "(unclosed"},
        {"key": "u", "type": "subform", "unique": True,
         "fields": [{"key": "q", "type": "integer"}, {"key": "q", "type": "integer"}]},
    ], validations=[{"expr": "a + ", "message": "m"}],
        layout=[{"section": "S", "fields": ["a", "ghost", "a"]}])
    found = codes(form)
    for expected in [
        ("fields[0].visible_when", "expr_syntax"), ("fields[0].min_length", "min_max"),
        ("fields[1].key", "duplicate_key"), ("fields[1].min", "min_max"),
        ("fields[2].options[1].value", "duplicate_option"), ("fields[2].default", "bad_default"),
        ("fields[3].expr", "expr_unknown_name"), ("fields[4].pattern", "autonumber_token"),
        ("fields[4].pattern", "autonumber_counter"), ("fields[5].key", "reserved_key"),
        ("fields[6].through", "not_a_relation"), ("fields[7].pattern", "bad_pattern"),
        ("fields[8].unique", "not_applicable"), ("fields[8].fields[1].key", "duplicate_key"),
        ("validations[0].expr", "expr_syntax"), ("layout[0].fields[1]", "unknown_field"),
        ("layout[0].fields[2]", "placed_twice"),
    ]:
        assert expected in found, expected
    with pytest.raises(FormDefinitionError) as caught:
        compile_form(form)
    assert len(caught.value.issues) == len(found)
    assert "line 1" in next(i for i in caught.value.issues
                            if i.path == "fields[0].visible_when").message["en"]
    assert all(i.message["zh"] and i.message["en"] for i in caught.value.issues)


def test_formula_cycle_names_its_fields() -> None:
    form = spec([
        {"key": "a", "type": "formula", "expr": "b + 1"},
        {"key": "b", "type": "formula", "expr": "c + 1"},
        {"key": "c", "type": "formula", "expr": "a + 1", "result": "number"},
        {"key": "d", "type": "formula", "expr": "d + 1", "result": "number"},
    ])
    issues = check_form(form)
    cycles = [i for i in issues if i.code == "formula_cycle"]
    assert len(cycles) == 2
    assert "a, b, c" in cycles[0].message["en"] and cycles[0].path == "fields[0].expr"
    assert "d" in cycles[1].message["en"] and cycles[1].path == "fields[3].expr"


def test_share_of_a_column_total_is_not_a_cycle() -> None:
    form = compile_form(spec([
        {"key": "lines", "type": "subform", "fields": [
            {"key": "amount", "type": "money"},
            {"key": "share", "type": "formula", "result": "number", "precision": 4,
             "expr": "IF(record.total > 0, amount / record.total, 0)"}]},
        {"key": "total", "type": "formula", "expr": "SUM(lines.amount)"},
    ]))
    assert form.formula_fields == ("total", "lines.share")


def test_row_formula_reading_a_total_of_itself_is_a_cycle() -> None:
    form = spec([
        {"key": "lines", "type": "subform", "fields": [
            {"key": "x", "type": "formula", "result": "number", "expr": "record.total + 1"}]},
        {"key": "total", "type": "formula", "result": "number", "expr": "SUM(lines.x)"},
    ])
    assert ("fields[0].expr", "formula_cycle") in codes(form)


def test_references_checked_against_other_forms(ticket_doc: dict[str, Any]) -> None:
    customer = spec([{"key": "name", "type": "text"}, {"key": "area", "type": "text"}])
    ticket_spec = FormSpec.model_validate(ticket_doc)
    found = codes(ticket_spec, forms={"customer": customer})
    assert found == [("fields[3].field", "unknown_field")]
    assert codes(ticket_spec, forms={}) == [("fields[2].form", "unknown_form")]


def test_lookup_takes_the_type_of_its_target() -> None:
    customer = spec([{"key": "limit", "type": "money"}])
    order = spec([
        {"key": "customer", "type": "relation", "form": "customer"},
        {"key": "limit", "type": "lookup", "through": "customer", "field": "limit"},
        {"key": "half", "type": "formula", "expr": "limit / 2"},
    ])
    form = compile_form(order, forms={"customer": customer})
    half = form.by_key["half"]
    assert half.expr_type.value == "money"
    bad = spec([
        {"key": "customer", "type": "relation", "form": "customer"},
        {"key": "limit", "type": "lookup", "through": "customer", "field": "limit"},
        {"key": "flag", "type": "formula", "expr": "limit and 1", "result": "boolean"},
    ])
    assert any(code.startswith("expr_") for _, code in codes(
        bad, forms={"customer": customer}))


def test_aggregates_over_other_forms_compile_with_forms() -> None:
    complaint = spec([{"key": "customer", "type": "relation", "form": "customer"}])
    customer = spec([{"key": "name", "type": "text"},
                     {"key": "complaints", "type": "formula",
                      "expr": "COUNT('complaint', customer == record.id)"}])
    assert codes(customer, forms={"complaint": complaint}) == []
    assert codes(customer, forms={})[0][1] == "expr_unknown_form"


def test_unplaced_fields_are_appended_to_the_layout() -> None:
    form = compile_form(spec([{"key": "a", "type": "text"}, {"key": "b", "type": "text"}],
                             layout=[{"tabs": [{"tab": "One", "sections": [
                                 {"section": "S", "fields": ["a"]}]}]}]))
    items = form.layout["items"]
    assert items[0]["kind"] == "tabs"
    assert items[0]["tabs"][0]["sections"][0]["fields"] == ["a"]
    assert items[1] == {"kind": "section", "title": {"zh": "其他", "en": "Other"},
                        "columns": 1, "fields": ["b"]}


def test_settings_that_do_not_apply_are_refused() -> None:
    form = spec([
        {"key": "f", "type": "formula", "expr": "1", "default": 3},
        {"key": "a", "type": "attachment", "indexed": True},
        {"key": "b", "type": "text", "default": "x", "default_expr": "'y'"},
        {"key": "loc", "type": "location", "radius_m": 10},
    ])
    found = codes(form)
    assert ("fields[0].default", "not_applicable") in found
    assert ("fields[1].indexed", "not_applicable") in found
    assert ("fields[2].default", "default_conflict") in found
    assert ("fields[3].radius_m", "location_radius") in found


def test_default_expr_and_typed_formula_results_are_type_checked() -> None:
    form = spec([
        {"key": "n", "type": "number", "default_expr": "'abc'"},
        {"key": "d", "type": "date", "default_expr": "TODAY()"},
        {"key": "f", "type": "formula", "result": "date", "expr": "n + 1"},
        {"key": "g", "type": "formula", "result": "money", "expr": "n * 2"},
    ])
    assert codes(form) == [("fields[0].default_expr", "expr_wrong_type"),
                           ("fields[2].expr", "expr_wrong_type")]
