"""The expression environment of a write: the store's clock, the caller, the
deployment's time zone, and aggregates over other records computed in SQL
(`runtime.expr.env.SqlEnv`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from engines.expr import UserInfo
from engines.expr.workcal import WorkCalendar
from runtime.apps.registry import CompiledApp
from runtime.auth.models import Actor
from runtime.context import Context
from runtime.expr.env import SqlEnv


def user_info(actor: Actor | None) -> UserInfo | None:
    if actor is None:
        return None
    return UserInfo(username=actor.username, department=actor.department,
                    roles=tuple(actor.roles))


def env_for(conn: Connection, ctx: Context, capp: CompiledApp, actor: Actor | None) -> SqlEnv:
    return SqlEnv(conn, app=capp.key, now=ctx.clock.now(), forms=capp.expr_forms, tz=ctx.tz,
                  user=user_info(actor), calendar=capp.calendar)


class StoreEnv(SqlEnv):
    """`SqlEnv` built from an `Actor` (the name other runtime modules use)."""

    def __init__(self, conn: Connection, *, app: str, now: datetime, tz: ZoneInfo,
                 actor: Actor | None, forms: Mapping[str, Any] | None = None,
                 calendar: WorkCalendar | None = None) -> None:
        super().__init__(conn, app=app, now=now, forms=forms, tz=tz, user=user_info(actor),
                         calendar=calendar)
