"""Jobs that leave the process, run by the job runner after the write committed.

`notify.send` (one job per outside channel, so a retry resends only what failed)
resolves the recipients when it runs — roles may have changed since the rule fired —
and sends through the channel plugin. `webhook.call` posts a rule's signed JSON.
A failure raises: the runner retries it with backoff and finally marks it failed with
the (secret-free) error, visible in the `jobs` table; the write that caused it is
long committed and never affected.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from plugins.channels.base import DeliveryError, OutboundMessage
from plugins.channels.webhook import post_signed
from runtime.context import Context
from runtime.ids import as_id
from runtime.jobs.service import handler
from runtime.notifications.channels import build_channel, secret
from runtime.notifications.inbox import DbInboxSink
from runtime.notifications.recipients import RecordRef, recipient_of, resolve_contacts
from runtime.store.tables import records

log = logging.getLogger("loom.notifications")

NOTIFY_SEND = "notify.send"
WEBHOOK_CALL = "webhook.call"
WEBHOOK_TIMEOUT = 5.0


def _record_data(conn: Any, record_id: str | None) -> dict[str, Any]:
    rid = as_id(record_id)
    if rid is None:
        return {}
    row = conn.execute(select(records.c.data).where(records.c.id == rid)).first()
    return dict(row.data or {}) if row is not None else {}


@handler(NOTIFY_SEND)
def send_notification(ctx: Context, payload: Mapping[str, Any], now: datetime) -> None:
    channel_name = str(payload["channel"])
    with ctx.engine.begin() as conn:
        ref = RecordRef(payload.get("app"), payload.get("form"), payload.get("record_id"),
                        payload.get("initiator"))
        contacts = resolve_contacts(conn, [recipient_of(r) for r in payload.get("to", [])],
                                    ref)
        if channel_name == "email" and not any(c.email for c in contacts):
            # Nobody to mail (no addresses known): nothing failed, nothing to retry.
            log.info("notification over email skipped: no recipient has an address")
            return
        message = OutboundMessage(
            body=dict(payload["message"]),
            subject=dict(payload["subject"]) if payload.get("subject") else None,
            to=tuple(contacts), app=ref.app, form=ref.form, record_id=ref.record_id,
            rule=payload.get("rule"), key=payload.get("key"),
            record=_record_data(conn, ref.record_id))
        try:
            channel = build_channel(channel_name, inbox_sink=DbInboxSink(conn, now))
            result = channel.send(message)
        except DeliveryError as exc:
            log.warning("notification over %s failed (%s, retryable=%s)", channel_name,
                        exc.code, exc.retryable)
            raise
    log.info("notification over %s delivered to %s", channel_name, result.delivered)


@handler(WEBHOOK_CALL)
def call_webhook(ctx: Context, payload: Mapping[str, Any], now: datetime) -> None:
    try:
        post_signed("webhook", str(payload["url"]), payload.get("payload") or {},
                    secret=secret(payload.get("secret_ref")), timeout=WEBHOOK_TIMEOUT,
                    key=payload.get("key"))
    except DeliveryError as exc:
        log.warning("webhook call failed (%s, retryable=%s)", exc.code, exc.retryable)
        raise
