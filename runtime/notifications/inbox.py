"""The inbox: `notifications` rows, written through the `InboxSink` the inbox channel
plugin expects, listed and marked read per user.

Why insert-or-skip: `(username, dedupe_key)` is unique, so a retried delivery (or a
rule firing twice for the same episode) never shows the same message twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from plugins.channels.inbox import InboxMessage
from runtime.errors import not_found
from runtime.ids import as_id
from runtime.store.tables import notifications

MAX_LIST = 200


class DbInboxSink:
    """`plugins.channels.inbox.InboxSink` over one connection (the caller's transaction)."""

    def __init__(self, conn: Connection, now: datetime) -> None:
        self.conn = conn
        self.now = now

    def deliver(self, messages: Sequence[InboxMessage]) -> int:
        if not messages:
            return 0
        rows = [{"username": m.username, "app": m.app,
                 "subject": dict(m.subject) if m.subject else None, "message": dict(m.body),
                 "form": m.form, "created_at": self.now, "read_at": None,
                 "record_id": as_id(m.record_id), "dedupe_key": m.key} for m in messages]
        build = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        stmt = build(notifications).values(rows).on_conflict_do_nothing(
            index_elements=["username", "dedupe_key"]).returning(notifications.c.id)
        return len(self.conn.execute(stmt).all())


def notification_json(row: Any) -> dict[str, Any]:
    return {"id": str(row.id), "app": row.app, "subject": row.subject,
            "message": row.message, "form": row.form,
            "record_id": None if row.record_id is None else str(row.record_id),
            "created_at": row.created_at, "read_at": row.read_at,
            "read": row.read_at is not None}


def list_for(conn: Connection, *, username: str, unread: bool = False,
             limit: int = 50) -> list[dict[str, Any]]:
    """A user's messages, newest first."""
    stmt = select(notifications).where(notifications.c.username == username)
    if unread:
        stmt = stmt.where(notifications.c.read_at.is_(None))
    stmt = stmt.order_by(notifications.c.id.desc()).limit(max(1, min(limit, MAX_LIST)))
    return [notification_json(r) for r in conn.execute(stmt)]


def mark_read(conn: Connection, *, username: str, notification_id: str,
              now: datetime) -> dict[str, Any]:
    """Mark one of the user's own messages read (someone else's is "not found")."""
    nid = as_id(notification_id) or -1
    where = (notifications.c.id == nid) & (notifications.c.username == username)
    row = conn.execute(select(notifications).where(where)).first()
    if row is None:
        raise not_found("通知", "Notification", notification_id)
    if row.read_at is None:
        conn.execute(update(notifications).where(where).values(read_at=now))
        row = conn.execute(select(notifications).where(where)).one()
    return notification_json(row)
