"""The task centre: boxes (todo, done, cc, started), filters, keyset pages, and the
plain to-dos rules create (done by their assignee only)."""

from __future__ import annotations

from typing import Any

import pytest
from flow_runtime_kit import APP, actor, open_task, setup
from sqlalchemy import insert

from runtime.context import Context
from runtime.errors import BadRequest, Conflict, Forbidden
from runtime.flows import service as flows
from runtime.store.tables import tasks
from runtime.tasks import service


@pytest.fixture
def app_ctx(ctx: Context) -> Context:
    setup(ctx)
    return ctx


def _start(ctx: Context, flow: str, title: str) -> str:
    with ctx.engine.begin() as conn:
        return str(flows.start(conn, ctx, app=APP, flow=flow, actor=actor("alice"),
                               data={"title": title, "amount": "5"})["id"])


def _box(ctx: Context, user: str, **kw: Any) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        return service.list_tasks(conn, ctx, actor=actor(user), **kw)


def test_boxes_filters_and_pages(app_ctx: Context) -> None:
    ctx = app_ctx
    contracts = [_start(ctx, "contract_approval", f"合同{i}") for i in range(5)]
    signs = [_start(ctx, "sign_flow", "决议")]
    ids: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = _box(ctx, "sam", limit=2, cursor=cursor)
        ids += [t["id"] for t in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(ids) == 5 and ids == sorted(ids, key=int, reverse=True)
    assert len(_box(ctx, "sam", flow="sign_flow")["items"]) == 0
    assert len(_box(ctx, "carl", flow="sign_flow")["items"]) == 1
    assert _box(ctx, "sam", app="other")["items"] == []
    assert len(_box(ctx, "sam", form="contract", kind="approval")["items"]) == 5

    task = open_task(ctx, contracts[0], "sam")
    with ctx.engine.begin() as conn:
        flows.act(conn, ctx, task_id=task, actor=actor("sam"), action="approve")
    assert len(_box(ctx, "sam")["items"]) == 4
    done = _box(ctx, "sam", box="done")["items"]
    assert [t["id"] for t in done] == [task]
    started = _box(ctx, "alice", box="started", status="open")
    assert len(started["instances"]) == 6 and started["items"] == []
    assert signs[0] in [i["id"] for i in started["instances"]]
    with pytest.raises(BadRequest):
        _box(ctx, "sam", box="everything")
    with pytest.raises(BadRequest):
        _box(ctx, "sam", cursor="not-a-number")


def test_cc_box_and_rule_todos(app_ctx: Context) -> None:
    ctx = app_ctx
    instance = _start(ctx, "sign_flow", "抄送")
    task = open_task(ctx, instance, "carl")
    with ctx.engine.begin() as conn:
        flows.act(conn, ctx, task_id=task, actor=actor("carl"), action="cc", users=["mallory"])
    assert len(_box(ctx, "mallory", box="cc", status="open")["items"]) == 1
    assert _box(ctx, "mallory")["items"] == []  # a copy is not a to-do
    with ctx.engine.begin() as conn:
        todo = conn.execute(insert(tasks).values(
            app=APP, kind="todo", title={"zh": "跟进", "en": "Follow up"}, assignee="olga",
            status="open", data={}, created_at=ctx.clock.now(), created_by="system",
            version=1).returning(tasks.c.id)).scalar_one()
    with pytest.raises(Forbidden), ctx.engine.begin() as conn:
        service.act(conn, ctx, task_id=todo, actor=actor("mallory"), action="done")
    with ctx.engine.begin() as conn:
        out = service.act(conn, ctx, task_id=todo, actor=actor("olga"), action="done")
    assert out == {"task_id": str(todo), "instance": None}
    with pytest.raises(Conflict), ctx.engine.begin() as conn:
        service.act(conn, ctx, task_id=todo, actor=actor("olga"), action="done")
    [item] = _box(ctx, "olga", box="done")["items"]
    assert item["outcome"] == "done" and item["completed_by"] == "olga"
    with ctx.engine.connect() as conn:
        got = service.get_task(conn, ctx, task_id=todo, actor=actor("olga"))
    assert got["kind"] == "todo" and "fields" not in got
