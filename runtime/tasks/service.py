"""The task centre over the `tasks` table: boxes, filters, keyset pages.

Boxes (as Chinese task centres show them): `todo` — tasks assigned to me (approval,
handle and rules' to-dos); `done` — tasks I completed; `cc` — carbon copies sent to
me (open = unread); `started` — flow instances I started. Acting on a task is the
flow service's job (`runtime.flows.service.act`), re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from runtime.auth.models import Actor
from runtime.errors import BadRequest
from runtime.flows.service import act, get_task
from runtime.flows.views import task_json, utc
from runtime.ids import as_id
from runtime.store.tables import flow_instances, tasks

if TYPE_CHECKING:
    from runtime.context import Context

BOXES = ("todo", "done", "cc", "started")
_OPEN = ("open", "waiting")
_CLOSED = ("done", "cancelled")


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    number = as_id(value)
    if number is None:
        raise BadRequest("无效的游标", "Invalid cursor", code="bad_cursor")
    return number


def list_tasks(conn: Connection, ctx: Context, *, actor: Actor, box: str = "todo",
               status: str | None = None, app: str | None = None, form: str | None = None,
               flow: str | None = None, kind: str | None = None, limit: int = 50,
               cursor: str | None = None) -> dict[str, Any]:
    """One page of a box, newest first; `next_cursor` continues it."""
    if box not in BOXES:
        raise BadRequest(f"未知的分类：{box}", f"Unknown box: {box}", code="bad_box")
    if status not in (None, "open", "done"):
        raise BadRequest("status 只能是 open 或 done", "status is open or done",
                         code="bad_status")
    after = _cursor(cursor)
    if box == "started":
        return _started(conn, actor=actor, status=status, app=app, flow=flow, limit=limit,
                        after=after)
    stmt = select(tasks)
    me = actor.username
    if box == "todo":
        stmt = stmt.where(tasks.c.assignee == me, tasks.c.kind != "cc",
                          tasks.c.status.in_(_CLOSED if status == "done" else _OPEN))
    elif box == "done":
        stmt = stmt.where(tasks.c.completed_by == me, tasks.c.kind != "cc",
                          tasks.c.status == "done")
    else:
        stmt = stmt.where(tasks.c.assignee == me, tasks.c.kind == "cc")
        if status is not None:
            stmt = stmt.where(tasks.c.status == status)
    if app is not None:
        stmt = stmt.where(tasks.c.app == app)
    if form is not None:
        stmt = stmt.where(tasks.c.form == form)
    if kind is not None:
        stmt = stmt.where(tasks.c.kind == kind)
    if flow is not None:
        stmt = stmt.where(tasks.c.flow_instance_id.in_(
            select(flow_instances.c.id).where(flow_instances.c.flow == flow)))
    if after is not None:
        stmt = stmt.where(tasks.c.id < after)
    rows = conn.execute(stmt.order_by(tasks.c.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [task_json(r) for r in rows], "instances": [],
            "next_cursor": str(rows[-1].id) if more and rows else None}


def _started(conn: Connection, *, actor: Actor, status: str | None, app: str | None,
             flow: str | None, limit: int, after: int | None) -> dict[str, Any]:
    fi = flow_instances
    stmt = select(fi.c.id, fi.c.app, fi.c.flow, fi.c.status, fi.c.record_id,
                  fi.c.started_at, fi.c.finished_at).where(fi.c.started_by == actor.username,
                                                           fi.c.version > 0)
    if status == "open":
        stmt = stmt.where(fi.c.status == "running")
    elif status == "done":
        stmt = stmt.where(fi.c.status != "running")
    if app is not None:
        stmt = stmt.where(fi.c.app == app)
    if flow is not None:
        stmt = stmt.where(fi.c.flow == flow)
    if after is not None:
        stmt = stmt.where(fi.c.id < after)
    rows = conn.execute(stmt.order_by(fi.c.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [], "next_cursor": str(rows[-1].id) if more and rows else None,
            "instances": [{"id": str(r.id), "app": r.app, "flow": r.flow, "status": r.status,
                           "record_id": None if r.record_id is None else str(r.record_id),
                           "started_at": utc(r.started_at), "finished_at": utc(r.finished_at)}
                          for r in rows]}


__all__ = ["BOXES", "act", "get_task", "list_tasks"]
