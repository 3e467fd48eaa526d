"""Contract approval through the service on SQLite and PostgreSQL: amount > 1,000,000
goes to the general manager after the sales director, then finance and legal
countersign. The state is read from the database at the start of every step."""

from __future__ import annotations

from typing import Any

import pytest
from flow_runtime_kit import APP, actor, holders, instance_row, open_task, setup
from sqlalchemy import select

from runtime.context import Context
from runtime.flows import service, store
from runtime.store.tables import notifications


@pytest.fixture
def app_ctx(ctx: Context) -> Context:
    setup(ctx)
    return ctx


def _start(ctx: Context, amount: str) -> str:
    with ctx.engine.begin() as conn:
        out = service.start(conn, ctx, app=APP, flow="contract_approval", actor=actor("alice"),
                            data={"title": "华东采购合同", "amount": amount})
    return str(out["id"])


def _approve(ctx: Context, instance: str, user: str, **kw: Any) -> dict[str, Any]:
    task = open_task(ctx, instance, user)
    with ctx.engine.begin() as conn:
        return service.act(conn, ctx, task_id=task, actor=actor(user), action="approve", **kw)


def test_large_contract_goes_to_the_general_manager_then_countersign(
        app_ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = app_ctx
    loads: list[int] = []
    real_load = store.load_for_task

    def counting_load(conn: Any, task_id: int) -> Any:
        found = real_load(conn, task_id)
        loads.append(found[1].id)
        return found

    monkeypatch.setattr(store, "load_for_task", counting_load)

    instance = _start(ctx, "2500000.00")
    assert holders(ctx, instance) == {"sales": ["sam"]}
    versions = [instance_row(ctx, instance).version]
    steps = [("sam", {"sales"}, {"gm": ["grace"]}), ("grace", {"gm"}, {"sign": ["fay", "leo"]}),
             ("fay", {"sign"}, {"sign": ["leo"]}), ("leo", {"sign"}, {})]
    for user, _node, expected in steps:
        before = len(loads)
        result = _approve(ctx, instance, user, comment=f"ok {user}")
        assert loads[before:] == [int(instance)]  # the state is read from the DB each step
        row = instance_row(ctx, instance)
        versions.append(row.version)
        assert result["instance"]["version"] == row.version
        assert holders(ctx, instance) == expected
    assert versions == [1, 2, 3, 4, 5]
    row = instance_row(ctx, instance)
    assert row.status == "approved" and row.finished_at is not None
    assert row.state["path"] == ["start", "sales", "gm", "sign"]
    trail = [(e["actor"], e["action"], e["comment"]) for e in row.state["trail"]]
    assert ("grace", "approve", "ok grace") in trail and trail[-1][1] == "finish"
    with ctx.engine.connect() as conn:
        view = service.get_instance(conn, ctx, instance_id=instance, actor=actor("alice"))
        inbox = conn.execute(select(notifications.c.username, notifications.c.message)
                             .where(notifications.c.username == "alice")).all()
    assert [t["outcome"] for t in view["tasks"]] == ["approved"] * 4
    assert all(t["status"] == "done" and t["completed_by"] == t["assignee"]
               for t in view["tasks"])
    assert inbox and inbox[0].message["zh"] == "合同 华东采购合同 已批准"


def test_small_contract_skips_the_general_manager(app_ctx: Context) -> None:
    ctx = app_ctx
    instance = _start(ctx, "80000")
    _approve(ctx, instance, "sam")
    assert holders(ctx, instance) == {"sign": ["fay", "leo"]}
    with ctx.engine.connect() as conn:
        view = service.get_instance(conn, ctx, instance_id=instance, actor=actor("fay"))
    active = {n["id"] for n in view["graph"]["nodes"] if n["active"]}
    assert active == {"sign"} and view["current_nodes"] == ["sign"]
    _approve(ctx, instance, "leo")
    _approve(ctx, instance, "fay")
    row = instance_row(ctx, instance)
    assert row.status == "approved" and "gm" not in row.state["path"]


def test_a_countersign_rejection_rejects_and_cancels_the_other_task(app_ctx: Context) -> None:
    ctx = app_ctx
    instance = _start(ctx, "80000")
    _approve(ctx, instance, "sam")
    task = open_task(ctx, instance, "leo")
    with ctx.engine.begin() as conn:
        service.act(conn, ctx, task_id=task, actor=actor("leo"), action="reject",
                    comment="违约条款不可接受")
    row = instance_row(ctx, instance)
    assert row.status == "rejected"
    assert holders(ctx, instance) == {}
    with ctx.engine.connect() as conn:
        view = service.get_instance(conn, ctx, instance_id=instance, actor=actor("alice"))
    by_user = {t["assignee"]: (t["status"], t["outcome"]) for t in view["tasks"]}
    assert by_user == {"sam": ("done", "approved"), "leo": ("done", "rejected"),
                       "fay": ("cancelled", "cancelled")}
