"""Effects of flow steps in the store: messages (inbox rows now, a `notify.send` job per
other channel), and a sub-flow whose end wakes its waiting parent."""

from __future__ import annotations

from typing import Any

from flow_runtime_kit import APP, actor, files, holders, instance_row, open_task, setup
from sqlalchemy import select

from engines.effects import Notify, Recipient
from runtime.context import Context
from runtime.flows import service
from runtime.flows.effects import StepScope, apply
from runtime.store.tables import flow_instances, jobs, notifications


def test_notify_writes_inbox_rows_and_enqueues_other_channels(ctx: Context) -> None:
    setup(ctx)
    scope = StepScope(app=APP, flow="contract_approval", form="contract", instance_id=1,
                      record_id=7, record={"title": "甲方合同"}, actor=actor("alice"), depth=0)
    effect = Notify(to=(Recipient("user", "sam"), Recipient("user", "fay")),
                    message={"zh": "请审批 {title}", "en": "Please approve {title}"},
                    channels=("inbox", "email"))
    with ctx.engine.begin() as conn:
        apply(conn, ctx, [effect], scope)
    with ctx.engine.connect() as conn:
        inbox = conn.execute(select(notifications.c.username, notifications.c.message,
                                    notifications.c.record_id)).all()
        [job] = conn.execute(select(jobs).where(jobs.c.kind == "notify.send")).all()
    assert sorted(r.username for r in inbox) == ["fay", "sam"]
    assert inbox[0].message == {"zh": "请审批 甲方合同", "en": "Please approve 甲方合同"}
    assert inbox[0].record_id == 7
    payload: dict[str, Any] = job.payload
    assert payload["channels"] == ["email"] and payload["channel"] == "email"
    assert payload["usernames"] == ["sam", "fay"]
    assert payload["to"] == [{"kind": "user", "value": "sam"}, {"kind": "user", "value": "fay"}]
    assert payload["message"]["en"] == "Please approve 甲方合同"
    assert (payload["app"], payload["form"], payload["record_id"]) == (APP, "contract", "7")


def test_a_subflow_runs_on_the_same_record_and_wakes_its_parent(ctx: Context) -> None:
    doc = files()
    doc["flows/parent_flow.json"] = {
        "schema_version": 1, "key": "parent_flow", "name": "Parent", "form": "contract",
        "nodes": [{"id": "start", "type": "start"},
                  {"id": "board", "type": "subflow", "flow": "sign_flow"},
                  {"id": "gm", "type": "approval",
                   "assignees": [{"kind": "user", "user": "grace"}]},
                  {"id": "end", "type": "end"}],
        "edges": [{"from": "start", "to": "board"}, {"from": "board", "to": "gm"},
                  {"from": "gm", "to": "end"}]}
    setup(ctx, doc)
    with ctx.engine.begin() as conn:
        parent = service.start(conn, ctx, app=APP, flow="parent_flow", actor=actor("alice"),
                               data={"title": "子流程", "amount": "3"})
    assert parent["current_nodes"] == ["board"]
    with ctx.engine.connect() as conn:
        child = conn.execute(select(flow_instances.c.id).where(
            flow_instances.c.flow == "sign_flow")).scalar_one()
    child_row = instance_row(ctx, child)
    assert str(child_row.record_id) == parent["record_id"]
    assert child_row.state["initiator"] == "alice"
    for user in ("carl", "ann", "ben"):
        task = open_task(ctx, child, user)
        with ctx.engine.begin() as conn:
            service.act(conn, ctx, task_id=task, actor=actor(user), action="approve")
    assert instance_row(ctx, child).status == "approved"
    assert holders(ctx, parent["id"]) == {"gm": ["grace"]}
