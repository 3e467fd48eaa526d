"""Dependencies every router shares: the context, the caller, the language, and the
unit of work (one transaction per request, committed only when the handler returns)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection

from runtime.auth import service as auth
from runtime.auth.models import Actor
from runtime.context import Context
from runtime.errors import Unauthorized

bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/token")


def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


CtxDep = Annotated[Context, Depends(get_ctx)]


def get_lang(accept_language: Annotated[str | None, Header()] = None) -> str:
    """zh unless the request prefers English (DESIGN §10)."""
    if not accept_language:
        return "zh"
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh"
    return "zh"


LangDep = Annotated[str, Depends(get_lang)]


@contextmanager
def unit_of_work(ctx: Context) -> Iterator[Connection]:
    with ctx.engine.begin() as conn:
        yield conn


def get_actor(ctx: CtxDep,
              creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Actor:
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized("需要登录令牌", "A bearer token is required", code="unauthorized")
    with ctx.engine.connect() as conn:
        return auth.actor_for_token(conn, creds.credentials, ctx.clock.now())


ActorDep = Annotated[Actor, Depends(get_actor)]
