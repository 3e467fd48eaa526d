"""The complaint flow with its SLAs driven by the clock and `scheduler.tick`: assign →
contact within 30 minutes (reminder at 20, escalation to the supervisor at 30) →
solution within 24 hours → satisfaction follow-up (auto-approved after 3 days).
The flow starts from the record's `created` event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flow_runtime_kit import APP, actor, holders, instance_row, open_task, setup
from sqlalchemy import select

from runtime.clock import FixedClock
from runtime.context import Context
from runtime.errors import ValidationFailed
from runtime.flows import service
from runtime.records import service as records
from runtime.scheduler import tick
from runtime.store.tables import flow_instances, jobs, notifications


def _tick(ctx: Context, clock: FixedClock, at: Any) -> dict[str, Any]:
    clock.set(at)
    return tick(ctx, at)


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _inbox(ctx: Context, user: str) -> list[dict[str, str]]:
    with ctx.engine.connect() as conn:
        return list(conn.execute(select(notifications.c.message).where(
            notifications.c.username == user).order_by(notifications.c.id)).scalars()
            .all())


def _act(ctx: Context, instance: int, user: str, node: str, **kw: Any) -> None:
    task = open_task(ctx, instance, user, node)
    with ctx.engine.begin() as conn:
        service.act(conn, ctx, task_id=task, actor=actor(user), action="approve", **kw)


@pytest.fixture
def app_ctx(ctx: Context) -> Context:
    setup(ctx)
    return ctx


def test_complaint_sla_reminder_escalation_stale_timers_and_auto_approve(
        app_ctx: Context, clock: FixedClock) -> None:
    ctx = app_ctx
    t0 = clock.now()
    with ctx.engine.begin() as conn:
        rec = records.create(conn, ctx, app=APP, form="complaint",
                             data={"subject": "设备漏油"}, actor=actor("alice"))
    with ctx.engine.connect() as conn:
        instance = conn.execute(select(flow_instances.c.id).where(
            flow_instances.c.record_id == int(rec["id"]))).scalar_one()
    assert holders(ctx, instance) == {"assign": ["sue"]}

    task = open_task(ctx, instance, "sue")
    with pytest.raises(ValidationFailed) as missing, ctx.engine.begin() as conn:
        service.act(conn, ctx, task_id=task, actor=actor("sue"), action="approve")
    assert missing.value.code == "field_required"
    _act(ctx, instance, "sue", "assign", values={"handler": "olga"})
    with ctx.engine.connect() as conn:
        stored = records.get(conn, ctx, app=APP, form="complaint", record_id=rec["id"])
    assert stored["data"]["handler"] == "olga" and stored["version"] == 2
    assert holders(ctx, instance) == {"contact": ["olga"]}
    with ctx.engine.connect() as conn:
        due = sorted((r.run_at, r.payload["event"]) for r in conn.execute(
            select(jobs).where(jobs.c.kind == "flow.timer")).all())
    assert [(_aware(at) - t0, event) for at, event in due] == [
        (timedelta(minutes=20), "remind"), (timedelta(minutes=30), "timeout")]

    report = _tick(ctx, clock, t0 + timedelta(minutes=19))
    assert report["jobs"]["done"] == 0 and _inbox(ctx, "olga") == []
    report = _tick(ctx, clock, t0 + timedelta(minutes=20))
    assert report["jobs"] == {"done": 1, "failed": 0} and report["flows"]["timers_due"] == 1
    assert [m["en"] for m in _inbox(ctx, "olga")] == ["'Contact' is due soon"]
    _tick(ctx, clock, t0 + timedelta(minutes=30))
    assert holders(ctx, instance) == {"contact": ["olga", "sue"]}  # escalated
    assert _inbox(ctx, "sue")

    _act(ctx, instance, "sue", "contact", comment="已电话联系")
    assert holders(ctx, instance) == {"solve": ["olga"]}
    clock.advance(timedelta(hours=3))
    _act(ctx, instance, "olga", "solve", values={"solution": "更换密封圈"})
    assert holders(ctx, instance) == {"follow_up": ["quinn"]}
    before = instance_row(ctx, instance)

    _tick(ctx, clock, clock.now() + timedelta(days=1, hours=1))  # solve's timers: stale
    after = instance_row(ctx, instance)
    assert (after.version, after.state) == (before.version, before.state)

    _tick(ctx, clock, t0 + timedelta(hours=4, days=3))
    row = instance_row(ctx, instance)
    assert row.status == "approved"
    actions = [(e["node"], e["action"]) for e in row.state["trail"]]
    assert ("contact", "remind") in actions and ("contact", "timeout") in actions
    assert ("follow_up", "timeout") in actions
    with ctx.engine.connect() as conn:
        states = conn.execute(select(jobs.c.status).where(jobs.c.kind == "flow.timer")
                              ).scalars().all()
    assert set(states) == {"done"}


def test_timers_are_rearmed_after_a_return(app_ctx: Context, clock: FixedClock) -> None:
    """Returning from `solve` to `contact` enters contact again with new timers; the
    first entry's timers are stale and do nothing."""
    ctx = app_ctx
    t0 = clock.now()
    with ctx.engine.begin() as conn:
        rec = records.create(conn, ctx, app=APP, form="complaint",
                             data={"subject": "噪音", "handler": "olga"}, actor=actor("alice"))
        instance = conn.execute(select(flow_instances.c.id).where(
            flow_instances.c.record_id == int(rec["id"]))).scalar_one()
    _act(ctx, instance, "sue", "assign", values={"handler": "olga"})
    _act(ctx, instance, "olga", "contact")
    clock.advance(timedelta(minutes=5))
    task = open_task(ctx, instance, "olga", "solve")
    with ctx.engine.begin() as conn:
        service.act(conn, ctx, task_id=task, actor=actor("olga"), action="return",
                    to="contact")
    assert holders(ctx, instance) == {"contact": ["olga"]}
    _tick(ctx, clock, t0 + timedelta(minutes=31))  # first entry's timeout: stale
    assert holders(ctx, instance) == {"contact": ["olga"]}
    _tick(ctx, clock, t0 + timedelta(minutes=35))  # second entry's timeout: escalates
    assert holders(ctx, instance) == {"contact": ["olga", "sue"]}


def test_timers_run_in_a_process_that_never_installed_the_hooks(
        app_ctx: Context, clock: FixedClock) -> None:
    """A worker process knows only the engine: the timer job builds its own context."""
    from runtime.jobs.service import run_due

    ctx = app_ctx
    t0 = clock.now()
    with ctx.engine.begin() as conn:
        rec = records.create(conn, ctx, app=APP, form="complaint",
                             data={"subject": "无钩子", "handler": "olga"}, actor=actor("alice"))
        instance = conn.execute(select(flow_instances.c.id).where(
            flow_instances.c.record_id == int(rec["id"]))).scalar_one()
    _act(ctx, instance, "sue", "assign", values={"handler": "olga"})

    assert run_due(ctx, now=t0 + timedelta(minutes=30)) == {"done": 2, "failed": 0}
    assert holders(ctx, instance) == {"contact": ["olga", "sue"]}
