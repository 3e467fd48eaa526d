"""Event rules as a write hook: run in the transaction of the write that fired them.

The hook costs next to nothing when nothing matches: the form's rule set looks up the
rules that may fire from the event's kind and, for an update, from the keys whose
stored values differ (before converting anything), and only when one of those
matches exactly is an expression environment built. The record's system columns and
marks come with the event, so rules never read the row back. One `CascadeGuard` lives
on the connection for the whole chain a top-level write (depth 0) starts; nested writes
(depth > 0) reuse it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, select

from engines.expr import fields_to_native
from engines.rule.cascade import CascadeGuard, CascadeLimitError
from engines.rule.events import FlowEvent, RecordEvent
from runtime.auth.models import Actor
from runtime.effects.records import remember_marks
from runtime.errors import Conflict
from runtime.forms.env import StoreEnv
from runtime.hooks import WriteEvent
from runtime.rules.compiled import (
    form_rules,
    native_record,
    reads_system,
    system_values,
)
from runtime.rules.firing import apply_firing
from runtime.rules.runs import write_behind
from runtime.store.tables import records

if TYPE_CHECKING:
    from runtime.context import Context

GUARD_KEY = "loom.rules.guard"
_SYSTEM_COLS = (records.c.id, records.c.owner, records.c.department, records.c.created_at,
                records.c.created_by, records.c.updated_at, records.c.updated_by,
                records.c.version)
_SELECT_SYSTEM = select(*_SYSTEM_COLS).where(records.c.id == bindparam("rid"))


class RuleCascadeError(Conflict):
    """Rules fired each other past the bound; the write that started it is rolled back."""

    code = "rule_cascade_limit"


def _guard(conn: Connection, depth: int) -> CascadeGuard:
    guard = conn.info.get(GUARD_KEY)
    if depth == 0 or not isinstance(guard, CascadeGuard):
        guard = CascadeGuard()
        conn.info[GUARD_KEY] = guard
    return guard


def _stored_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Keys whose stored JSON differs: a superset of the fields whose native values
    differ (equal JSON converts to equal values), found without converting anything."""
    keys = [k for k, v in new.items() if old.get(k, _MISSING) != v]
    keys.extend(k for k in old if k not in new)
    return keys


_MISSING = object()


def run_event_rules(conn: Connection, ctx: Context, event: WriteEvent) -> None:
    """The `after_write` hook: fire the written form's event rules."""
    capp = ctx.apps.current(conn, event.app)
    ruleset, fields = form_rules(capp, event.form)
    kind: Any = event.action
    if kind == "updated":
        candidates = ruleset.candidates(kind, _stored_changes(event.old or {},
                                                              event.new or {}))
    else:
        candidates = ruleset.candidates(kind)
    if not candidates:
        return
    current = event.new if event.new is not None else event.old or {}
    record = fields_to_native(current, fields)
    record["id"] = event.record_id
    old = fields_to_native(event.old, fields) if kind == "updated" and event.old else {}
    probe = RecordEvent(kind, event.form, record, old, event.depth)
    changed = probe.changed()
    matching = [r for r in candidates if r.trigger_matches(probe, changed)]
    if not matching:
        return
    known = event.system
    system: dict[str, Any] = {}
    if known is not None:
        system = system_values(known)
    elif any(reads_system(r) for r in matching):
        row = conn.execute(_SELECT_SYSTEM, {"rid": int(event.record_id)}).first()
        system = system_values(row) if row is not None else {}
    full = RecordEvent(kind, event.form, {**record, **system},
                       {**old, **system} if old else {}, event.depth)
    if known is not None and "marks" in known:
        remember_marks(conn, event.app, event.form, event.record_id, known["marks"])
    env = StoreEnv(conn, app=event.app, now=ctx.clock.now(), tz=ctx.tz, actor=event.actor,
                   forms=capp.expr_forms, calendar=capp.calendar)
    guard = _guard(conn, event.depth)
    try:
        for firing in ruleset.fire(full, env, matching, matched=True):
            apply_firing(conn, ctx, firing, app=event.app, actor=event.actor,
                         depth=event.depth, guard=guard)
    except CascadeLimitError as exc:
        if event.depth > 0:
            raise
        raise RuleCascadeError(exc.message["zh"], exc.message["en"]) from None


def run_flow_rules(conn: Connection, ctx: Context, *, app: str, flow: str, event: str,
                   form: str, record_id: str, actor: Actor, node: str | None = None,
                   depth: int = 0) -> int:
    """Fire the rules with a `flow` trigger for a flow event on a record (started,
    approved, rejected, completed, …), in the caller's transaction. The flow runtime
    calls this; returns how many rules fired (ok or error)."""
    capp = ctx.apps.current(conn, app)
    ruleset, fields = form_rules(capp, form)
    if not ruleset.candidates("flow"):
        return 0
    row = conn.execute(select(records).where(records.c.id == int(record_id))).first()
    if row is None:
        return 0
    values = native_record(row, fields)
    env = StoreEnv(conn, app=app, now=ctx.clock.now(), tz=ctx.tz, actor=actor,
                   forms=capp.expr_forms, calendar=capp.calendar)
    guard = _guard(conn, depth)
    fired = 0
    try:
        for firing in ruleset.fire(FlowEvent(flow, event, form, values, node, depth), env):
            outcome = apply_firing(conn, ctx, firing, app=app, actor=actor, depth=depth,
                                   guard=guard)
            fired += outcome in ("ok", "error")
    except CascadeLimitError as exc:
        if depth > 0:
            raise
        raise RuleCascadeError(exc.message["zh"], exc.message["en"]) from None
    return fired


def install_rule_hooks(ctx: Context) -> None:
    """Wire rules into a context: the write hook, the scheduler tick, the job handlers.

    Idempotent, so the app factory and the CLI may both call it.
    """
    import runtime.notifications.jobs  # noqa: F401  (registers notify.send, webhook.call)
    from runtime.rules.scheduled import register_tick

    if run_event_rules not in ctx.hooks.after_write:
        ctx.hooks.after_write.append(run_event_rules)
    write_behind(ctx.engine)
    register_tick()
