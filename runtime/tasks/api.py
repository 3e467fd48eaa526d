"""The task centre over HTTP: boxes with filters, one task, act on a task."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query

from runtime.api.deps import ActorDep, CtxDep, unit_of_work
from runtime.api.schemas import errors
from runtime.flows.api import retrying
from runtime.flows.schemas import ActionRequest, ActionResult, Task, TaskPage
from runtime.tasks import service

router = APIRouter(tags=["tasks"])


@router.get("/tasks", response_model=TaskPage, responses=errors(400))
def list_tasks(
    ctx: CtxDep, actor: ActorDep,
    box: Annotated[Literal["todo", "done", "cc", "started"], Query(
        description="todo: assigned to me; done: completed by me; cc: copied to me; "
                    "started: instances I started")] = "todo",
    status: Annotated[Literal["open", "done"] | None, Query()] = None,
    app: Annotated[str | None, Query(max_length=64)] = None,
    form: Annotated[str | None, Query(max_length=64)] = None,
    flow: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    with unit_of_work(ctx) as conn:
        return service.list_tasks(conn, ctx, actor=actor, box=box, status=status, app=app,
                                  form=form, flow=flow, kind=kind, limit=limit,
                                  cursor=cursor)


@router.get("/tasks/{task_id}", response_model=Task, responses=errors(403, 404))
def get_task(task_id: str, ctx: CtxDep, actor: ActorDep) -> dict[str, Any]:
    """One task, with the fields its holder may see and change at its node."""
    with unit_of_work(ctx) as conn:
        return service.get_task(conn, ctx, task_id=task_id, actor=actor)


@router.post("/tasks/{task_id}/actions", response_model=ActionResult,
             responses=errors(400, 403, 404, 409))
def act(task_id: str, ctx: CtxDep, actor: ActorDep,
        body: Annotated[ActionRequest, Body()]) -> dict[str, Any]:
    """Act on a task: approve, reject, return, transfer, delegate, add_signer,
    comment, cc; `urge` (the initiator), `read` (a carbon copy), `done` (a to-do).
    403 when the task is not yours, 409 when it is no longer open."""
    return retrying(ctx, lambda conn: service.act(
        conn, ctx, task_id=task_id, actor=actor, action=body.action, comment=body.comment,
        to=body.to, users=body.users, position=body.position, values=body.values))
