"""Server-side processing: defaults, formulas, conditions, read-only, every error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from engines.expr import FixedEnv, UserInfo
from engines.form import CompiledForm

LINES = [{"item": "seal", "qty": "2", "price": "12.5"},
         {"item": "bolt", "qty": 4, "price": 0.25}]


def test_ticket_create_fills_defaults_formulas_and_normalises(
        ticket: CompiledForm, env: FixedEnv) -> None:
    result = ticket.process({"subject": "  Pump broken ", "customer": 17, "lines": LINES},
                            env=env)
    assert result.errors == []
    assert result.data == {
        "subject": "Pump broken", "customer": "17", "priority": "low",
        "due_at": "2026-03-02T08:00:00Z",
        "lines": [{"item": "seal", "qty": 2, "price": "12.50", "subtotal": "25.00"},
                  {"item": "bolt", "qty": 4, "price": "0.25", "subtotal": "1.00"}],
        "amount": "26.00", "status": "open"}
    Draft202012Validator(ticket.schema).validate(result.data)


def test_all_errors_at_once_with_row_paths_in_the_language(
        ticket: CompiledForm, env: FixedEnv) -> None:
    bad = {"subject": "", "priority": "high", "due_at": "2020-01-01T00:00:00Z",
           "lines": [{"item": "a", "qty": 1, "price": 1}, {"item": "", "qty": 0,
                                                            "price": "1.234"}],
           "colour": "red"}
    en = ticket.process(bad, env=env, lang="en")
    assert [(e["field"], e["code"]) for e in en.errors] == [
        ("subject", "required"), ("customer", "required"), ("reason", "required"),
        ("lines[1].qty", "min"), ("lines[1].price", "money_precision"),
        ("lines[1].item", "required"), (None, "validation"), ("colour", "unknown_field")]
    assert en.errors[6]["message"] == "The due time must be in the future"
    zh = ticket.process(bad, env=env, lang="zh")
    assert zh.errors[6]["message"] == "截止时间必须晚于现在"
    assert zh.errors[0]["message"] == "必填"
    assert not zh.ok


def test_hidden_field_is_cleared_and_not_required(ticket: CompiledForm,
                                                   env: FixedEnv) -> None:
    result = ticket.process({"subject": "s", "customer": "1", "priority": "low",
                             "reason": "ignored"}, env=env)
    assert result.ok
    assert "reason" not in result.data


def test_hidden_field_errors_are_dropped(make_form: Any, env: FixedEnv) -> None:
    form = make_form([{"key": "on", "type": "boolean"},
                      {"key": "n", "type": "integer", "visible_when": "on"}])
    assert form.process({"on": False, "n": "abc"}, env=env).ok
    assert form.process({"on": True, "n": "abc"}, env=env).issues[0].code == "type"


def test_hidden_field_kept_when_it_says_so(make_form: Any, env: FixedEnv) -> None:
    form = make_form([{"key": "on", "type": "boolean"},
                      {"key": "a", "type": "text", "visible_when": "on", "required": True,
                       "when_hidden": "keep"}])
    result = form.process({"on": False, "a": "x"}, env=env)
    assert result.ok and result.data == {"on": False, "a": "x"}


def test_formulas_recomputed_after_clearing_a_hidden_input(make_form: Any,
                                                           env: FixedEnv) -> None:
    form = make_form([
        {"key": "discounted", "type": "boolean"},
        {"key": "discount", "type": "money", "visible_when": "discounted"},
        {"key": "price", "type": "money"},
        {"key": "net", "type": "formula", "expr": "price - discount"}])
    result = form.process({"discounted": False, "discount": "30", "price": "100"}, env=env)
    assert result.data["net"] == "100.00"
    assert "discount" not in result.data


def test_formula_chain_runs_in_dependency_order(make_form: Any, env: FixedEnv) -> None:
    form = make_form([
        {"key": "gross", "type": "formula", "expr": "net * (1 + rate)"},
        {"key": "net", "type": "formula", "expr": "qty * price"},
        {"key": "qty", "type": "integer"}, {"key": "price", "type": "money"},
        {"key": "rate", "type": "number"}])
    result = form.process({"qty": 3, "price": "10", "rate": 0.13}, env=env)
    assert result.data["net"] == "30.00"
    assert result.data["gross"] == "33.90"


def test_submitted_formula_values_are_ignored(ticket: CompiledForm, env: FixedEnv) -> None:
    result = ticket.process({"subject": "s", "customer": "1", "amount": "999999",
                             "lines": [{"item": "x", "qty": 1, "price": 2,
                                        "subtotal": "5"}]}, env=env)
    assert result.data["amount"] == "2.00"
    assert result.data["lines"][0]["subtotal"] == "2.00"


def test_update_keeps_absent_fields_and_old_computed(ticket: CompiledForm,
                                                     env: FixedEnv) -> None:
    created = ticket.process({"subject": "s", "customer": "1", "lines": LINES}, env=env).data
    stored = {**created, "code": "TK-202603-0001"}
    later = FixedEnv(at=datetime(2026, 3, 1, 9, tzinfo=UTC))
    result = ticket.process({"status": "done"}, old=stored, env=later)
    assert result.ok
    assert result.data["code"] == "TK-202603-0001"
    assert result.data["subject"] == "s" and result.data["status"] == "done"
    assert result.data["due_at"] == created["due_at"]  # no default on update
    cleared = ticket.process({"lines": None}, old=stored, env=later)
    assert "lines" not in cleared.data and cleared.data["amount"] == "0.00"


def test_read_only_when_judged_on_the_old_record(make_form: Any, env: FixedEnv) -> None:
    form = make_form([
        {"key": "status", "type": "select", "options": [
            {"value": "open", "label": "O"}, {"value": "done", "label": "D"}]},
        {"key": "amount", "type": "money", "read_only_when": "status == 'done'"},
        {"key": "note", "type": "text", "read_only": True, "default": "fixed"}])
    old = {"status": "done", "amount": "10.00", "note": "fixed"}
    result = form.process({"amount": "99", "status": "open", "note": "x"}, old=old, env=env)
    assert result.data == {"status": "open", "amount": "10.00", "note": "fixed"}
    reopened = {"status": "open", "amount": "10.00"}
    assert form.process({"amount": "99"}, old=reopened, env=env).data["amount"] == "99.00"
    created = form.process({"note": "mine", "amount": "bad"}, env=env)
    assert created.data["note"] == "fixed"


def test_required_when_and_custom_field_validation(make_form: Any, env: FixedEnv) -> None:
    form = make_form([
        {"key": "kind", "type": "select", "options": [
            {"value": "person", "label": "P"}, {"value": "company", "label": "C"}]},
        {"key": "credit_code", "type": "uscc", "required_when": "kind == 'company'"},
        {"key": "age", "type": "integer", "validations": [
            {"expr": "age >= 18", "message": {"zh": "须成年", "en": "Must be an adult"}}]}])
    result = form.process({"kind": "company", "age": 12}, env=env, lang="en")
    assert [(e["field"], e["code"], e["message"]) for e in result.errors] == [
        ("credit_code", "required", "Required"),
        ("age", "validation", "Must be an adult")]
    assert form.process({"kind": "person"}, env=env).ok  # blank age: no check


def test_form_validation_skipped_when_all_inputs_blank(make_form: Any,
                                                       env: FixedEnv) -> None:
    form = make_form([{"key": "start", "type": "date"}, {"key": "end", "type": "date"}],
                     validations=[{"expr": "end >= start", "message": "order"}])
    assert form.process({}, env=env).ok
    assert form.process({"start": "2024-01-02", "end": "2024-01-01"}, env=env).errors[0][
        "code"] == "validation"
    assert form.process({"start": "2024-01-01", "end": "2024-01-02"}, env=env).ok


def test_validation_when_guard(make_form: Any, env: FixedEnv) -> None:
    form = make_form([{"key": "a", "type": "integer"}, {"key": "b", "type": "integer"}],
                     validations=[{"expr": "a < b", "when": "b > 0", "message": "m"}])
    assert form.process({"a": 5, "b": 0}, env=env).ok
    assert not form.process({"a": 5, "b": 1}, env=env).ok


def test_subform_rows_row_conditions_defaults_and_counts(make_form: Any,
                                                          env: FixedEnv) -> None:
    form = make_form([{"key": "lines", "type": "subform", "min_rows": 1, "max_rows": 2,
                       "row_validations": [{"expr": "qty <= stock", "message": "stock"}],
                       "fields": [
                           {"key": "qty", "type": "integer", "default": 1},
                           {"key": "stock", "type": "integer", "default": 5},
                           {"key": "gift", "type": "boolean"},
                           {"key": "note", "type": "text", "visible_when": "gift",
                            "required_when": "gift"}]}])
    result = form.process({"lines": [{"gift": True}, {"qty": 9, "note": "hidden"}]},
                          env=env)
    assert [(i.field, i.code) for i in result.issues] == [
        ("lines[0].note", "required"), ("lines[1]", "validation")]
    assert result.data["lines"][1] == {"qty": 9, "stock": 5}
    assert result.data["lines"][0] == {"qty": 1, "stock": 5, "gift": True}
    too_many = form.process({"lines": [{}, {}, {}]}, env=env)
    assert [i.code for i in too_many.issues] == ["max_rows"]
    assert [i.code for i in form.process({"lines": []}, env=env).issues] == ["min_rows"]
    bad = form.process({"lines": [{"qty": 1, "colour": 1}], "x": 1}, env=env)
    assert [(i.field, i.code) for i in bad.issues] == [
        ("lines[0].colour", "unknown_field"), ("x", "unknown_field")]


def test_subform_must_be_a_list_of_rows(ticket: CompiledForm, env: FixedEnv) -> None:
    result = ticket.process({"subject": "s", "customer": "1", "lines": "nope"}, env=env)
    assert [(i.field, i.code) for i in result.issues] == [("lines", "type")]


def test_row_formula_sees_parent_fields(make_form: Any, env: FixedEnv) -> None:
    form = make_form([
        {"key": "rate", "type": "number"},
        {"key": "lines", "type": "subform", "fields": [
            {"key": "amount", "type": "money"},
            {"key": "tax", "type": "formula", "result": "money",
             "expr": "amount * record.rate"},
            {"key": "share", "type": "formula", "result": "number", "precision": 2,
             "expr": "IF(record.total > 0, amount / record.total, 0)"}]},
        {"key": "total", "type": "formula", "expr": "SUM(lines.amount)"},
        {"key": "tax_total", "type": "formula", "expr": "SUM(lines.tax)"}])
    result = form.process({"rate": 0.1, "lines": [{"amount": "30"}, {"amount": "70"}]},
                          env=env)
    assert result.ok, result.errors
    assert [r["tax"] for r in result.data["lines"]] == ["3.00", "7.00"]
    assert [r["share"] for r in result.data["lines"]] == [0.3, 0.7]
    assert result.data["total"] == "100.00" and result.data["tax_total"] == "10.00"


def test_lookups_copied_through_relations(ticket: CompiledForm, env: FixedEnv,
                                          source_of: Any) -> None:
    source = source_of({"customer": {"7": {"name": "ACME", "region": "华东"}}})
    result = ticket.process({"subject": "s", "customer": "7"}, env=env, source=source)
    assert result.data["region"] == "华东"
    missing = ticket.process({"subject": "s", "customer": "8"}, env=env, source=source)
    assert "region" not in missing.data
    without = ticket.process({"subject": "s", "customer": "7"}, env=env,
                             old={"region": "old"})
    assert without.data["region"] == "old"  # no source: the copy is kept


def test_row_lookup_and_multiple_relation(make_form: Any, env: FixedEnv,
                                          source_of: Any) -> None:
    form = make_form([
        {"key": "tags", "type": "relation", "form": "tag", "multiple": True},
        {"key": "tag_names", "type": "lookup", "through": "tags", "field": "name"},
        {"key": "lines", "type": "subform", "fields": [
            {"key": "product", "type": "relation", "form": "product"},
            {"key": "price", "type": "lookup", "through": "product", "field": "price"}]}])
    source = source_of({"tag": {"1": {"name": "a"}, "2": {"name": "b"}},
                        "product": {"p": {"price": "9.90"}}})
    result = form.process({"tags": ["1", "2"], "lines": [{"product": "p"}]}, env=env,
                          source=source)
    assert result.data["tag_names"] == ["a", "b"]
    assert result.data["lines"] == [{"product": "p", "price": "9.90"}]


def test_linkage_default_pulled_from_another_form(make_form: Any, env: FixedEnv,
                                                  source_of: Any) -> None:
    from engines.form import FormSpec, compile_form

    product = FormSpec.model_validate({"key": "product", "name": "P", "fields": [
        {"key": "code", "type": "text", "label": "C"},
        {"key": "price", "type": "money", "label": "P"}]})
    order = FormSpec.model_validate({"key": "order", "name": "O", "fields": [
        {"key": "product_code", "type": "text", "label": "C"},
        {"key": "price", "type": "money", "label": "P", "linkage": {
            "form": "product", "where": "code == record.product_code", "field": "price"}}]})
    form = compile_form(order, forms={"product": product})
    source = source_of({"product": {"1": {"code": "A", "price": "5.00"},
                                    "2": {"code": "B", "price": "7.50"}}})
    assert form.process({"product_code": "B"}, env=env, source=source).data["price"] == "7.50"
    given = form.process({"product_code": "B", "price": 1}, env=env, source=source)
    assert given.data["price"] == "1.00"


def test_default_expr_uses_env_user_and_system_values(make_form: Any) -> None:
    form = make_form([
        {"key": "by", "type": "text", "default_expr": "USER()"},
        {"key": "day", "type": "date", "default_expr": "TODAY()"},
        {"key": "label", "type": "formula", "expr": "CONCAT(id, '/', owner)"},
        {"key": "created_at", "type": "created_at"}])
    env = FixedEnv(at=datetime(2026, 3, 1, 20, tzinfo=UTC), user=UserInfo("li"))
    result = form.process({}, env=env, system={"id": "42", "owner": "li",
                                               "created_at": "2026-03-01T20:00:00Z"})
    assert result.data == {"by": "li", "day": "2026-03-02", "label": "42/li"}


def test_title_of_a_record(ticket: CompiledForm, env: FixedEnv) -> None:
    assert ticket.title_of({"code": "TK-1", "subject": "Pump"}, env=env) == "TK-1 Pump"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_unknown_field_message_in_both_languages(ticket: CompiledForm, env: FixedEnv,
                                                 lang: str) -> None:
    result = ticket.process({"subject": "s", "customer": "1", "zzz": 1}, env=env,
                            lang=lang)  # type: ignore[arg-type]
    assert ("zzz" in result.errors[0]["message"]) and result.errors[0]["field"] == "zzz"


def test_old_data_is_never_mutated(ticket: CompiledForm, env: FixedEnv) -> None:
    import copy

    old = ticket.process({"subject": "s", "customer": "1", "lines": LINES}, env=env).data
    old["lines"][0]["subtotal"] = "stale"
    snapshot = copy.deepcopy(old)
    result = ticket.process({"status": "done"}, old=old, env=env)
    assert old == snapshot
    assert result.data["lines"][0]["subtotal"] == "25.00"


def test_row_default_expr_sees_parent_values(make_form: Any, env: FixedEnv) -> None:
    form = make_form([
        {"key": "currency", "type": "text", "default": "CNY"},
        {"key": "lines", "type": "subform", "fields": [
            {"key": "cur", "type": "text", "default_expr": "currency"},
            {"key": "day", "type": "date", "default_expr": "TODAY()"}]}])
    result = form.process({"currency": "USD", "lines": [{}, {"cur": "EUR"}]}, env=env)
    assert result.data["lines"] == [{"cur": "USD", "day": "2026-03-01"},
                                    {"cur": "EUR", "day": "2026-03-01"}]


def test_read_only_subform_keeps_old_rows_without_touching_them(
        make_form: Any, env: FixedEnv) -> None:
    import copy

    form = make_form([{"key": "lines", "type": "subform", "read_only": True, "fields": [
        {"key": "q", "type": "integer"},
        {"key": "d", "type": "formula", "expr": "q * 2", "result": "integer"}]}])
    old = {"lines": [{"q": 2, "d": 0}]}
    snapshot = copy.deepcopy(old)
    result = form.process({"lines": [{"q": 5}]}, old=old, env=env)
    assert result.data == {"lines": [{"q": 2, "d": 4}]}
    assert old == snapshot


def test_read_only_columns_keep_the_old_row_value(make_form: Any, env: FixedEnv) -> None:
    form = make_form([{"key": "lines", "type": "subform", "fields": [
        {"key": "status", "type": "text"},
        {"key": "price", "type": "money", "read_only_when": "status == 'locked'"},
        {"key": "code", "type": "text", "read_only": True, "default": "NEW"}]}])
    old = {"lines": [{"_id": "r1", "status": "locked", "price": "5.00", "code": "A"},
                     {"_id": "r2", "status": "open", "price": "6.00", "code": "B"}]}
    result = form.process({"lines": [
        {"_id": "r1", "status": "open", "price": "bad", "code": "X"},
        {"_id": "r2", "status": "open", "price": "7", "code": "Y"},
        {"status": "open", "price": "8", "code": "Z"}]}, old=old, env=env)
    assert result.ok, result.errors
    assert result.data["lines"] == [
        {"_id": "r1", "status": "open", "price": "5.00", "code": "A"},
        {"_id": "r2", "status": "open", "price": "7.00", "code": "B"},
        {"status": "open", "price": "8.00", "code": "NEW"}]


def test_system_field_under_its_own_key(make_form: Any, env: FixedEnv) -> None:
    form = make_form([{"key": "submitted_by", "type": "created_by"},
                      {"key": "who", "type": "formula", "expr": "CONCAT('by ', submitted_by)"}])
    result = form.process({"submitted_by": "forged"}, env=env, system={"created_by": "li"})
    assert result.data == {"who": "by li"}
