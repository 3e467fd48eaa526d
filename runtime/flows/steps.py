"""One flow step in the store: load an instance with its flow version and record, run
an engine call, then save the state (optimistic lock), mirror the tasks and apply the
effects — all in the caller's transaction, so a step is stored whole or not at all.

The state is read from the database at the start of every step and written at its end;
nothing of an instance is kept in memory between steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from engines.expr import UserInfo
from engines.flow import CompiledFlow, FlowEffect, FlowEngine, FlowError, InstanceState
from runtime.apps.registry import CompiledApp
from runtime.auth.models import Actor
from runtime.errors import not_found
from runtime.expr.env import SqlEnv
from runtime.flows import store
from runtime.flows.compiled import bound_env, flow_for, record_values
from runtime.flows.directory import AppCalendar, StoreDirectory, WeekdayCalendar
from runtime.flows.effects import StepScope, apply
from runtime.flows.errors import domain_error
from runtime.store.tables import records

if TYPE_CHECKING:
    from runtime.context import Context

EngineCall = Callable[[FlowEngine], tuple[InstanceState, list[FlowEffect]]]


@dataclass
class Step:
    """What one engine call on one instance needs, freshly loaded."""

    capp: CompiledApp
    flow: CompiledFlow
    instance: store.Instance
    record: dict[str, Any]


def load_record(conn: Connection, ctx: Context, capp: CompiledApp, form: str,
                record_id: int | None, *, live: bool = False) -> dict[str, Any]:
    """The record as expression values ({} without a record). A record deleted while
    its flow runs still feeds the flow; only a new start needs a live one."""
    if record_id is None:
        return {}
    stmt = select(records).where(records.c.id == record_id, records.c.app == capp.key,
                                 records.c.form == form)
    if live:
        stmt = stmt.where(records.c.deleted_at.is_(None))
    row = conn.execute(stmt).first()
    if row is None:
        raise not_found("记录", "Record", record_id)
    return record_values(capp.form(form), row)


def load_step(conn: Connection, ctx: Context, instance_id: int) -> Step:
    instance, record = store.load_with_record(conn, instance_id)
    return step_of(conn, ctx, instance, record)


def step_of(conn: Connection, ctx: Context, instance: store.Instance, record: Any) -> Step:
    """A step from a loaded instance and its record row (None: no record)."""
    capp = ctx.apps.at(conn, instance.app, instance.app_version)
    flow = flow_for(capp, instance.flow)
    values = {} if record is None else record_values(capp.form(flow.form), record)
    return Step(capp, flow, instance, values)


def step_env(conn: Connection, ctx: Context, capp: CompiledApp, actor: Actor | None,
             now: datetime) -> SqlEnv:
    user = None if actor is None else UserInfo(username=actor.username,
                                                department=actor.department,
                                                roles=tuple(actor.roles))
    return SqlEnv(conn, app=capp.key, now=now, forms=capp.expr_forms, tz=ctx.tz, user=user,
                  calendar=capp.calendar)


def run_engine(conn: Connection, ctx: Context, capp: CompiledApp, flow: CompiledFlow,
               actor: Actor | None, now: datetime, call: EngineCall
               ) -> tuple[InstanceState, list[FlowEffect]]:
    """Run one engine call with the store's directory, calendar and environment;
    the engine's domain errors become the API's."""
    env = step_env(conn, ctx, capp, actor, now)
    directory = StoreDirectory(conn, scope=capp.form(flow.form).scope, env=env)
    engine = FlowEngine(directory, WeekdayCalendar(ctx.tz) if capp.calendar is None
                        else AppCalendar(capp.calendar, ctx.tz))
    try:
        with bound_env(env):
            return call(engine)
    except FlowError as error:
        raise domain_error(error) from None


def commit(conn: Connection, ctx: Context, *, app: str, flow: CompiledFlow, app_version: int,
           instance_id: int, version: int, record_id: int | None,
           record: Mapping[str, Any], before: InstanceState | None, after: InstanceState,
           effects: list[FlowEffect], actor: Actor, now: datetime, depth: int) -> int:
    """Save the state, mirror its tasks and apply its effects; the new row version."""
    new_version = store.save(conn, instance_id=instance_id, version=version, state=after,
                             now=now)
    store.sync_tasks(conn, instance=instance_id, app=app, flow=flow, record_id=record_id,
                     before=before, after=after, actor=actor.username, now=now)
    if effects:
        scope = StepScope(app=app, flow=flow.key, form=flow.form, instance_id=instance_id,
                          record_id=record_id, record=record, actor=actor, depth=depth,
                          app_version=app_version, initiator=after.initiator)
        apply(conn, ctx, effects, scope)
    return new_version


def advance(conn: Connection, ctx: Context, step: Step, *, actor: Actor, now: datetime,
            depth: int, call: EngineCall) -> tuple[InstanceState, int]:
    """Run `call` on a loaded step and store its outcome; (new state, new version)."""
    inst = step.instance
    after, effects = run_engine(conn, ctx, step.capp, step.flow, actor, now, call)
    if after is inst.state and not effects:
        return after, inst.version  # nothing happened (a stale timer)
    version = commit(conn, ctx, app=inst.app, flow=step.flow, app_version=inst.app_version,
                     instance_id=inst.id, version=inst.version, record_id=inst.record_id,
                     record=step.record, before=inst.state, after=after, effects=effects,
                     actor=actor, now=now, depth=depth)
    return after, version
