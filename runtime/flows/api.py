"""Flow instances over HTTP (DESIGN §9). Thin: one transaction per request; a step
that loses the race for the instance row is retried a few times in a new transaction
before the caller sees 409, so two people approving at once both succeed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, status

import runtime.flows.hooks  # noqa: F401  (registers the flow.timer job handler)
from runtime.api.deps import ActorDep, CtxDep, LangDep, unit_of_work
from runtime.api.schemas import errors
from runtime.context import Context
from runtime.errors import Conflict
from runtime.flows import service
from runtime.flows.schemas import (
    CommentRequest,
    Instance,
    InstanceSummary,
    StartRequest,
    WithdrawRequest,
)

router = APIRouter(tags=["flows"])

RETRIES = 3
_T = TypeVar("_T")


def retrying(ctx: Context, work: Callable[[Any], _T]) -> _T:
    """Run `work(conn)` in a transaction, again (up to RETRIES times) when it lost the
    optimistic lock of an instance; every attempt starts from fresh data."""
    for attempt in range(RETRIES):
        try:
            with unit_of_work(ctx) as conn:
                return work(conn)
        except Conflict as exc:
            if exc.code != "instance_busy" or attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@router.post("/apps/{app}/flows/{flow}/instances", status_code=status.HTTP_201_CREATED,
             response_model=Instance, responses=errors(400, 403, 404, 409))
def start_instance(app: str, flow: str, ctx: CtxDep, actor: ActorDep, lang: LangDep,
                   body: Annotated[StartRequest, Body()]) -> dict[str, Any]:
    """Start a flow on an existing record (`record_id`) or on a new one (`data`)."""
    with unit_of_work(ctx) as conn:
        return service.start(conn, ctx, app=app, flow=flow, actor=actor,
                             record_id=body.record_id, data=body.data, chosen=body.chosen,
                             comment=body.comment, lang=lang)


@router.get("/flow-instances/{instance_id}", response_model=Instance,
            responses=errors(403, 404))
def get_instance(instance_id: str, ctx: CtxDep, actor: ActorDep) -> dict[str, Any]:
    """The instance with its trail, tasks, carbon copies and graph (current nodes
    marked `active`)."""
    with unit_of_work(ctx) as conn:
        return service.get_instance(conn, ctx, instance_id=instance_id, actor=actor)


@router.post("/flow-instances/{instance_id}/withdraw", response_model=InstanceSummary,
             responses=errors(403, 404, 409))
def withdraw(instance_id: str, ctx: CtxDep, actor: ActorDep,
             body: Annotated[WithdrawRequest | None, Body()] = None) -> dict[str, Any]:
    """撤回: by the initiator while nobody acted, or by the last approver."""
    comment = body.comment if body else None
    return retrying(ctx, lambda conn: service.withdraw(
        conn, ctx, instance_id=instance_id, actor=actor, comment=comment))


@router.post("/flow-instances/{instance_id}/urge", response_model=InstanceSummary,
             responses=errors(403, 404, 409))
def urge(instance_id: str, ctx: CtxDep, actor: ActorDep,
         body: Annotated[WithdrawRequest | None, Body()] = None) -> dict[str, Any]:
    """催办: the initiator reminds everyone holding an open task."""
    comment = body.comment if body else None
    return retrying(ctx, lambda conn: service.urge(
        conn, ctx, instance_id=instance_id, actor=actor, comment=comment))


@router.post("/flow-instances/{instance_id}/comments", response_model=InstanceSummary,
             responses=errors(403, 404, 409))
def comment(instance_id: str, ctx: CtxDep, actor: ActorDep,
            body: Annotated[CommentRequest, Body()]) -> dict[str, Any]:
    """A comment on the instance, kept in its trail (participants only)."""
    return retrying(ctx, lambda conn: service.comment_on(
        conn, ctx, instance_id=instance_id, actor=actor, text=body.comment))


@router.post("/flow-instances/{instance_id}/read", response_model=InstanceSummary,
             responses=errors(403, 404, 409))
def read(instance_id: str, ctx: CtxDep, actor: ActorDep) -> dict[str, Any]:
    """Mark my carbon copies of the instance read."""
    return retrying(ctx, lambda conn: service.read_cc(
        conn, ctx, instance_id=instance_id, actor=actor))
