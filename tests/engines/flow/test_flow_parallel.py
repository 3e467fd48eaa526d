"""Parallel split and join, automatic actions, notify/cc, timers and sub-flows."""

from __future__ import annotations

from typing import Any

from flow_testkit import Driver, FakeDirectory, build

from engines.effects import Notify, SetFields
from engines.flow.effects import FlowFinished, StartSubflow

PEOPLE = FakeDirectory()


def u(name: str) -> list[dict[str, str]]:
    return [{"kind": "user", "user": name}]


PARALLEL: dict[str, Any] = {
    "key": "par",
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "prep", "type": "approval", "assignees": u("pia")},
        {"id": "split", "type": "parallel"},
        {"id": "tech", "type": "approval", "assignees": u("tia")},
        {"id": "law", "type": "approval", "assignees": u("lia")},
        {"id": "law2", "type": "approval", "assignees": u("lou")},
        {"id": "join", "type": "join"},
        {"id": "stamp", "type": "action",
         "do": [{"kind": "set_fields", "values": {"status": "approved"}}]},
        {"id": "tell", "type": "notify", "to": [{"kind": "initiator"}],
         "message": {"zh": "已通过", "en": "Approved"}},
        {"id": "end", "type": "end"},
    ],
    "edges": [{"from": a, "to": b} for a, b in [
        ("start", "prep"), ("prep", "split"), ("split", "tech"), ("split", "law"),
        ("law", "law2"), ("tech", "join"), ("law2", "join"), ("join", "stamp"),
        ("stamp", "tell"), ("tell", "end")]],
}


def test_split_runs_branches_and_join_waits_for_all() -> None:
    d = Driver(build(PARALLEL), PEOPLE)
    d.start()
    d.act("pia")
    assert d.holders() == {"law": ["lia"], "tech": ["tia"]}
    d.act("tia")
    assert d.holders() == {"law": ["lia"]} and d.s.joins == {"join": 1}
    d.act("lia")
    assert d.holders() == {"law2": ["lou"]}
    d.act("lou")
    assert d.s.status == "approved"
    assert SetFields(values={"status": "approved"}, form="doc", record_id="r1") in d.effects
    assert any(isinstance(e, Notify) and e.message["en"] == "Approved" for e in d.effects)
    assert [c.user for c in d.s.cc] == ["ivan"]


def test_return_inside_a_branch_keeps_the_other_branch() -> None:
    d = Driver(build(PARALLEL), PEOPLE)
    d.start()
    d.act("pia")
    d.act("lia")
    d.act("lou", "return", to="law")
    assert d.holders() == {"law": ["lia"], "tech": ["tia"]}
    d.act("tia")
    d.act("lia")
    d.act("lou")
    assert d.s.status == "approved"


def test_return_out_of_a_branch_cancels_every_branch() -> None:
    d = Driver(build(PARALLEL), PEOPLE)
    d.start()
    d.act("pia")
    d.act("tia")
    d.act("lia", "return", to="prep")
    assert d.holders() == {"prep": ["pia"]} and d.s.joins == {}
    d.act("pia")
    assert d.holders() == {"law": ["lia"], "tech": ["tia"]}


def test_timer_and_subflow_nodes_wait() -> None:
    doc = {
        "key": "waits",
        "nodes": [{"id": "start", "type": "start"},
                  {"id": "cool", "type": "timer", "wait": "PT1H"},
                  {"id": "child", "type": "subflow", "flow": "audit"},
                  {"id": "end", "type": "end"}],
        "edges": [{"from": "start", "to": "cool"}, {"from": "cool", "to": "child"},
                  {"from": "child", "to": "end"}],
    }
    d = Driver(build(doc), PEOPLE)
    d.start()
    (timer,) = d.timers("wait")
    d.fire(timer)
    (sub,) = [e for e in d.effects if isinstance(e, StartSubflow)]
    assert sub.flow == "audit" and sub.parent_node == "child"
    d._keep(d.engine.on_subflow_finished(d.flow, d.s, node="child", epoch=sub.epoch + 1,
                                         result="approved", now=d.now, record=d.record))
    assert d.s.status == "running"  # wrong epoch: ignored
    d._keep(d.engine.on_subflow_finished(d.flow, d.s, node="child", epoch=sub.epoch,
                                         result="approved", now=d.now, record=d.record))
    assert d.s.status == "approved"
    assert any(isinstance(e, FlowFinished) for e in d.effects)
