"""Task actions: add signer (加签) before/after then reject, transfer (转交), delegate
(委派), withdraw (撤回) by the initiator and by the last approver, urge (催办),
comment, carbon copy (抄送) with read status, and actions a node does not allow."""

from __future__ import annotations

from typing import Any

import pytest
from flow_testkit import Driver, FakeDirectory, build

from engines.flow import FlowError
from engines.flow.effects import CloseTasks

PEOPLE = FakeDirectory(roles={"mgr": ["mia"], "dir": ["dov"]})

TWO_STEP: dict[str, Any] = {
    "key": "two_step",
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "mgr", "type": "approval", "assignees": [{"kind": "role", "role": "mgr"}]},
        {"id": "dir", "type": "approval", "assignees": [{"kind": "role", "role": "dir"}],
         "actions": ["approve", "reject", "comment"]},
        {"id": "end", "type": "end"},
    ],
    "edges": [{"from": "start", "to": "mgr"}, {"from": "mgr", "to": "dir"},
              {"from": "dir", "to": "end"}],
}


def started() -> Driver:
    d = Driver(build(TWO_STEP), PEOPLE)
    d.start()
    return d


def test_add_signer_before_then_the_signer_rejects() -> None:
    d = started()
    d.act("mia", "add_signer", users=("sid",), position="before")
    mia_task = next(t for t in d.s.tasks.values() if t.assignee == "mia")
    assert mia_task.status == "waiting" and d.holders() == {"mgr": ["sid"]}
    with pytest.raises(FlowError) as waiting:
        d.act("mia", task_id=mia_task.id)
    assert waiting.value.code == "task_waiting"
    d.act("sid", "reject", comment="预算不足")
    assert d.s.status == "rejected"
    assert d.s.tasks[mia_task.id].status == "cancelled"


def test_add_signer_before_then_the_task_comes_back() -> None:
    d = started()
    d.act("mia", "add_signer", users=("sid",), position="before")
    d.act("sid")
    assert d.holders() == {"mgr": ["mia"]}
    d.act("mia")
    assert d.holders() == {"dir": ["dov"]}


def test_add_signer_after_the_slot_passes_only_when_the_signer_approves() -> None:
    d = started()
    d.act("mia", "add_signer", users=("sid", "sol"), position="after")
    assert d.holders() == {"mgr": ["sid", "sol"]}
    d.act("sid")
    assert d.holders() == {"mgr": ["sol"]}
    d.act("sol", "reject")
    assert d.s.status == "rejected"


def test_transfer_hands_the_decision_over_and_closes_the_old_task() -> None:
    d = started()
    old = d.task_of("mia")
    d.act("mia", "transfer", users=("tom",))
    assert d.holders() == {"mgr": ["tom"]}
    assert any(isinstance(e, CloseTasks) and old in e.task_ids for e in d.effects)
    d.act("tom")
    assert d.holders() == {"dir": ["dov"]}


def test_delegate_returns_the_task_to_its_owner() -> None:
    d = started()
    d.act("mia", "delegate", users=("dee",))
    d.act("dee", comment="建议通过")
    assert d.holders() == {"mgr": ["mia"]}
    d.act("mia")
    assert d.holders() == {"dir": ["dov"]}


def test_initiator_withdraws_while_nobody_has_acted() -> None:
    d = started()
    d.withdraw("ivan")
    assert d.s.status == "withdrawn" and d.holders() == {}


def test_initiator_cannot_withdraw_after_someone_acted() -> None:
    d = started()
    d.act("mia")
    with pytest.raises(FlowError) as late:
        d.withdraw("ivan")
    assert late.value.code == "withdraw_not_allowed"


def test_last_approver_takes_the_approval_back_before_the_next_acts() -> None:
    d = started()
    first = d.task_of("mia")
    d.act("mia")
    dov_task = d.task_of("dov")
    d.withdraw("mia")
    assert d.holders() == {"mgr": ["mia"]}
    assert d.task_of("mia") != first  # a fresh task: the old id acted already
    assert d.s.tasks[dov_task].status == "cancelled"
    assert any(isinstance(e, CloseTasks) and dov_task in e.task_ids for e in d.effects)
    assert d.s.trail[-1].action == "withdraw"
    with pytest.raises(FlowError):
        d.withdraw("mia")  # only once
    d.act("mia")
    d.act("dov")
    assert d.s.status == "approved"


def test_last_approver_cannot_withdraw_after_the_next_acted() -> None:
    doc = {**TWO_STEP, "nodes": [*TWO_STEP["nodes"][:2],
                                 {"id": "dir", "type": "approval", "mode": "countersign",
                                  "assignees": [{"kind": "user", "user": "dov"},
                                                {"kind": "user", "user": "dax"}]},
                                 TWO_STEP["nodes"][3]]}
    d = Driver(build(doc), PEOPLE)
    d.start()
    d.act("mia")
    d.act("dov")
    with pytest.raises(FlowError) as late:
        d.withdraw("mia")
    assert late.value.code == "withdraw_not_allowed"


def test_urge_comment_and_carbon_copy_with_read_status() -> None:
    d = started()
    d._keep(d.engine.urge(d.flow, d.s, actor="ivan", now=d.now, record=d.record,
                          comment="请尽快"))
    assert d.notified() == ["mia"] and d.s.trail[-1].action == "urge"
    with pytest.raises(FlowError) as not_initiator:
        d.engine.urge(d.flow, d.s, actor="mia", now=d.now, record=d.record)
    assert not_initiator.value.code == "not_initiator"
    d.act("mia", "comment", comment="看一下附件")
    assert d.holders() == {"mgr": ["mia"]}  # a comment leaves the task open
    d.act("mia", "cc", users=("carl",))
    assert d.notified() == ["carl"]
    assert [(c.user, c.read_at) for c in d.s.cc] == [("carl", None)]
    read = d.engine.read_cc(d.s, user="carl", now=d.now)
    assert read.cc[0].read_at == d.now and d.s.cc[0].read_at is None
    noted = d.engine.comment(read, actor="ivan", text="补充说明", now=d.now)
    assert noted.trail[-1].comment == "补充说明"


def test_a_node_refuses_actions_it_does_not_allow() -> None:
    d = started()
    d.act("mia")
    with pytest.raises(FlowError) as refused:
        d.act("dov", "transfer", users=("x",))
    assert refused.value.code == "action_not_allowed"
    with pytest.raises(FlowError) as unknown:
        d.act("dov", "dance")
    assert unknown.value.code == "action_not_allowed"


def test_acting_on_a_finished_instance_is_refused() -> None:
    d = started()
    d.act("mia")
    dov_task = d.task_of("dov")
    d.act("dov")
    with pytest.raises(FlowError) as closed:
        d.act("dov", task_id=dov_task)
    assert closed.value.code == "instance_closed"
