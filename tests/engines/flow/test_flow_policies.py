"""Assignee kinds and policies: repeated approver (skip never/once/adjacent/always),
initiator as approver, no assignee (admin/skip/error), department heads N levels up,
chosen at start."""

from __future__ import annotations

import itertools
from typing import Any

from flow_testkit import Driver, FakeDirectory, build

PEOPLE = FakeDirectory(roles={"boss": ["bea"], "pair": ["bea", "pat"]},
                       heads={"ivan": "hal", "hal": "hue"})


def chain(*nodes: dict[str, Any], **policies: Any) -> dict[str, Any]:
    ids = ["start", *[n["id"] for n in nodes], "end"]
    doc: dict[str, Any] = {
        "key": "chain",
        "nodes": [{"id": "start", "type": "start"}, *nodes, {"id": "end", "type": "end"}],
        "edges": [{"from": a, "to": b} for a, b in itertools.pairwise(ids)],
    }
    if policies:
        doc["policies"] = policies
    return doc


def approval(node_id: str, *assignees: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "approval", "assignees": list(assignees), **extra}


BOSS = {"kind": "role", "role": "boss"}


def run_three(policy: str) -> Driver:
    doc = chain(approval("a", BOSS), approval("b", {"kind": "user", "user": "bob"}),
                approval("c", BOSS), approval("d", BOSS), repeated_approver=policy)
    d = Driver(build(doc), PEOPLE)
    d.start()
    d.act("bea")
    d.act("bob")
    return d


def test_repeated_approver_never_skipped() -> None:
    d = run_three("never")
    assert d.holders() == {"c": ["bea"]}


def test_repeated_approver_always_skipped() -> None:
    d = run_three("always")
    assert d.s.status == "approved"
    assert [e.detail for e in d.s.trail if e.action == "auto_approve"] == [
        {"user": "bea", "reason": "repeated"}] * 2


def test_repeated_approver_skipped_once() -> None:
    d = run_three("once")
    assert d.holders() == {"d": ["bea"]}  # c skipped, d asks again


def test_repeated_approver_adjacent_only() -> None:
    d = run_three("adjacent")
    assert d.holders() == {"c": ["bea"]}  # bob approved in between
    d.act("bea")
    assert d.s.status == "approved"  # d follows c directly


def test_approvals_undone_by_a_return_do_not_skip() -> None:
    doc = chain(approval("a", BOSS), approval("b", {"kind": "user", "user": "bob"}),
                repeated_approver="always")
    d = Driver(build(doc), PEOPLE)
    d.start()
    d.act("bea")
    d.act("bob", "return", to="a")
    assert d.holders() == {"a": ["bea"]}


def test_initiator_policies() -> None:
    me = {"kind": "initiator"}
    d = Driver(build(chain(approval("a", me), initiator_is_approver="skip")), PEOPLE)
    d.start()
    assert d.s.status == "approved"
    d = Driver(build(chain(approval("a", me), initiator_is_approver="superior")), PEOPLE)
    d.start()
    assert d.holders() == {"a": ["hal"]}
    d = Driver(build(chain(approval("a", me))), PEOPLE)
    d.start()
    assert d.holders() == {"a": ["ivan"]}


def test_department_head_levels_up() -> None:
    head2 = {"kind": "department_head", "of": "initiator", "levels": 2}
    d = Driver(build(chain(approval("a", head2))), PEOPLE)
    d.start()
    assert d.holders() == {"a": ["hue"]}


def test_no_assignee_goes_to_admin_skip_or_error() -> None:
    nobody = {"kind": "role", "role": "ghosts"}
    d = Driver(build(chain(approval("a", nobody))), PEOPLE)
    d.start()
    assert d.holders() == {"a": ["admin"]}
    d = Driver(build(chain(approval("a", nobody), no_assignee="skip")), PEOPLE)
    d.start()
    assert d.s.status == "approved"
    d = Driver(build(chain(approval("a", nobody, no_assignee="error"))), PEOPLE)
    d.start()
    assert d.s.status == "error" and d.s.error == "no_assignee"


def test_chosen_at_start_and_field_assignees() -> None:
    doc = chain(approval("a", {"kind": "chosen_at_start"}, mode="countersign"),
                approval("b", {"kind": "field", "field": "reviewers"}))
    d = Driver(build(doc), PEOPLE, record={"reviewers": ["rae", "roy"]})
    d.start(chosen={"a": ["cat", "cal"]})
    assert d.holders() == {"a": ["cal", "cat"]}
    d.act("cat")
    d.act("cal")
    assert d.holders() == {"b": ["rae", "roy"]}
