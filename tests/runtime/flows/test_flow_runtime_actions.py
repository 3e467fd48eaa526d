"""Task actions through the service: return from a countersign node, add a signer then
reject, withdraw, transfer, carbon copy and read, urge — and refused actions (someone
else's task: 403, a closed or waiting task: 409) that change nothing at all."""

from __future__ import annotations

from typing import Any

import pytest
from flow_runtime_kit import APP, actor, holders, instance_row, open_task, setup, snapshot
from sqlalchemy import select

from runtime.context import Context
from runtime.errors import Conflict, Forbidden, LoomError
from runtime.flows import service
from runtime.store.tables import notifications, tasks


@pytest.fixture
def app_ctx(ctx: Context) -> Context:
    setup(ctx)
    return ctx


def _start(ctx: Context, flow: str = "sign_flow") -> str:
    with ctx.engine.begin() as conn:
        out = service.start(conn, ctx, app=APP, flow=flow, actor=actor("alice"),
                            data={"title": "董事会决议", "amount": "10"})
    return str(out["id"])


def _act(ctx: Context, instance: str, user: str, action: str = "approve",
         node: str | None = None, *, as_user: str | None = None, **kw: Any) -> dict[str, Any]:
    task = open_task(ctx, instance, user, node)
    with ctx.engine.begin() as conn:
        return service.act(conn, ctx, task_id=task, actor=actor(as_user or user),
                           action=action, **kw)


def _refused(ctx: Context, error: type[LoomError], task: str, user: str,
             action: str = "approve") -> LoomError:
    with pytest.raises(error) as refused, ctx.engine.begin() as conn:
        service.act(conn, ctx, task_id=task, actor=actor(user), action=action)
    return refused.value


def test_return_from_the_countersign_node_and_resume(app_ctx: Context) -> None:
    ctx = app_ctx
    instance = _start(ctx)
    _act(ctx, instance, "carl")
    assert holders(ctx, instance) == {"board": ["ann", "ben"]}
    _act(ctx, instance, "ann", "return", to="previous", comment="补充材料")
    assert holders(ctx, instance) == {"draft": ["carl"]}
    with ctx.engine.connect() as conn:
        board = conn.execute(select(tasks.c.assignee, tasks.c.status, tasks.c.outcome).where(
            tasks.c.flow_instance_id == int(instance), tasks.c.node_id == "board")).all()
    assert sorted(board) == [("ann", "done", "returned"), ("ben", "cancelled", "returned")]
    _act(ctx, instance, "carl")
    assert holders(ctx, instance) == {"board": ["ann", "ben"]}  # fresh tasks, fresh votes
    _act(ctx, instance, "ben")
    assert instance_row(ctx, instance).status == "running"
    _act(ctx, instance, "ann")
    assert instance_row(ctx, instance).status == "approved"


def test_add_signer_then_reject(app_ctx: Context) -> None:
    ctx = app_ctx
    instance = _start(ctx)
    _act(ctx, instance, "carl")
    ann_task = open_task(ctx, instance, "ann")
    _act(ctx, instance, "ann", "add_signer", users=["dora"], position="before")
    assert holders(ctx, instance) == {"board": ["ben", "dora"]}
    before = snapshot(ctx, instance)
    assert _refused(ctx, Conflict, ann_task, "ann").code == "task_waiting"
    assert snapshot(ctx, instance) == before
    _act(ctx, instance, "dora", "reject", comment="风险太高")
    row = instance_row(ctx, instance)
    assert row.status == "rejected"
    assert holders(ctx, instance) == {}
    with ctx.engine.connect() as conn:
        statuses = dict(conn.execute(select(tasks.c.assignee, tasks.c.status).where(
            tasks.c.flow_instance_id == int(instance), tasks.c.node_id == "board")).all())
    assert statuses == {"ann": "cancelled", "ben": "cancelled", "dora": "done"}


def test_withdraw_by_the_initiator_and_by_the_last_approver(app_ctx: Context) -> None:
    ctx = app_ctx
    first = _start(ctx)
    with ctx.engine.begin() as conn:
        out = service.withdraw(conn, ctx, instance_id=first, actor=actor("alice"))
    assert out["status"] == "withdrawn" and holders(ctx, first) == {}

    second = _start(ctx)
    _act(ctx, second, "carl")
    before = snapshot(ctx, second)
    with pytest.raises(Conflict) as late, ctx.engine.begin() as conn:
        service.withdraw(conn, ctx, instance_id=second, actor=actor("alice"))
    assert late.value.code == "withdraw_not_allowed" and snapshot(ctx, second) == before
    with ctx.engine.begin() as conn:  # carl takes his approval back before the board acts
        service.withdraw(conn, ctx, instance_id=second, actor=actor("carl"), comment="撤回")
    assert holders(ctx, second) == {"draft": ["carl"]}
    with ctx.engine.connect() as conn:
        board = conn.execute(select(tasks.c.status).where(
            tasks.c.flow_instance_id == int(second), tasks.c.node_id == "board")
        ).scalars().all()
    assert sorted(board) == ["cancelled", "cancelled"]


def test_someone_elses_task_is_403_and_a_closed_task_409_changing_nothing(
        app_ctx: Context) -> None:
    ctx = app_ctx
    instance = _start(ctx)
    task = open_task(ctx, instance, "carl")
    before = snapshot(ctx, instance)
    error = _refused(ctx, Forbidden, task, "mallory")
    assert error.status == 403 and error.code == "not_assignee"
    assert snapshot(ctx, instance) == before
    _act(ctx, instance, "carl")
    after_approval = snapshot(ctx, instance)
    error = _refused(ctx, Conflict, task, "carl")
    assert error.status == 409 and error.code == "task_closed"
    error = _refused(ctx, Conflict, task, "carl", "reject")
    assert snapshot(ctx, instance) == after_approval


def test_transfer_cc_read_and_urge(app_ctx: Context) -> None:
    ctx = app_ctx
    instance = _start(ctx)
    _act(ctx, instance, "carl", "cc", users=["mallory"], comment="请知悉")
    _act(ctx, instance, "carl")
    _act(ctx, instance, "ann", "transfer", users=["dora"])
    assert holders(ctx, instance) == {"board": ["ben", "dora"]}
    urge_task = open_task(ctx, instance, "ben")
    with ctx.engine.begin() as conn:  # the initiator urges from any task of the instance
        service.act(conn, ctx, task_id=urge_task, actor=actor("alice"), action="urge")
    with ctx.engine.connect() as conn:
        urged = set(conn.execute(select(notifications.c.username).where(
            notifications.c.message["en"].as_string().like("%asks you%"))).scalars())
        cc = conn.execute(select(tasks).where(tasks.c.kind == "cc")).one()
    assert urged == {"ben", "dora"}
    assert (cc.assignee, cc.status, cc.read_at) == ("mallory", "open", None)
    with ctx.engine.begin() as conn:
        service.act(conn, ctx, task_id=cc.id, actor=actor("mallory"), action="read")
    row = instance_row(ctx, instance)
    assert [c["read_at"] is not None for c in row.state["cc"]] == [True]
    with ctx.engine.connect() as conn:
        cc = conn.execute(select(tasks).where(tasks.c.kind == "cc")).one()
        view = service.get_instance(conn, ctx, instance_id=instance, actor=actor("mallory"))
    assert cc.status == "done" and cc.read_at is not None
    assert [e["action"] for e in view["trail"]].count("transfer") == 1
    with pytest.raises(Forbidden), ctx.engine.connect() as conn:
        service.get_instance(conn, ctx, instance_id=instance, actor=actor("quinn"))
