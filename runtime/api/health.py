"""GET /health: is the server up and can it reach its database."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from runtime.api.deps import CtxDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str
    version: str


@router.get("/health", response_model=Health)
def health(ctx: CtxDep) -> Health:
    from importlib.metadata import version

    with ctx.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return Health(status="ok", database=ctx.dialect, version=version("loom"))
