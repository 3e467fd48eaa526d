"""User endpoints: administrators create users; a user's email address (what email
notifications are sent to) is set by an administrator or by the user themself."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import Connection, select

from runtime.api.deps import ActorDep, CtxDep, unit_of_work
from runtime.api.schemas import errors
from runtime.auth import service
from runtime.auth.models import Actor
from runtime.errors import Forbidden, not_found
from runtime.store.tables import users

router = APIRouter(tags=["users"])


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    display_name: str | None = Field(default=None, max_length=128)
    roles: list[str] = Field(default_factory=list)
    department: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=254)
    is_admin: bool = False


class UserPatch(BaseModel):
    email: str | None = Field(max_length=254)
    """The new address; null or "" clears it."""


class UserOut(BaseModel):
    username: str
    display_name: str
    email: str | None
    roles: list[str]
    department: str | None
    is_admin: bool
    active: bool


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("只有管理员可以管理用户", "Only administrators manage users")


def _self_or_admin(actor: Actor, username: str) -> None:
    if actor.username != username and not actor.is_admin:
        raise Forbidden("只能查看或修改自己的资料", "You can only see or change your own profile")


def _user(conn: Connection, username: str) -> dict[str, Any]:
    row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        raise not_found("用户", "User", username)
    return {"username": row.username, "display_name": row.display_name, "email": row.email,
            "roles": list(row.roles or []), "department": row.department,
            "is_admin": bool(row.is_admin), "active": bool(row.active)}


@router.post("/users", response_model=UserOut, status_code=201,
             responses=errors(403, 409))
def create_user(body: UserIn, ctx: CtxDep, actor: ActorDep) -> dict[str, Any]:
    _admin(actor)
    with unit_of_work(ctx) as conn:
        service.create_user(conn, username=body.username, password=body.password,
                            now=ctx.clock.now(), roles=body.roles,
                            department=body.department, display_name=body.display_name,
                            is_admin=body.is_admin, email=body.email)
        return _user(conn, body.username)


@router.get("/users/{username}", response_model=UserOut, responses=errors(403, 404))
def get_user(username: str, ctx: CtxDep, actor: ActorDep) -> dict[str, Any]:
    _self_or_admin(actor, username)
    with ctx.engine.connect() as conn:
        return _user(conn, username)


@router.patch("/users/{username}", response_model=UserOut, responses=errors(403, 404))
def update_user(username: str, body: UserPatch, ctx: CtxDep,
                actor: ActorDep) -> dict[str, Any]:
    _self_or_admin(actor, username)
    with unit_of_work(ctx) as conn:
        service.set_email(conn, username, body.email)
        return _user(conn, username)
