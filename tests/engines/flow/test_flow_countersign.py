"""Countersign (会签), or-sign (或签) and sequential (依次审批) nodes: thresholds,
rejection rules, returns out of a countersign, and votes counted exactly once."""

from __future__ import annotations

from typing import Any

import pytest
from flow_testkit import Driver, FakeDirectory, build

from engines.flow import FlowError, TaskAction

BOARD = ["ann", "bob", "cid", "dan"]
PEOPLE = FakeDirectory(roles={"board": BOARD, "lead": ["lee"]})


def flow(mode: str = "countersign", pass_: dict[str, Any] | None = None,
         **vote: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"id": "vote", "type": "approval", "mode": mode,
                            "assignees": [{"kind": "role", "role": "board"}], **vote}
    if pass_ is not None:
        node["pass"] = pass_
    return {
        "key": "board",
        "nodes": [{"id": "start", "type": "start"},
                  {"id": "lead", "type": "approval",
                   "assignees": [{"kind": "role", "role": "lead"}]},
                  node, {"id": "end", "type": "end"}],
        "edges": [{"from": "start", "to": "lead"}, {"from": "lead", "to": "vote"},
                  {"from": "vote", "to": "end"}],
    }


def at_vote(doc: dict[str, Any]) -> Driver:
    d = Driver(build(doc), PEOPLE)
    d.start()
    d.act("lee")
    return d


def test_all_must_approve_by_default() -> None:
    d = at_vote(flow())
    for user in BOARD[:3]:
        d.act(user)
        assert d.s.status == "running"
    d.act("dan")
    assert d.s.status == "approved"


def test_n_of_m_passes_at_the_count_and_cancels_the_rest() -> None:
    d = at_vote(flow(pass_={"count": 2}))
    d.act("ann")
    d.act("cid")
    assert d.s.status == "approved"
    assert sorted(t.assignee for t in d.s.tasks.values() if t.outcome == "cancelled") == [
        "bob", "dan"]


def test_ratio_without_veto_counts_rejections_until_the_rule_cannot_be_met() -> None:
    d = at_vote(flow(pass_={"ratio": 0.5, "veto": False}))
    d.act("ann", "reject")
    assert d.s.status == "running"
    d.act("bob", "reject")
    assert d.s.status == "running"  # 2 of 4 can still approve
    d.act("cid")
    d.act("dan")
    assert d.s.status == "approved"
    d2 = at_vote(flow(pass_={"ratio": 0.75, "veto": False}))
    d2.act("ann", "reject")
    d2.act("bob", "reject")  # 3 of 4 can no longer be reached
    assert d2.s.status == "rejected"


def test_veto_rejects_on_the_first_rejection() -> None:
    d = at_vote(flow(pass_={"ratio": 0.5}))
    d.act("ann", "reject")
    assert d.s.status == "rejected"


def test_or_sign_first_decision_wins() -> None:
    d = at_vote(flow("or_sign"))
    d.act("cid")
    assert d.s.status == "approved"
    assert len([t for t in d.s.tasks.values() if t.outcome == "cancelled"]) == 3


def test_sequential_goes_one_by_one_in_order() -> None:
    d = at_vote(flow("sequential"))
    for user in BOARD:
        assert d.holders() == {"vote": [user]}
        d.act(user)
    assert d.s.status == "approved"


def test_duplicate_and_concurrent_votes_count_once() -> None:
    d = at_vote(flow())
    ann_task = d.task_of("ann")
    base = d.s
    d.act("ann", task_id=ann_task)
    with pytest.raises(FlowError) as again:
        d.act("ann", task_id=ann_task)
    assert again.value.code == "task_closed"
    assert list(d.s.active["vote"].votes.values()) == ["approve"]
    # two requests acting on the same stored state: runtime keeps the first write;
    # replaying the loser on the winner's state is refused, never counted twice
    racing, _ = d.engine.act(d.flow, base, TaskAction(ann_task, "ann", "reject"),
                             now=d.now, record=d.record)
    assert racing.status == "rejected"  # a candidate state runtime would refuse to save
    assert base.active["vote"].votes == {} and base.tasks[ann_task].status == "open"
    with pytest.raises(FlowError) as closed:
        d.engine.act(d.flow, d.s, TaskAction(ann_task, "ann", "reject"), now=d.now,
                     record=d.record)
    assert closed.value.code == "task_closed"
    with pytest.raises(FlowError) as stranger:
        d.act("bob", task_id=d.task_of("cid"))
    assert stranger.value.code == "not_assignee"


def test_return_from_a_countersign_node_reenters_the_previous_node() -> None:
    d = at_vote(flow())
    d.act("ann")
    d.act("bob", "return", to="previous", comment="请补充材料")
    assert d.holders() == {"lead": ["lee"]}
    assert all(t.status != "open" for t in d.s.tasks.values() if t.node == "vote")
    d.act("lee")
    # the countersign starts over: every member votes again, ann included
    assert d.holders() == {"vote": BOARD}
    for user in BOARD:
        d.act(user)
    assert d.s.status == "approved"


def test_reject_to_initiator_then_resume_jumps_back() -> None:
    doc = flow(on_reject="to_initiator", on_return="resume")
    d = at_vote(doc)
    d.act("ann", "reject")
    assert d.holders() == {"start": ["ivan"]}
    assert d.s.tasks[d.task_of("ivan")].kind == "resubmit"
    d.act("ivan", comment="已修改")
    # resume: straight back to the countersign, the lead is not asked again
    assert d.holders() == {"vote": BOARD}


def test_return_with_replay_walks_the_path_again() -> None:
    d = at_vote(flow())
    d.act("ann", "return", to="initiator")
    d.act("ivan")
    assert d.holders() == {"lead": ["lee"]}


def test_return_target_must_be_an_upstream_node_already_passed() -> None:
    d = at_vote(flow())
    with pytest.raises(FlowError) as bad:
        d.act("ann", "return", to="end")
    assert bad.value.code == "return_target"


def test_sla_timers_are_rearmed_after_a_return_and_stale_ones_ignored() -> None:
    doc = flow(sla={"due": "PT4H", "on_timeout": "reject"})
    d = at_vote(doc)
    first_timeout = d.timers("timeout")[0]
    d.act("ann", "return", to="previous")
    d.act("lee")
    second_timeout = d.timers("timeout")[0]
    assert second_timeout.payload["epoch"] != first_timeout.payload["epoch"]
    assert second_timeout.key != first_timeout.key
    before = d.s.to_json()
    d.fire(first_timeout)
    assert d.s.to_json() == before  # stale: the node was entered again since
    d.fire(second_timeout)
    assert d.s.status == "rejected"


def test_a_voter_takes_back_a_vote_while_the_countersign_is_open() -> None:
    d = at_vote(flow())
    d.act("ann")
    assert list(d.s.active["vote"].votes.values()) == ["approve"]
    d.withdraw("ann")
    assert d.s.active["vote"].votes == {}
    assert d.holders() == {"vote": BOARD}
    d.act("bob")
    with pytest.raises(FlowError) as late:
        d.withdraw("ann")
    assert late.value.code == "withdraw_not_allowed"
