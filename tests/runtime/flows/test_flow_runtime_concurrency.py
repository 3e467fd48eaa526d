"""Concurrent votes on one countersign node, each thread with its own transaction
through the service: every vote counts exactly once, a lost race is a 409 that leaves
nothing behind (the voter retries), and one task clicked many times at once counts
once."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from flow_runtime_kit import APP, VOTERS, actor, instance_row, open_task, setup
from sqlalchemy import select

from runtime.context import Context
from runtime.errors import Conflict
from runtime.flows import service
from runtime.store.tables import tasks


def _run(n: int, work: Any) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def body(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # collected and asserted on below
            results[i] = exc

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.fixture
def voting(ctx: Context) -> tuple[Context, str]:
    setup(ctx)
    with ctx.engine.begin() as conn:
        out = service.start(conn, ctx, app=APP, flow="vote_flow", actor=actor("alice"),
                            data={"title": "年度预算", "amount": "1"})
    return ctx, str(out["id"])


def test_twenty_concurrent_votes_each_count_once(voting: tuple[Context, str]) -> None:
    ctx, instance = voting
    task_of = {v: open_task(ctx, instance, v) for v in VOTERS}
    busy: Counter[str] = Counter()

    def vote(i: int) -> int:
        voter = VOTERS[i]
        for attempt in range(200):
            try:
                with ctx.engine.begin() as conn:
                    service.act(conn, ctx, task_id=task_of[voter], actor=actor(voter),
                                action="approve")
                return attempt
            except Conflict as exc:
                assert exc.code == "instance_busy", exc.code
                busy[voter] += 1
        raise AssertionError(f"{voter} never got through")

    results = _run(len(VOTERS), vote)
    assert all(isinstance(r, int) for r in results), results
    row = instance_row(ctx, instance)
    assert row.status == "approved"
    assert row.version == 1 + len(VOTERS)  # one saved step per vote, none lost or doubled
    approvals = [e["actor"] for e in row.state["trail"] if e["action"] == "approve"]
    assert sorted(approvals) == VOTERS
    assert sorted(row.state["approvals"]["vote"]) == VOTERS
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(tasks.c.assignee, tasks.c.status, tasks.c.outcome).where(
            tasks.c.flow_instance_id == int(instance))).all()
    assert sorted(rows) == [(v, "done", "approved") for v in VOTERS]


def test_one_task_clicked_twenty_times_at_once_counts_once(
        voting: tuple[Context, str]) -> None:
    ctx, instance = voting
    task = open_task(ctx, instance, VOTERS[0])

    def click(_i: int) -> str:
        with ctx.engine.begin() as conn:
            service.act(conn, ctx, task_id=task, actor=actor(VOTERS[0]), action="approve")
        return "ok"

    results = _run(20, click)
    outcomes = Counter(r if isinstance(r, str) else type(r).__name__ + ":" + r.code
                       for r in results)
    assert outcomes["ok"] == 1, outcomes
    assert set(outcomes) <= {"ok", "Conflict:task_closed", "Conflict:instance_busy"}
    row = instance_row(ctx, instance)
    assert row.version == 2 and row.status == "running"
    assert [e["actor"] for e in row.state["trail"] if e["action"] == "approve"] == [VOTERS[0]]
