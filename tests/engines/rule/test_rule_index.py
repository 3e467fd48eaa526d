"""`RuleSet.candidates`: the rules an event may fire, looked up from its kind and the
changed fields instead of asking every rule, in firing order; `fire` over the
candidates gives exactly what asking every rule gave."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from rule_fixtures import load_forms, rule

from engines.expr import FixedEnv
from engines.rule import FlowEvent, RecordEvent, compile_rules
from engines.rule.spec import RuleSpec

ENV = FixedEnv(at=datetime(2026, 3, 10, 1, 0, tzinfo=UTC))
BASE = {"id": "11", "code": "AR-11", "customer": "7", "amount": Decimal("1200.50"),
        "due_date": date(2026, 1, 15), "status": "open", "owner": "li"}


def _set(*specs: RuleSpec) -> Any:
    return compile_rules(specs, load_forms(),
                         flows=frozenset({"complaint_escalation"})).for_form("receivable")


def _keys(rules: Any) -> list[str]:
    return [r.key for r in rules]


RULES = (
    rule("on_status", trigger={"kind": "updated", "fields": ["status"]}, priority=20),
    rule("on_any", trigger={"kind": "updated"}, priority=50),
    rule("amount_up", trigger={"kind": "field_changed", "field": "amount"}, priority=10),
    rule("paid", trigger={"kind": "field_changed", "field": "status", "to": "paid"}),
    rule("born", trigger={"kind": "created"}),
    rule("born_too", trigger={"kind": "created"}, priority=1),
    rule("gone", trigger={"kind": "deleted"}, actions=[
        {"kind": "notify", "message": "gone", "to": [{"kind": "field", "field": "owner"}]}]),
    rule("off", trigger={"kind": "created"}, enabled=False),
    rule("late", trigger={"kind": "date", "field": "due_date", "offset": "P30D"}),
    rule("nightly", trigger={"kind": "schedule", "cron": "0 2 * * *"}),
    rule("escalated", trigger={"kind": "flow", "flow": "complaint_escalation",
                               "event": "completed"}),
)


def test_lookup_by_kind_keeps_firing_order_and_leaves_out_disabled_and_timed() -> None:
    rules = _set(*RULES)
    assert _keys(rules.candidates("created")) == ["born_too", "born"]
    assert _keys(rules.candidates("deleted")) == ["gone"]
    assert _keys(rules.candidates("flow")) == ["escalated"]
    assert rules.candidates("updated") == ()  # nothing changed, nothing to ask


def test_an_update_asks_only_the_rules_watching_a_changed_field() -> None:
    rules = _set(*RULES)
    assert _keys(rules.candidates("updated", ["code"])) == ["on_any"]
    assert _keys(rules.candidates("updated", ["status"])) == ["on_status", "on_any", "paid"]
    assert _keys(rules.candidates("updated", ["amount", "status"])) == [
        "amount_up", "on_status", "on_any", "paid"]
    # keys no rule watches (system columns, unknown keys) cost nothing
    assert rules.candidates("updated", ["updated_at", "nonsense"]) == ()


def test_candidates_are_a_superset_that_fire_checks_exactly() -> None:
    rules = _set(*RULES)
    event = RecordEvent("updated", "receivable", {**BASE, "status": "disputed"}, dict(BASE))
    # "paid" watches status but wants to == "paid": a candidate that does not fire
    assert "paid" in _keys(rules.candidates("updated", ["status"]))
    fired = [f.rule for f in rules.fire(event, ENV)]
    assert fired == ["on_status", "on_any"]
    assert [f.rule for f in rules.fire(event, ENV, rules.candidates(
        "updated", ["status", "code", "amount"]))] == fired


def test_fire_by_index_equals_asking_every_rule() -> None:
    rules = _set(*RULES)
    events = [
        RecordEvent("created", "receivable", BASE),
        RecordEvent("deleted", "receivable", BASE),
        RecordEvent("updated", "receivable", {**BASE, "status": "paid"}, dict(BASE)),
        RecordEvent("updated", "receivable", {**BASE, "amount": Decimal(5)}, dict(BASE)),
        RecordEvent("updated", "receivable", dict(BASE), dict(BASE)),
        FlowEvent("complaint_escalation", "completed", "receivable", BASE),
        FlowEvent("complaint_escalation", "started", "receivable", BASE),
    ]
    for event in events:
        changed = event.changed() if isinstance(event, RecordEvent) else frozenset()
        asked = [r for r in rules.ordered if r.trigger_matches(event, changed)]
        by_index = [f.rule for f in rules.fire(event, ENV)]
        assert by_index == [r.key for r in asked], event
        # runtime, having asked the candidates itself, skips asking again
        assert [f.rule for f in rules.fire(event, ENV, asked, matched=True)] == by_index
