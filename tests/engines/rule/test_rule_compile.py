from __future__ import annotations

import pytest
from rule_fixtures import FLOWS, crm_app, infos, load_forms, load_rules, rule

from engines.rule import RuleInvalidError, compile_rule, compile_rules
from engines.rule.spec import RuleSpec


def _problems(spec: RuleSpec, **kwargs: object) -> dict[str, str]:
    with pytest.raises(RuleInvalidError) as info:
        compile_rule(spec, infos(), **kwargs)  # type: ignore[arg-type]
    assert all(p.rule == spec.key for p in info.value.problems)
    assert all(p.message["zh"] and p.message["en"] for p in info.value.problems)
    return {p.path: p.code for p in info.value.problems}


def test_the_four_crm_rules_compile_with_form_specs() -> None:
    app = crm_app()
    assert sorted(app.rules) == ["complaint_burst", "customer_win_back",
                                 "lead_not_contacted", "receivable_overdue"]
    assert [r.key for r in app.for_form("complaint").event_rules] == ["complaint_burst"]
    assert [r.key for r in app.for_form("receivable").timed_rules] == ["receivable_overdue"]
    assert app.for_form("nothing").rules == ()
    overdue = app.rules["receivable_overdue"]
    assert overdue.reads == {"status", "due_date"}


def test_unknown_form_is_reported_alone() -> None:
    assert _problems(rule("r", form="nope")) == {"form": "unknown_form"}


def test_every_problem_at_once_with_its_path() -> None:
    spec = rule(
        "bad",
        trigger={"kind": "updated", "fields": ["status", "colour"]},
        when="amount > ",
        once_per="nonexistent",
        actions=[
            {"kind": "set_fields", "values": {"status": "'paid'", "nope": "1",
                                              "amount": "'text'"}},
            {"kind": "notify", "channels": ["inbox", "pigeon"], "message": "{code} {cost}"},
            {"kind": "create_record", "form": "invoice", "values": {"x": "1"}},
            {"kind": "update_related", "form": "customer", "relation": "status",
             "values": {"risk_level": "'high'", "ghost": "1"}},
            {"kind": "start_flow", "flow": "unknown_flow"},
            {"kind": "create_task", "to": [{"kind": "field", "field": "boss"},
                                           {"kind": "expr", "expr": "owner +"}],
             "title": "{code}", "due": "'tomorrow'"},
        ])
    problems = _problems(spec, flows=FLOWS)
    assert problems == {
        "trigger.fields[1]": "unknown_field",
        "when": "syntax",
        "once_per": "unknown_name",
        "actions[0].values.nope": "unknown_field",
        "actions[0].values.amount": "wrong_type",
        "actions[1].channels[1]": "unknown_channel",
        "actions[1].to": "no_recipients",
        "actions[1].message": "unknown_placeholder",
        "actions[2].form": "unknown_form",
        "actions[3].relation": "not_a_relation",
        "actions[3].values.ghost": "unknown_field",
        "actions[4].flow": "unknown_flow",
        "actions[5].to[0].field": "unknown_field",
        "actions[5].to[1].expr": "syntax",
        "actions[5].due": "wrong_type",
    }


def test_expression_problems_carry_line_and_column() -> None:
    with pytest.raises(RuleInvalidError) as info:
        compile_rule(rule("r", when="status == 'open' and amout > 5"), infos())
    (found,) = info.value.problems
    assert found.code == "unknown_name"
    assert "amount" in found.message["en"]  # the suggestion
    assert "column 22" in found.message["en"]
    assert found.file == "rules/r.json"


def test_condition_must_be_boolean() -> None:
    assert _problems(rule("r", when="amount + 1")) == {"when": "wrong_type"}


def test_computed_fields_cannot_be_written() -> None:
    spec = rule("r", form="lead", actions=[{"kind": "set_fields",
                                            "values": {"created_at": "NOW()"}}])
    assert _problems(spec) == {"actions[0].values.created_at": "read_only_field"}


def test_trigger_values_are_checked_against_the_field() -> None:
    spec = rule("r", trigger={"kind": "field_changed", "field": "status", "to": "closed"})
    assert _problems(spec) == {"trigger.to": "unknown_option"}
    spec = rule("r", trigger={"kind": "field_changed", "field": "amount", "from": "abc"})
    assert _problems(spec) == {"trigger.from": "bad_value"}
    spec = rule("r", trigger={"kind": "date", "field": "code"})
    assert _problems(spec) == {"trigger.field": "not_a_date"}


def test_actions_on_deleted_records_are_refused() -> None:
    spec = rule("r", trigger={"kind": "deleted"},
                actions=[{"kind": "set_fields", "values": {"status": "'paid'"}}])
    assert _problems(spec) == {"actions[0].kind": "deleted_record"}


def test_update_related_both_directions() -> None:
    forward = rule("f", form="complaint", actions=[
        {"kind": "update_related", "form": "customer", "relation": "customer",
         "values": {"risk_level": "'high'"}}])
    backward = rule("b", form="customer", actions=[
        {"kind": "update_related", "form": "receivable", "relation": "customer",
         "where": "status == 'open'", "values": {"status": "'paid'"}}])
    app = compile_rules([forward, backward], load_forms())
    assert set(app.rules) == {"f", "b"}


def test_compile_rules_reports_duplicates_and_cycles() -> None:
    specs = [*load_rules().values(), rule("receivable_overdue")]
    with pytest.raises(RuleInvalidError) as info:
        compile_rules(specs, load_forms(), flows=FLOWS)
    assert [(p.rule, p.code) for p in info.value.problems] == [
        ("receivable_overdue", "duplicate_key")]


def test_field_recipients_must_hold_people() -> None:
    spec = rule("r", actions=[{"kind": "notify", "message": "x",
                               "to": [{"kind": "field", "field": "customer"},
                                      {"kind": "field", "field": "owner"}]}])
    assert _problems(spec) == {"actions[0].to[0].field": "not_a_recipient"}


def test_rule_wide_episodes_need_once_per() -> None:
    assert _problems(rule("r", once_scope="rule", once_window="P7D")) == {
        "once_scope": "once_scope_without_once_per"}
