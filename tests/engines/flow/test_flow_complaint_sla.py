"""Complaint flow: assign → contact within 30 minutes → solution within 24 hours →
satisfaction follow-up, with SLA reminders, escalation and auto-approve on timeout.
The clock is passed in; timers are the ScheduleAt effects the engine returns."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flow_testkit import T0, Driver, FakeDirectory, WeekdayCalendar, build

COMPLAINT: dict[str, Any] = {
    "key": "complaint",
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "assign", "type": "handle", "assignees": [{"kind": "role", "role": "supervisor"}],
         "fields": {"editable": ["owner"], "required": ["owner"]}},
        {"id": "contact", "type": "handle", "name": {"zh": "联系客户", "en": "Contact"},
         "assignees": [{"kind": "field", "field": "owner"}],
         "sla": {"due": "PT30M", "remind_before": "PT10M", "on_timeout": "escalate",
                 "escalate_to": [{"kind": "role", "role": "supervisor"}]}},
        {"id": "solve", "type": "handle", "assignees": [{"kind": "field", "field": "owner"}],
         "sla": {"due": "P1D", "remind_before": "PT2H", "on_timeout": "remind"}},
        {"id": "follow_up", "type": "handle", "assignees": [{"kind": "role", "role": "qa"}],
         "sla": {"due": "P3D", "days": "working", "on_timeout": "approve"}},
        {"id": "end", "type": "end"},
    ],
    "edges": [{"from": a, "to": b} for a, b in [
        ("start", "assign"), ("assign", "contact"), ("contact", "solve"),
        ("solve", "follow_up"), ("follow_up", "end")]],
}

PEOPLE = FakeDirectory(roles={"supervisor": ["sue"], "qa": ["quinn"]})


def test_complaint_with_reminder_escalation_stale_timers_and_auto_approve() -> None:
    d = Driver(build(COMPLAINT), PEOPLE, calendar=WeekdayCalendar())
    d.start()
    d.record["owner"] = "olga"  # the supervisor assigns the complaint
    d.act("sue", values={"owner": "olga"})
    assert d.holders() == {"contact": ["olga"]}
    remind, timeout = d.timers("remind")[0], d.timers("timeout")[0]
    assert remind.at == T0 + timedelta(minutes=20)
    assert timeout.at == T0 + timedelta(minutes=30)
    assert d.s.tasks[d.task_of("olga")].due == timeout.at

    d.fire(remind)
    assert d.notified() == ["olga"] and d.s.trail[-1].action == "remind"
    d.fire(timeout)
    assert d.holders() == {"contact": ["olga", "sue"]}  # escalated to the supervisor
    assert d.notified() == ["sue"]
    d.act("sue", node="contact", comment="已电话联系")
    assert d.holders() == {"solve": ["olga"]}
    solve_timeout = d.timers("timeout")[0]
    assert solve_timeout.at == d.now + timedelta(days=1)

    d.now += timedelta(hours=3)
    d.act("olga")
    follow = d.timers("timeout")[0]
    # three working days from Monday 09:50 is Thursday 09:50
    assert follow.at.weekday() == 3 and follow.at - d.now == timedelta(days=3)

    before = d.s.to_json()
    d.fire(solve_timeout)  # the solve node is done: its timer is stale and ignored
    assert d.s.to_json() == before and d.effects == []

    d.fire(follow)
    assert d.s.status == "approved"
    assert [e.action for e in d.s.trail if e.node == "follow_up"][:2] == ["timeout",
                                                                          "node_approved"]


def test_working_days_skip_the_weekend() -> None:
    d = Driver(build(COMPLAINT), PEOPLE, calendar=WeekdayCalendar())
    d.now = T0 + timedelta(days=4)  # Friday
    d.start()
    d.record["owner"] = "olga"
    d.act("sue", values={"owner": "olga"})
    d.act("olga")
    d.act("olga")
    follow = d.timers("timeout")[0]
    assert follow.at - d.now == timedelta(days=5)  # Fri + 3 working days = Wed


def test_required_and_non_editable_fields_are_refused() -> None:
    import pytest

    from engines.flow import FlowError

    d = Driver(build(COMPLAINT), PEOPLE)
    d.start()
    with pytest.raises(FlowError) as refused:
        d.act("sue", values={"status": "x"})
    assert refused.value.code == "field_not_editable"
    with pytest.raises(FlowError) as missing:
        d.act("sue")
    assert missing.value.code == "field_required"
    access = d.flow.node("assign").fields
    assert access.editable == {"owner"} and access.required == {"owner"}
    assert access.can_see("anything")
