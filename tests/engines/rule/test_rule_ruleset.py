from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from rule_fixtures import by_type, load_forms, rule

from engines.effects import (
    CallWebhook,
    CreateRecord,
    CreateTask,
    Notify,
    Recipient,
    SetFields,
    StartFlow,
    UpdateRecords,
)
from engines.expr import FixedEnv
from engines.rule import FlowEvent, RecordEvent, compile_rules
from engines.rule.effects import FlagRecord, TagRecord
from engines.rule.spec import RuleSpec

ENV = FixedEnv(at=datetime(2026, 3, 10, 1, 0, tzinfo=UTC))
BASE = {"id": "11", "code": "AR-11", "customer": "7", "amount": Decimal("1200.50"),
        "due_date": date(2026, 1, 15), "status": "open", "owner": "li"}


def _set(*specs: RuleSpec, flows: frozenset[str] | None = None) -> Any:
    return compile_rules(specs, load_forms(), flows=flows).for_form("receivable")


def _updated(**changes: Any) -> RecordEvent:
    return RecordEvent("updated", "receivable", {**BASE, **changes}, dict(BASE))


def test_watched_fields_only() -> None:
    rules = _set(rule("on_status", trigger={"kind": "updated", "fields": ["status"]}),
                 rule("on_any", trigger={"kind": "updated"}))
    assert [f.rule for f in rules.fire(_updated(amount=Decimal(5)), ENV)] == ["on_any"]
    assert [f.rule for f in rules.fire(_updated(status="paid"), ENV)] == ["on_any",
                                                                         "on_status"]
    # a change of system fields only is not a change of the record's data
    assert rules.fire(_updated(updated_at=datetime(2026, 3, 1, tzinfo=UTC)), ENV) == []
    assert rules.fire(RecordEvent("created", "receivable", BASE), ENV) == []


def test_field_changed_honours_from_and_to() -> None:
    rules = _set(rule("paid", trigger={"kind": "field_changed", "field": "status",
                                       "from": "open", "to": "paid"}),
                 rule("due_set", trigger={"kind": "field_changed", "field": "due_date",
                                          "from": None}))
    assert [f.rule for f in rules.fire(_updated(status="paid"), ENV)] == ["paid"]
    reopened = RecordEvent("updated", "receivable", BASE, {**BASE, "status": "paid"})
    assert rules.fire(reopened, ENV) == []
    first_due = RecordEvent("updated", "receivable", BASE, {**BASE, "due_date": None})
    assert [f.rule for f in rules.fire(first_due, ENV)] == ["due_set"]
    assert rules.fire(_updated(due_date=date(2026, 2, 1)), ENV) == []  # from was not blank


def test_created_deleted_and_flow_events() -> None:
    gone = [{"kind": "notify", "channels": ["webhook"], "message": "{code} deleted"}]
    rules = _set(rule("c"), rule("d", trigger={"kind": "deleted"}, actions=gone),
                 rule("f", trigger={"kind": "flow", "flow": "approval", "event": "approved"}),
                 flows=frozenset({"approval"}))
    assert [f.rule for f in rules.fire(RecordEvent("created", "receivable", BASE), ENV)] == ["c"]
    assert [f.rule for f in rules.fire(RecordEvent("deleted", "receivable", BASE), ENV)] == ["d"]
    approved = FlowEvent("approval", "approved", "receivable", BASE)
    assert [(f.rule, f.trigger) for f in rules.fire(approved, ENV)] == [("f", "flow:approved")]
    assert rules.fire(FlowEvent("approval", "rejected", "receivable", BASE), ENV) == []
    assert rules.fire(RecordEvent("created", "customer", BASE), ENV) == []


def test_priority_order_stop_and_disabled() -> None:
    rules = _set(rule("b_late", priority=200), rule("a_late", priority=200),
                 rule("first", priority=5), rule("off", priority=1, enabled=False))
    assert [f.rule for f in rules.fire(RecordEvent("created", "receivable", BASE), ENV)] == [
        "first", "a_late", "b_late"]
    stopping = _set(rule("later", priority=50),
                    rule("stopper", priority=10, stop=True, when="amount > 1000"))
    event = RecordEvent("created", "receivable", BASE)
    assert [f.rule for f in stopping.fire(event, ENV)] == ["stopper"]
    small = RecordEvent("created", "receivable", {**BASE, "amount": Decimal(5)})
    assert [f.rule for f in stopping.fire(small, ENV)] == ["later"]


def test_condition_sees_old_values() -> None:
    rules = _set(rule("grew", trigger={"kind": "updated", "fields": ["amount"]},
                      when="amount > old.amount * 2"))
    assert len(rules.fire(_updated(amount=Decimal(3000)), ENV)) == 1
    assert rules.fire(_updated(amount=Decimal(1300)), ENV) == []


