"""Wiring flows into the runtime: record events start flows, timers run as jobs, and
the rule runtime's `StartFlow` effect starts flows.

`install_flow_hooks(ctx)` (called once by the app factory, the worker and the CLI):
- adds `on_write` to `ctx.hooks.after_write`: a `created` / `updated` record event
  starts each flow of that form whose `start.on` lists the event and whose `when`
  holds. On `updated` the start is edge-triggered — `when` must hold now and not have
  held before — so editing a record does not start the same approval again and again;
  and a flow never runs twice at once on one record;
- registers a scheduler tick for `loom scheduler tick` (the `flow.timer` job handler
  gets the context from the job runner);
- registers the `StartFlow` handler in the shared effect registry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from engines.effects import StartFlow
from engines.flow import FlowEngine
from runtime.auth.models import SYSTEM
from runtime.context import Context
from runtime.flows import service
from runtime.flows.compiled import flow_for
from runtime.flows.steps import advance, load_step
from runtime.hooks import WriteEvent
from runtime.jobs.service import handler
from runtime.scheduler import TICKS
from runtime.store.tables import jobs

log = logging.getLogger("loom.flows")

TIMER_KIND = "flow.timer"


def install_flow_hooks(ctx: Context) -> None:
    """Wire flows into `ctx` (idempotent)."""
    if on_write not in ctx.hooks.after_write:
        ctx.hooks.after_write.append(on_write)
    TICKS.setdefault("flows", flow_tick)
    from runtime.effects.registry import EFFECT_HANDLERS

    EFFECT_HANDLERS[StartFlow] = start_flow_effect


def _values(capp: Any, form: str, data: Mapping[str, Any] | None,
            record_id: str) -> dict[str, Any]:
    from runtime.flows.compiled import _native

    cform = capp.form(form)
    values = {plan.key: _native(plan, (data or {}).get(plan.key)) for plan in cform.plans}
    values["id"] = record_id
    return values


def on_write(conn: Connection, ctx: Context, event: WriteEvent) -> None:
    """Start the flows a record event triggers (inside the write's transaction)."""
    if event.action not in ("created", "updated"):
        return
    capp = ctx.apps.current(conn, event.app)
    keys = [key for key, spec in capp.bundle.of("flows").items()
            if getattr(spec, "form", None) == event.form
            and event.action in getattr(getattr(spec, "start", None), "on", ())]
    if not keys:
        return
    new = _values(capp, event.form, event.new, event.record_id)
    old = None if event.old is None else _values(capp, event.form, event.old,
                                                 event.record_id)
    for key in keys:
        flow = flow_for(capp, key)
        with _env_for(conn, ctx, capp, event):
            wanted = flow.should_start(event.action, new) and (
                event.action == "created" or flow.start_condition is None or old is None
                or not flow.start_condition(old))
        if wanted:
            service.start_flow(conn, ctx, event.app, key, event.record_id, event.actor,
                               depth=event.depth + 1)


def _env_for(conn: Connection, ctx: Context, capp: Any, event: WriteEvent) -> Any:
    from runtime.flows.compiled import bound_env
    from runtime.flows.steps import step_env

    return bound_env(step_env(conn, ctx, capp, event.actor, ctx.clock.now()))


def start_flow_effect(conn: Connection, ctx: Context, effect: StartFlow,
                      scope: Any) -> dict[str, Any]:
    """The shared effect registry's `StartFlow`: a rule starts a flow on a record."""
    record_id = effect.record_id or scope.origin_record_id
    if record_id is None:
        return {"started": None, "reason": "no record"}
    started = service.start_flow(conn, ctx, scope.app, effect.flow, record_id, scope.actor,
                                 depth=scope.depth + 1)
    return {"started": started, "flow": effect.flow}


def run_timer(conn: Connection, ctx: Context, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A timer came due: the engine decides what it means now (stale ones do nothing)."""
    step = load_step(conn, ctx, int(payload["instance"]))
    now = ctx.clock.now()

    def call(engine: FlowEngine) -> Any:
        return engine.on_timer(step.flow, step.instance.state, payload, now=now,
                               record=step.record)

    state, version = advance(conn, ctx, step, actor=SYSTEM, now=now, depth=0, call=call)
    return {"status": state.status, "version": version}


@handler(TIMER_KIND)
def flow_timer_job(ctx: Context, payload: Mapping[str, Any], now: datetime) -> None:
    install_flow_hooks(ctx)  # idempotent: the step's effects may start flows
    with ctx.engine.begin() as conn:
        run_timer(conn, ctx, payload)


def flow_tick(ctx: Context, at: datetime) -> dict[str, Any]:
    """`loom scheduler tick`: flow timers are jobs, run by the tick's job pass right
    after this; here the context is registered and the due timers counted."""
    install_flow_hooks(ctx)
    with ctx.engine.connect() as conn:
        due = conn.execute(select(func.count()).select_from(jobs).where(
            jobs.c.kind == TIMER_KIND, jobs.c.status == "queued", jobs.c.run_at <= at)
        ).scalar_one()
    return {"timers_due": int(due)}
