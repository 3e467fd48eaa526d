from __future__ import annotations

import pytest
from rule_fixtures import load_forms, load_rules, rule

from engines.form.spec import FormSpec
from engines.rule import RuleInvalidError, compile_rules, find_cycles
from engines.rule.cycles import rule_graph


def _set_status(key: str, watch: str, value: str, **extra: object) -> object:
    return rule(key, trigger={"kind": "updated", "fields": [watch]},
                actions=[{"kind": "set_fields", "values": {"status": value}}], **extra)


def test_the_crm_rules_have_no_loops() -> None:
    assert find_cycles(list(load_rules().values())) == []


def test_a_rule_that_writes_what_it_watches_loops_on_itself() -> None:
    (cycle,) = find_cycles([_set_status("self", "status", "'paid'")])  # type: ignore[list-item]
    assert cycle.rules == ("self",)
    assert cycle.via == ("receivable.status",)
    assert not cycle.allowed


def test_two_rules_across_forms() -> None:
    to_customer = rule("mark_customer", form="receivable",
                       trigger={"kind": "updated", "fields": ["status"]},
                       actions=[{"kind": "update_related", "form": "customer",
                                 "relation": "customer", "values": {"risk_level": "'high'"}}])
    back = rule("mark_receivables", form="customer",
                trigger={"kind": "field_changed", "field": "risk_level"},
                actions=[{"kind": "update_related", "form": "receivable",
                          "relation": "customer", "values": {"status": "'open'"}}])
    (cycle,) = find_cycles([to_customer, back])
    assert cycle.rules == ("mark_customer", "mark_receivables")
    assert cycle.via == ("customer.risk_level", "receivable.status")
    with pytest.raises(RuleInvalidError) as info:
        compile_rules([to_customer, back], load_forms())
    assert {(p.rule, p.code) for p in info.value.problems} == {
        ("mark_customer", "rule_cycle"), ("mark_receivables", "rule_cycle")}
    message = info.value.problems[0].message
    assert "mark_customer -[customer.risk_level]-> mark_receivables" in message["en"]
    assert "allow_cycle" in message["zh"]


def test_create_record_and_start_flow_edges() -> None:
    creates = rule("spawn", form="receivable", trigger={"kind": "created"},
                   actions=[{"kind": "create_record", "form": "receivable",
                             "values": {"code": "'copy'"}}])
    starts = rule("starter", trigger={"kind": "flow", "flow": "f", "event": "started"},
                  actions=[{"kind": "start_flow", "flow": "f"}])
    found = {c.rules: c.via for c in find_cycles([creates, starts])}
    assert found == {("spawn",): ("receivable.created",), ("starter",): ("flow f",)}


def test_allow_cycle_on_any_rule_of_the_loop_accepts_it() -> None:
    a = _set_status("a", "amount", "'open'")
    b = rule("b", trigger={"kind": "updated", "fields": ["status"]},
             actions=[{"kind": "set_fields", "values": {"amount": "amount + 1"}}],
             allow_cycle=True)
    (cycle,) = find_cycles([a, b])  # type: ignore[list-item]
    assert cycle.allowed
    app = compile_rules([a, b], load_forms())  # type: ignore[list-item]
    assert set(app.rules) == {"a", "b"}


def test_literal_values_that_cannot_match_to_do_not_link() -> None:
    closes = rule("closes", trigger={"kind": "field_changed", "field": "status", "to": "paid"},
                  actions=[{"kind": "set_fields", "values": {"status": "'open'"}}])
    assert find_cycles([closes]) == []
    reopens = rule("reopens", trigger={"kind": "field_changed", "field": "status", "to": "open"},
                   actions=[{"kind": "set_fields", "values": {"status": "'open'"}}])
    assert [c.rules for c in find_cycles([reopens])] == [("reopens",)]


def test_formula_dependents_link_writes_to_watchers() -> None:
    writes_amount = rule("w", trigger={"kind": "created"},
                         actions=[{"kind": "set_fields", "values": {"amount": "1"}}])
    watches_total = rule("t", trigger={"kind": "updated", "fields": ["total"]},
                         actions=[{"kind": "create_record", "form": "receivable",
                                   "values": {"code": "'x'"}}])
    graph = rule_graph([writes_amount, watches_total],
                       {"receivable": {"amount": frozenset({"total"})}})
    assert graph.has_edge("w", "t") and graph.has_edge("t", "w")
    assert [c.rules for c in find_cycles(
        [writes_amount, watches_total], {"receivable": {"amount": frozenset({"total"})}})] == [
        ("t", "w")]
    assert find_cycles([writes_amount, watches_total]) == []


def test_formulas_of_the_form_specs_are_followed_automatically() -> None:
    forms = load_forms()
    formulas = FormSpec.model_validate({"key": "tmp", "name": "tmp", "fields": [
        {"key": "doubled", "type": "formula", "label": "x", "expr": "amount * 2"},
        {"key": "big", "type": "formula", "label": "x", "expr": "doubled > 100"}]}).fields
    forms["order"] = forms["order"].model_copy(
        update={"fields": [*forms["order"].fields, *formulas]})
    # writes amount → doubled → big, which the rule watches
    writes_amount = rule("w", form="order", trigger={"kind": "updated", "fields": ["big"]},
                         actions=[{"kind": "set_fields", "values": {"amount": "amount + 1"}}])
    with pytest.raises(RuleInvalidError) as info:
        compile_rules([writes_amount], forms)
    (found,) = info.value.problems
    assert found.code == "rule_cycle"
    assert "w -[order.big]-> w" in found.message["en"]
