"""How flows start besides the API: record events (created, and updated when `when`
becomes true), the rule runtime's StartFlow effect; and how a published new version
leaves running instances on theirs."""

from __future__ import annotations

from typing import Any

import pytest
from flow_runtime_kit import APP, actor, files, holders, instance_row, open_task, setup
from sqlalchemy import func, select

from builder.bundle import parse_files
from engines.effects import StartFlow
from runtime.apps import service as apps_service
from runtime.auth.models import SYSTEM
from runtime.context import Context
from runtime.flows import service
from runtime.records import service as records
from runtime.store.tables import flow_instances


def _with_big_deal() -> dict[str, Any]:
    doc = files()
    doc["flows/big_deal.json"] = {
        "schema_version": 1, "key": "big_deal", "name": "Big deal", "form": "contract",
        "start": {"on": ["updated"], "when": "amount > 5000"},
        "nodes": [{"id": "start", "type": "start"},
                  {"id": "gm", "type": "approval", "assignees": [{"kind": "role", "role": "gm"}]},
                  {"id": "end", "type": "end"}],
        "edges": [{"from": "start", "to": "gm"}, {"from": "gm", "to": "end"}]}
    return doc


def _count(ctx: Context, flow: str) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(flow_instances).where(
            flow_instances.c.flow == flow)).scalar_one())


def _patch(ctx: Context, record_id: str, **values: Any) -> None:
    with ctx.engine.begin() as conn:
        records.update_record(conn, ctx, app=APP, form="contract", record_id=record_id,
                              patch=values, actor=actor("alice"))


def test_updated_trigger_starts_when_the_condition_becomes_true(ctx: Context) -> None:
    setup(ctx, _with_big_deal())
    with ctx.engine.begin() as conn:
        rec = records.create(conn, ctx, app=APP, form="contract",
                             data={"title": "小单", "amount": "10"}, actor=actor("alice"))
    rid = rec["id"]
    _patch(ctx, rid, note="no change to the amount")
    assert _count(ctx, "big_deal") == 0
    _patch(ctx, rid, amount="6000")
    assert _count(ctx, "big_deal") == 1
    _patch(ctx, rid, note="still big, already running")
    assert _count(ctx, "big_deal") == 1
    with ctx.engine.connect() as conn:
        instance = conn.execute(select(flow_instances.c.id).where(
            flow_instances.c.flow == "big_deal")).scalar_one()
    row = instance_row(ctx, instance)
    assert row.started_by == "alice" and row.state["initiator"] == "alice"
    task = open_task(ctx, instance, "grace")
    with ctx.engine.begin() as conn:
        service.act(conn, ctx, task_id=task, actor=actor("grace"), action="approve")
    _patch(ctx, rid, amount="7000")  # the condition held before: no new start
    assert _count(ctx, "big_deal") == 1
    _patch(ctx, rid, amount="10")
    _patch(ctx, rid, amount="9000")  # false → true again: a new approval
    assert _count(ctx, "big_deal") == 2


def test_a_rule_start_flow_effect_starts_the_flow_once(ctx: Context) -> None:
    from runtime.effects import apply_effects

    setup(ctx)
    with ctx.engine.begin() as conn:
        rec = records.create(conn, ctx, app=APP, form="contract",
                             data={"title": "规则发起", "amount": "20"}, actor=actor("alice"))
        for _ in range(2):
            apply_effects(conn, ctx, [StartFlow(flow="sign_flow")], app=APP,
                          origin_form="contract", origin_record_id=rec["id"],
                          actor=actor("alice"), source="rule:test")
        started = service.start_flow(conn, ctx, APP, "sign_flow", rec["id"], actor("alice"))
    assert started is None  # already running on this record
    assert _count(ctx, "sign_flow") == 1


def test_an_instance_stays_on_its_flow_version_after_a_new_publish(ctx: Context) -> None:
    setup(ctx)
    with ctx.engine.begin() as conn:
        old = service.start(conn, ctx, app=APP, flow="contract_approval",
                            actor=actor("alice"), data={"title": "旧版", "amount": "100"})
    doc = files(version="1.1.0")
    sign = next(n for n in doc["flows/contract_approval.json"]["nodes"] if n["id"] == "sign")
    sign["assignees"] = [{"kind": "role", "role": "finance"}]  # legal no longer signs
    with ctx.engine.begin() as conn:
        assert apps_service.install(conn, ctx, parse_files(doc), actor=SYSTEM) == 2
        new = service.start(conn, ctx, app=APP, flow="contract_approval",
                            actor=actor("alice"), data={"title": "新版", "amount": "100"})
    for instance in (old["id"], new["id"]):
        task = open_task(ctx, instance, "sam")
        with ctx.engine.begin() as conn:
            service.act(conn, ctx, task_id=task, actor=actor("sam"), action="approve")
    assert instance_row(ctx, old["id"]).app_version == 1
    assert instance_row(ctx, new["id"]).app_version == 2
    assert holders(ctx, old["id"]) == {"sign": ["fay", "leo"]}
    assert holders(ctx, new["id"]) == {"sign": ["fay"]}


def test_a_manual_start_of_a_running_flow_or_an_event_only_flow_is_409(ctx: Context) -> None:
    from runtime.errors import Conflict

    setup(ctx, _with_big_deal())
    with ctx.engine.begin() as conn:
        out = service.start(conn, ctx, app=APP, flow="sign_flow", actor=actor("alice"),
                            data={"title": "一次", "amount": "1"})
    with pytest.raises(Conflict) as twice, ctx.engine.begin() as conn:
        service.start(conn, ctx, app=APP, flow="sign_flow", actor=actor("alice"),
                      record_id=out["record_id"])
    assert twice.value.code == "flow_running"
    with pytest.raises(Conflict) as manual, ctx.engine.begin() as conn:
        service.start(conn, ctx, app=APP, flow="big_deal", actor=actor("alice"),
                      record_id=out["record_id"])
    assert manual.value.code == "manual_start_not_allowed"
