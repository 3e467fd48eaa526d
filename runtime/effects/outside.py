"""Effects for people and the outside world: to-do tasks, messages, webhooks, timers.

Tasks and inbox rows are written now, in the write's transaction (they are ours);
everything that leaves the process becomes a job in that same transaction, so it is
sent only once the write commits, and a slow or dead target never blocks a request.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert

from engines.effects import CallWebhook, CreateTask, Notify, ScheduleAt, StartFlow
from plugins.channels.inbox import InboxMessage
from runtime.effects.registry import EffectScope
from runtime.jobs.service import enqueue
from runtime.notifications.inbox import DbInboxSink
from runtime.notifications.jobs import NOTIFY_SEND, WEBHOOK_CALL
from runtime.notifications.recipients import RecordRef, recipient_json, resolve_usernames
from runtime.store.tables import tasks

if TYPE_CHECKING:
    from runtime.context import Context


def _ref(scope: EffectScope, form: str | None, record_id: str | None) -> RecordRef:
    return RecordRef(scope.app, form or scope.origin_form,
                     record_id or scope.origin_record_id, scope.actor.username)


def _digest(*parts: Any) -> str:
    """A short, stable fingerprint of what is sent: two different messages of one firing
    are two deliveries; the same message retried or re-applied is one."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _int_id(record_id: str | None) -> int | None:
    return int(record_id) if record_id and record_id.isdigit() else None


def create_task(conn: Connection, ctx: Context, effect: CreateTask,
                scope: EffectScope) -> dict[str, Any]:
    """One open to-do per assignee (a role becomes each of its members)."""
    ref = _ref(scope, effect.form, effect.record_id)
    assignees = resolve_usernames(conn, effect.assignees, ref)
    now = ctx.clock.now()
    data = {**effect.data, "source": scope.source} if scope.source else dict(effect.data)
    rows = [{"app": scope.app, "kind": "todo", "title": dict(effect.title), "assignee": user,
             "status": "open", "form": ref.form, "record_id": _int_id(ref.record_id),
             "flow_instance_id": None, "node_id": None, "engine_task_id": None,
             "due_at": effect.due, "data": data, "created_at": now,
             "created_by": scope.actor.username, "version": 1} for user in assignees]
    if rows:
        conn.execute(insert(tasks), rows)
    return {"assignees": assignees}


def notify(conn: Connection, ctx: Context, effect: Notify,
           scope: EffectScope) -> dict[str, Any]:
    """Inbox rows now; one `notify.send` job per other channel, sent after commit."""
    ref = _ref(scope, effect.form, effect.record_id)
    now = ctx.clock.now()
    result: dict[str, Any] = {}
    key = f"{scope.key}:{_digest(effect.message, effect.subject)}" if scope.key else None
    if "inbox" in effect.channels:
        users = resolve_usernames(conn, effect.to, ref)
        rule = scope.source.removeprefix("rule:") if scope.source.startswith("rule:") else None
        messages = [InboxMessage(username=u, body=dict(effect.message),
                                 subject=dict(effect.subject) if effect.subject else None,
                                 app=scope.app, form=ref.form, record_id=ref.record_id,
                                 rule=rule, key=key) for u in users]
        result["inbox"] = DbInboxSink(conn, now).deliver(messages)
    jobs: list[int | None] = []
    for channel in effect.channels:
        if channel == "inbox":
            continue
        payload = {"channel": channel, "app": scope.app, "form": ref.form,
                   "record_id": ref.record_id, "initiator": ref.initiator,
                   "to": [recipient_json(r) for r in effect.to],
                   "message": dict(effect.message),
                   "subject": dict(effect.subject) if effect.subject else None,
                   "rule": scope.source, "key": key}
        dedupe = f"notify:{channel}:{key}"[:256] if key else None
        jobs.append(enqueue(conn, kind=NOTIFY_SEND, payload=payload, now=now,
                            dedupe_key=dedupe))
    if jobs:
        result["jobs"] = jobs
    return result


def call_webhook(conn: Connection, ctx: Context, effect: CallWebhook,
                 scope: EffectScope) -> dict[str, Any]:
    digest = _digest(effect.url, effect.payload)
    dedupe = f"webhook:{scope.key}:{digest}"[:256] if scope.key else None
    job = enqueue(conn, kind=WEBHOOK_CALL, now=ctx.clock.now(), dedupe_key=dedupe,
                  payload={"url": effect.url, "payload": effect.payload,
                           "secret_ref": effect.secret_ref, "key": scope.key})
    return {"job": job}


def schedule_at(conn: Connection, ctx: Context, effect: ScheduleAt,
                scope: EffectScope) -> dict[str, Any]:
    job = enqueue(conn, kind=effect.kind, payload=effect.payload, now=ctx.clock.now(),
                  run_at=effect.at, dedupe_key=effect.key)
    return {"job": job}


def start_flow_deferred(conn: Connection, ctx: Context, effect: StartFlow,
                        scope: EffectScope) -> dict[str, Any]:
    """Until the flow runtime registers its own handler, a start_flow is recorded only."""
    return {"deferred": "flow runtime not installed", "flow": effect.flow}
