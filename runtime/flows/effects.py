"""Apply what a flow step returned, inside the step's transaction.

Task rows are not made from `CreateTask`/`CloseTasks` here: `store.sync_tasks` derives
them from the state itself (which also sees tasks that wait for added signers and
reopen, which no effect announces). Everything else:

- `Notify` → one inbox row per user now; one `notify.send` job per other channel
  (run after commit by the notifications runtime);
- `ScheduleAt` → a job at `at` with its dedupe key (SLA reminders, timeouts, timers);
- `SetFields` → `runtime.records.service.update_record` (validated, with history and
  hooks; the cascade depth grows by one);
- `StartFlow` / `StartSubflow` → a new instance in the same transaction;
- `FlowFinished` → wakes a waiting parent instance, then goes to the shared effect
  registry if a handler is registered there (rules reacting to flow events);
- anything else (webhooks, records) → the shared applier `runtime.effects`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert

from engines.effects import CreateTask, Notify, ScheduleAt, SetFields, StartFlow
from engines.flow import CloseTasks, FlowEffect, FlowFinished, StartSubflow
from runtime.auth.models import Actor
from runtime.jobs.service import enqueue
from runtime.store.tables import notifications

if TYPE_CHECKING:
    from runtime.context import Context

NOTIFY_SEND = "notify.send"
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@dataclass(frozen=True)
class StepScope:
    """Where a step's effects come from."""

    app: str
    flow: str
    form: str
    instance_id: int
    record_id: int | None
    record: Mapping[str, Any]
    actor: Actor
    depth: int
    app_version: int = 0
    initiator: str = ""


def render(text: str, record: Mapping[str, Any]) -> str:
    """`{field}` placeholders of a message filled from the record (unknown ones stay)."""
    def value(match: re.Match[str]) -> str:
        found = record.get(match.group(1))
        return match.group(0) if found is None else str(found)
    return _PLACEHOLDER.sub(value, text)


def apply(conn: Connection, ctx: Context, effects: Sequence[FlowEffect],
          scope: StepScope) -> None:
    for effect in effects:
        if isinstance(effect, CreateTask | CloseTasks):
            continue  # mirrored from the state by store.sync_tasks
        handler = _HANDLERS.get(type(effect))
        if handler is not None:
            handler(conn, ctx, effect, scope)
        else:
            _shared(conn, ctx, effect, scope)


def _usernames(effect: Notify) -> list[str]:
    return list(dict.fromkeys(r.value for r in effect.to if r.kind == "user" and r.value))


def _notify(conn: Connection, ctx: Context, effect: Notify, scope: StepScope) -> None:
    users = _usernames(effect)
    others = [r for r in effect.to if r.kind != "user"]
    if others:  # the engine resolves people itself; other kinds go to the shared applier
        _shared(conn, ctx, Notify(to=tuple(others), message=effect.message,
                                  channels=effect.channels, subject=effect.subject,
                                  record_id=effect.record_id, form=effect.form), scope)
    if not users:
        return
    now = ctx.clock.now()
    message = {lang: render(text, scope.record) for lang, text in effect.message.items()}
    subject = dict(effect.subject) if effect.subject else None
    if "inbox" in effect.channels:
        conn.execute(insert(notifications), [
            {"username": u, "app": scope.app, "subject": subject, "message": message,
             "form": scope.form, "record_id": scope.record_id, "created_at": now,
             "read_at": None, "dedupe_key": None} for u in users])
    for channel in effect.channels:
        if channel == "inbox":
            continue
        enqueue(conn, kind=NOTIFY_SEND, now=now, payload={
            "channel": channel, "channels": [channel], "usernames": users,
            "to": [{"kind": "user", "value": u} for u in users], "message": message,
            "subject": subject, "app": scope.app, "form": scope.form,
            "record_id": None if scope.record_id is None else str(scope.record_id),
            "initiator": scope.actor.username, "rule": f"flow:{scope.flow}", "key": None})


def _schedule(conn: Connection, ctx: Context, effect: ScheduleAt, scope: StepScope) -> None:
    payload = {**effect.payload, "app": scope.app}
    enqueue(conn, kind=effect.kind, payload=payload, now=ctx.clock.now(), run_at=effect.at,
            dedupe_key=effect.key)


def _set_fields(conn: Connection, ctx: Context, effect: SetFields, scope: StepScope) -> None:
    from runtime.records.service import update_record

    record_id = effect.record_id or (None if scope.record_id is None else str(scope.record_id))
    if record_id is None or not effect.values:
        return
    update_record(conn, ctx, app=scope.app, form=effect.form or scope.form,
                  record_id=record_id, patch=dict(effect.values), actor=scope.actor,
                  depth=scope.depth + 1)


def _start_flow(conn: Connection, ctx: Context, effect: StartFlow, scope: StepScope) -> None:
    from runtime.flows.service import start_flow

    record_id = effect.record_id or (None if scope.record_id is None else str(scope.record_id))
    if record_id is not None:
        start_flow(conn, ctx, scope.app, effect.flow, record_id, scope.actor,
                   depth=scope.depth + 1)


def _start_subflow(conn: Connection, ctx: Context, effect: StartSubflow,
                   scope: StepScope) -> None:
    from runtime.flows.service import start_subflow

    start_subflow(conn, ctx, scope, effect)


def _finished(conn: Connection, ctx: Context, effect: FlowFinished, scope: StepScope) -> None:
    from runtime.flows.service import wake_parent

    wake_parent(conn, ctx, scope, effect)
    _flow_rules(conn, ctx, effect, scope)
    from runtime.effects.registry import EFFECT_HANDLERS

    if FlowFinished in EFFECT_HANDLERS:
        _shared(conn, ctx, effect, scope)


def _flow_rules(conn: Connection, ctx: Context, effect: FlowFinished,
                scope: StepScope) -> None:
    """Rules with a `flow` trigger hear how the instance ended (its result, e.g.
    `approved`, then `completed`)."""
    record_id = effect.record_id or (None if scope.record_id is None else str(scope.record_id))
    if record_id is None or scope.form is None:
        return
    from runtime.rules import run_flow_rules

    for event in (effect.result, "completed"):
        run_flow_rules(conn, ctx, app=scope.app, flow=effect.flow, event=event,
                       form=scope.form, record_id=record_id, actor=scope.actor,
                       depth=scope.depth + 1)


def _shared(conn: Connection, ctx: Context, effect: Any, scope: StepScope) -> None:
    from runtime.effects import apply_effects

    apply_effects(conn, ctx, [effect], app=scope.app, origin_form=scope.form,
                  origin_record_id=None if scope.record_id is None else str(scope.record_id),
                  actor=scope.actor, depth=scope.depth + 1, source=f"flow:{scope.flow}")


_Handler = Callable[[Connection, "Context", Any, StepScope], None]
_HANDLERS: dict[type, _Handler] = {
    Notify: _notify, ScheduleAt: _schedule, SetFields: _set_fields, StartFlow: _start_flow,
    StartSubflow: _start_subflow, FlowFinished: _finished,
}