def test_effects_of_every_action_kind() -> None:
    spec = rule("all", when="status == 'open'", actions=[
        {"kind": "notify", "channels": ["inbox", "email"],
         "to": [{"kind": "field", "field": "owner"}, {"kind": "role", "role": "finance"},
                {"kind": "user", "user": "boss"}, {"kind": "email", "address": "a@b.cn"},
                {"kind": "expr", "expr": "IF(amount > 1000, 'cfo', 'clerk')"},
                {"kind": "user", "user": "li"}],
         "subject": "{code}", "message": {"zh": "{code} 金额 {amount} 到期 {due_date}",
                                          "en": "{code} {{literal}}"}},
        {"kind": "set_fields", "values": {"status": "'paid'", "amount": "amount * 2"}},
        {"kind": "create_record", "form": "complaint",
         "values": {"customer": "record.customer", "subject": "CONCAT('欠款 ', code)"}},
        {"kind": "update_related", "form": "customer", "relation": "customer",
         "values": {"risk_level": "'high'"}},
        {"kind": "start_flow", "flow": "collect"},
        {"kind": "create_task", "to": [{"kind": "field", "field": "owner"}],
         "title": "催收 {code}", "due": "due_date + DAYS(40)",
         "description": {"zh": "客户 {customer}", "en": "Customer {customer}"}},
        {"kind": "tag", "tags": ["overdue"]},
        {"kind": "flag", "flag": "high_risk", "color": "#ff0000", "note": "!"},
        {"kind": "call_webhook", "url": "https://hooks.example.com/x", "secret": "erp",
         "payload": {"code": "code", "amount": "amount", "due": "due_date"}},
        {"kind": "call_webhook", "url": "https://hooks.example.com/y"},
    ])
    (firing,) = _set(spec, flows=frozenset({"collect"})).fire(
        RecordEvent("created", "receivable", BASE), ENV)
    assert firing.ok and firing.claim is None
    e = by_type(firing.effects)
    assert e["Notify"] == [Notify(
        to=(Recipient("user", "li"), Recipient("role", "finance"), Recipient("user", "boss"),
            Recipient("email", "a@b.cn"), Recipient("user", "cfo")),
        message={"zh": "AR-11 金额 1200.50 到期 2026-01-15", "en": "AR-11 {literal}"},
        channels=("inbox", "email"), subject={"zh": "AR-11", "en": "AR-11"},
        record_id="11", form="receivable")]
    assert e["SetFields"] == [SetFields({"status": "paid", "amount": "2401.00"},
                                        form="receivable", record_id="11")]
    assert e["CreateRecord"] == [CreateRecord("complaint", {"customer": "7",
                                                            "subject": "欠款 AR-11"})]
    assert e["UpdateRecords"] == [UpdateRecords("customer", 'id == "7"',
                                                {"risk_level": "high"})]
    assert e["StartFlow"] == [StartFlow("collect", record_id="11", form="receivable")]
    (task,) = e["CreateTask"]
    assert isinstance(task, CreateTask)
    assert task.title == {"zh": "催收 AR-11", "en": "催收 AR-11"}
    assert task.assignees == (Recipient("user", "li"),)
    # a due *date* is the end of that day in the deployment's zone (Asia/Shanghai)
    assert task.due == datetime(2026, 2, 24, 15, 59, 59, tzinfo=UTC)
    assert task.data["description"] == {"zh": "客户 7", "en": "Customer 7"}
    assert e["TagRecord"] == [TagRecord("receivable", "11", ("overdue",))]
    assert e["FlagRecord"] == [FlagRecord("receivable", "11", "high_risk", True, "#ff0000",
                                          {"zh": "!", "en": "!"})]
    hook, default = e["CallWebhook"]
    assert hook == CallWebhook("https://hooks.example.com/x",
                               {"code": "AR-11", "amount": "1200.50", "due": "2026-01-15"},
                               secret_ref="erp")
    assert isinstance(default, CallWebhook)
    assert default.payload["record"]["amount"] == "1200.50"
    assert default.payload["record"]["due_date"] == "2026-01-15"
    # nothing fires when the condition is false
    paid = RecordEvent("created", "receivable", {**BASE, "status": "paid"})
    assert _set(spec, flows=frozenset({"collect"})).fire(paid, ENV) == []


def test_update_related_backwards_selects_children() -> None:
    spec = rule("cascade_paid", form="customer", trigger={"kind": "updated"},
                actions=[{"kind": "update_related", "form": "receivable",
                          "relation": "customer", "where": "status == 'open'",
                          "values": {"status": "'paid'"}}])
    rules = compile_rules([spec], load_forms()).for_form("customer")
    event = RecordEvent("updated", "customer", {"id": "7", "name": "新"}, {"id": "7", "name": "旧"})
    (firing,) = rules.fire(event, ENV)
    assert firing.effects == (UpdateRecords("receivable", '(customer == "7") and '
                                            "(status == 'open')", {"status": "paid"}),)


def test_update_related_without_a_link_does_nothing() -> None:
    spec = rule("r", form="complaint", actions=[
        {"kind": "update_related", "form": "customer", "relation": "customer",
         "values": {"risk_level": "'high'"}}, {"kind": "tag", "tags": ["t"]}])
    rules = compile_rules([spec], load_forms()).for_form("complaint")
    (firing,) = rules.fire(RecordEvent("created", "complaint", {"id": "1"}), ENV)
    assert [type(e).__name__ for e in firing.effects] == ["TagRecord"]


def test_a_failing_rule_is_reported_and_others_still_fire() -> None:
    # the environment cannot answer the aggregate: the rule fails, the others go on
    rules = _set(rule("broken", priority=1,
                      when="COUNT('complaint', customer == record.customer) > 0"),
                 rule("fine"))
    broken, fine = rules.fire(RecordEvent("created", "receivable", BASE), ENV)
    assert broken.rule == "broken" and not broken.ok and broken.effects == ()
    assert broken.error is not None and broken.error["message"]["en"]
    assert fine.ok and fine.effects


def test_once_per_on_event_rules() -> None:
    rules = _set(rule("once", once_per="customer", once_window="P7D", once_scope="rule"))
    (firing,) = rules.fire(RecordEvent("created", "receivable", BASE), ENV)
    assert firing.claim is not None
    assert firing.claim.key == "once:*:7|2026-03-09T00:00Z"  # the Monday-based week
    plain = _set(rule("every"))
    assert plain.fire(RecordEvent("created", "receivable", BASE), ENV)[0].claim is None
