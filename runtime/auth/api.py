"""POST /auth/token: a password for a bearer token."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from pydantic import BaseModel, Field

from runtime.api.deps import CtxDep, unit_of_work
from runtime.api.schemas import errors
from runtime.auth import service

router = APIRouter(tags=["auth"])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the scheme name, not a secret


@router.post("/auth/token", response_model=TokenOut, responses=errors(401))
def issue_token(body: Credentials, ctx: CtxDep) -> TokenOut:
    with unit_of_work(ctx) as conn:
        token = service.login(conn, username=body.username, password=body.password,
                              now=ctx.clock.now(),
                              ttl=timedelta(hours=ctx.settings.token_ttl_hours))
    return TokenOut(access_token=token)
