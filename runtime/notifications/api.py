"""The inbox API: a user's own notifications, and marking one read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from runtime.api.deps import ActorDep, CtxDep, unit_of_work
from runtime.api.schemas import errors
from runtime.notifications import inbox

router = APIRouter(tags=["notifications"])


class NotificationOut(BaseModel):
    id: str
    app: str | None
    subject: dict[str, str] | None
    message: dict[str, str]
    form: str | None
    record_id: str | None
    created_at: datetime
    read_at: datetime | None
    read: bool


class NotificationList(BaseModel):
    items: list[NotificationOut]


@router.get("/notifications", response_model=NotificationList, responses=errors(401))
def list_notifications(ctx: CtxDep, actor: ActorDep,
                       unread: Annotated[bool, Query()] = False,
                       limit: Annotated[int, Query(ge=1, le=inbox.MAX_LIST)] = 50,
                       ) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        return {"items": inbox.list_for(conn, username=actor.username, unread=unread,
                                        limit=limit)}


@router.post("/notifications/{notification_id}/read", response_model=NotificationOut,
             responses=errors(401, 404))
def read_notification(ctx: CtxDep, actor: ActorDep, notification_id: str) -> dict[str, Any]:
    with unit_of_work(ctx) as conn:
        return inbox.mark_read(conn, username=actor.username,
                               notification_id=notification_id, now=ctx.clock.now())
