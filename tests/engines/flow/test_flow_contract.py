"""Contract approval: amount > 1,000,000 goes to the general manager after the sales
director, then finance and legal countersign (会签)."""

from __future__ import annotations

from typing import Any

from flow_testkit import Driver, FakeDirectory, build

from engines.flow.effects import FlowFinished

CONTRACT: dict[str, Any] = {
    "key": "contract",
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "sales", "type": "approval", "name": {"zh": "销售总监", "en": "Sales director"},
         "assignees": [{"kind": "role", "role": "sales_director"}]},
        {"id": "big", "type": "condition"},
        {"id": "gm", "type": "approval", "assignees": [{"kind": "role", "role": "gm"}]},
        {"id": "sign", "type": "approval", "mode": "countersign",
         "assignees": [{"kind": "role", "role": "finance"}, {"kind": "role", "role": "legal"}]},
        {"id": "end", "type": "end"},
    ],
    "edges": [
        {"from": "start", "to": "sales"},
        {"from": "sales", "to": "big"},
        {"from": "big", "to": "gm", "when": "amount > 1000000"},
        {"from": "big", "to": "sign", "default": True},
        {"from": "gm", "to": "sign"},
        {"from": "sign", "to": "end"},
    ],
}

PEOPLE = FakeDirectory(roles={"sales_director": ["sam"], "gm": ["grace"],
                              "finance": ["fay"], "legal": ["leo"]})


def test_large_contract_goes_to_the_general_manager_then_the_countersign() -> None:
    d = Driver(build(CONTRACT), PEOPLE, record={"amount": 2_500_000})
    d.start()
    assert d.holders() == {"sales": ["sam"]}
    d.act("sam")
    assert d.holders() == {"gm": ["grace"]}
    d.act("grace")
    assert d.holders() == {"sign": ["fay", "leo"]}
    d.act("fay")
    assert d.s.status == "running" and d.holders() == {"sign": ["leo"]}
    d.act("leo", comment="条款已审")
    assert d.s.status == "approved"
    assert any(isinstance(e, FlowFinished) and e.result == "approved" for e in d.effects)
    actions = [(e.actor, e.action) for e in d.s.trail]
    assert ("sam", "approve") in actions and ("grace", "approve") in actions
    assert ("leo", "approve", "条款已审") in [(e.actor, e.action, e.comment) for e in d.s.trail]
    assert d.s.path == ["start", "sales", "gm", "sign"]


def test_small_contract_skips_the_general_manager() -> None:
    d = Driver(build(CONTRACT), PEOPLE, record={"amount": 80_000})
    d.start()
    d.act("sam")
    assert d.holders() == {"sign": ["fay", "leo"]}
    d.act("leo")
    d.act("fay")
    assert d.s.status == "approved"
    assert "gm" not in d.s.path


def test_a_countersign_rejection_rejects_the_contract() -> None:
    d = Driver(build(CONTRACT), PEOPLE, record={"amount": 80_000})
    d.start()
    d.act("sam")
    d.act("leo", "reject", comment="违约条款不可接受")
    assert d.s.status == "rejected"
    assert d.holders() == {}
    fay_task = next(t for t in d.s.tasks.values() if t.assignee == "fay")
    assert fay_task.status == "cancelled"
    assert d.s.trail[-1].action == "finish" and d.s.trail[-1].detail == {"result": "rejected"}
