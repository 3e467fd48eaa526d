"""Value expressions of flows in the store (SQLite and PostgreSQL): a node whose SLA
comes from the record's promised date, and an action node that creates a record
through the normal write path (validated, numbered, with history and rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flow_runtime_kit import APP, actor, files, holders, open_task, setup
from sqlalchemy import select

from runtime.clock import FixedClock
from runtime.context import Context
from runtime.errors import ValidationFailed
from runtime.flows import service
from runtime.records import service as records
from runtime.scheduler import tick
from runtime.store.tables import flow_instances, jobs
from runtime.store.tables import records as records_table

DELIVERY = {
    "schema_version": 1, "key": "delivery", "name": "Delivery", "form": "order",
    "start": {"on": ["created"]},
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "promise", "type": "action", "do": [
            {"kind": "create_record", "form": "promise", "values": {
                "title": 'CONCAT("交付 / deliver ", title)', "order": "id",
                "amount": "amount * 2", "due_at": "due_on", "made_by": "owner"}}]},
        {"id": "deliver", "type": "handle", "name": {"zh": "交付", "en": "Deliver"},
         "assignees": [{"kind": "user", "user": "olga"}],
         "sla": {"due_at": "due_on", "due": "P30D", "remind_before": "P1D",
                 "on_timeout": "escalate", "escalate_to": [{"kind": "role",
                                                            "role": "supervisor"}]}},
        {"id": "end", "type": "end"},
    ],
    "edges": [{"from": "start", "to": "promise"}, {"from": "promise", "to": "deliver"},
              {"from": "deliver", "to": "end"}],
}


def _files() -> dict[str, Any]:
    doc = files()
    doc["forms/order.json"] = {"schema_version": 1, "key": "order", "name": "Order", "fields": [
        {"key": "title", "type": "text", "label": "Title", "required": True},
        {"key": "amount", "type": "money", "label": "Amount", "currency": "CNY"},
        {"key": "due_on", "type": "date", "label": "Deliver by"}]}
    doc["forms/promise.json"] = {"schema_version": 1, "key": "promise", "name": "Promise",
                                 "fields": [
        {"key": "title", "type": "text", "label": "Title", "required": True},
        {"key": "order", "type": "text", "label": "Order"},
        {"key": "amount", "type": "money", "label": "Amount", "currency": "CNY", "min": 0},
        {"key": "due_at", "type": "datetime", "label": "Due"},
        {"key": "made_by", "type": "text", "label": "Made by"}]}
    doc["flows/delivery.json"] = DELIVERY
    return doc


@pytest.fixture
def app_ctx(ctx: Context) -> Context:
    setup(ctx, _files())
    return ctx


def _instance(ctx: Context, record_id: str) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(flow_instances.c.id).where(
            flow_instances.c.record_id == int(record_id))).scalar_one())


def _timers(ctx: Context) -> list[tuple[datetime, str]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(jobs.c.run_at, jobs.c.payload).where(
            jobs.c.kind == "flow.timer")).all()
    return sorted((r.run_at.replace(tzinfo=UTC) if r.run_at.tzinfo is None else r.run_at,
                   r.payload["event"]) for r in rows)


def _promises(ctx: Context) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        return [dict(r.data) | {"owner": r.owner} for r in conn.execute(
            select(records_table).where(records_table.c.form == "promise")).all()]


def test_the_sla_follows_the_promised_date_and_the_promise_is_created(
        app_ctx: Context, clock: FixedClock) -> None:
    ctx = app_ctx
    t0 = clock.now()
    due_on = (t0 + timedelta(days=10)).date()
    with ctx.engine.begin() as conn:
        order = records.create(conn, ctx, app=APP, form="order", data={
            "title": "A-1", "amount": "150.25", "due_on": due_on.isoformat()},
            actor=actor("alice"))
    instance = _instance(ctx, order["id"])
    assert holders(ctx, instance) == {"deliver": ["olga"]}

    [promise] = _promises(ctx)
    assert promise["title"] == "交付 / deliver A-1"
    assert promise["order"] == order["id"] and promise["amount"] == "300.50"
    assert promise["made_by"] == "alice"
    # a date written to a datetime field is its local midnight (the form's rule, as for
    # a rule's create_record); the SLA runs to the end of that day (Asia/Shanghai)
    midnight = datetime(due_on.year, due_on.month, due_on.day, tzinfo=UTC) - timedelta(hours=8)
    assert promise["due_at"] == midnight.strftime("%Y-%m-%dT%H:%M:%SZ")
    end_of_day = midnight + timedelta(days=1, seconds=-1)
    assert _timers(ctx) == [(end_of_day - timedelta(days=1), "remind"),
                            (end_of_day, "timeout")]

    clock.set(end_of_day + timedelta(minutes=1))
    tick(ctx, clock.now())
    assert holders(ctx, instance) == {"deliver": ["olga", "sue"]}  # escalated on the date


def test_without_a_promised_date_the_fixed_duration_applies(
        app_ctx: Context, clock: FixedClock) -> None:
    ctx = app_ctx
    t0 = clock.now()
    with ctx.engine.begin() as conn:
        order = records.create(conn, ctx, app=APP, form="order", data={"title": "A-2"},
                               actor=actor("alice"))
    assert [(at - t0, event) for at, event in _timers(ctx)] == [
        (timedelta(days=29), "remind"), (timedelta(days=30), "timeout")]
    [promise] = _promises(ctx)
    assert "due_at" not in promise or promise["due_at"] is None
    task = open_task(ctx, _instance(ctx, order["id"]), "olga", "deliver")
    with ctx.engine.begin() as conn:
        service.act(conn, ctx, task_id=task, actor=actor("olga"), action="approve")


def test_a_created_record_that_fails_validation_rolls_the_step_back(
        app_ctx: Context) -> None:
    ctx = app_ctx
    with pytest.raises(ValidationFailed) as info, ctx.engine.begin() as conn:
        records.create(conn, ctx, app=APP, form="order", data={
            "title": "A-3", "amount": "-5"}, actor=actor("alice"))  # promise amount < 0
    assert "amount" in str(info.value.details)
    assert _promises(ctx) == []
    with ctx.engine.connect() as conn:
        assert conn.execute(select(flow_instances.c.id)).all() == []
