"""Rule endpoints: dry run, the run log per rule and per record."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from runtime.api.deps import ActorDep, CtxDep
from runtime.api.schemas import errors
from runtime.auth.models import Actor
from runtime.errors import Forbidden
from runtime.rules import preview, runs

router = APIRouter(tags=["rules"])


class DryRunItemOut(BaseModel):
    record_id: str
    outcome: str
    effects: list[dict[str, Any]]
    claim: str | None
    due_at: datetime | None
    error: dict[str, Any] | None


class DryRunOut(BaseModel):
    rule: str
    at: datetime
    counts: dict[str, int]
    items: list[DryRunItemOut]


class RuleRunOut(BaseModel):
    id: str
    rule: str
    form: str | None
    record_id: str | None
    trigger: str
    effects: list[dict[str, Any]]
    outcome: str
    error: dict[str, Any] | None
    duration_ms: int
    at: datetime


class RuleRunList(BaseModel):
    items: list[RuleRunOut]


def _designer(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("只有管理员可以查看规则的试运行和运行记录",
                        "Only administrators can dry-run rules and read their run log")


@router.post("/apps/{app}/rules/{rule}/dry-run", response_model=DryRunOut,
             responses=errors(403, 404))
def dry_run_rule(ctx: CtxDep, actor: ActorDep, app: str, rule: str,
                 limit: Annotated[int, Query(ge=1, le=preview.MAX_PREVIEW)] = 100,
                 ) -> dict[str, Any]:
    _designer(actor)
    with ctx.engine.connect() as conn:  # read only: never committed
        try:
            return preview.preview_rule(conn, ctx, app=app, rule=rule, actor=actor,
                                        limit=limit)
        finally:
            conn.rollback()


@router.get("/apps/{app}/rules/{rule}/runs", response_model=RuleRunList,
            responses=errors(403, 404))
def rule_runs(ctx: CtxDep, actor: ActorDep, app: str, rule: str,
              outcome: Annotated[str | None, Query()] = None,
              limit: Annotated[int, Query(ge=1, le=runs.MAX_LIST)] = 100) -> dict[str, Any]:
    _designer(actor)
    with ctx.engine.connect() as conn:
        ctx.apps.current(conn, app)
        return {"items": runs.list_runs(conn, app=app, rule=rule, outcome=outcome,
                                        limit=limit)}


@router.get("/apps/{app}/forms/{form}/records/{record_id}/rule-runs",
            response_model=RuleRunList, responses=errors(404))
def record_rule_runs(ctx: CtxDep, actor: ActorDep, app: str, form: str, record_id: str,
                     limit: Annotated[int, Query(ge=1, le=runs.MAX_LIST)] = 100,
                     ) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        ctx.apps.current(conn, app).form_spec(form)
        return {"items": runs.list_runs(conn, app=app, form=form, record_id=record_id,
                                        limit=limit)}
