"""Request and response models of the flow and task-centre API (OpenAPI documents
them; the UI's types are generated from it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engines.common import Label

Action = Literal["approve", "reject", "return", "transfer", "delegate", "add_signer",
                 "comment", "cc", "urge", "read", "done"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartRequest(_Strict):
    record_id: str | None = Field(None, max_length=20, description="an existing record")
    data: dict[str, Any] | None = Field(None, description="field values of a new record")
    chosen: dict[str, list[str]] | None = Field(
        None, description="assignees chosen at start, by node id (chosen_at_start)")
    comment: str | None = Field(None, max_length=4000)


class ActionRequest(_Strict):
    action: Action
    comment: str | None = Field(None, max_length=4000)
    to: str | None = Field(None, max_length=64,
                           description="return: previous, initiator or an earlier node id")
    users: list[str] = Field(default_factory=list, max_length=100,
                             description="transfer/delegate: one user; add_signer, cc: users")
    position: Literal["before", "after"] = "before"
    values: dict[str, Any] | None = Field(None, description="field edits (editable fields)")


class CommentRequest(_Strict):
    comment: str = Field(min_length=1, max_length=4000)


class WithdrawRequest(_Strict):
    comment: str | None = Field(None, max_length=4000)


class OpenTask(BaseModel):
    engine_task_id: str
    node: str
    assignee: str


class InstanceSummary(BaseModel):
    id: str
    flow: str
    status: str = Field(description="running | approved | rejected | withdrawn | error")
    version: int
    current_nodes: list[str]
    open_tasks: list[OpenTask]


class Task(BaseModel):
    id: str
    app: str
    kind: str = Field(description="approval | handle | todo | cc")
    title: dict[str, str]
    assignee: str
    status: str = Field(description="open | waiting | done | cancelled")
    form: str | None
    record_id: str | None
    flow_instance_id: str | None
    node_id: str | None
    engine_task_id: str | None
    due_at: datetime | None
    data: dict[str, Any]
    created_at: datetime
    created_by: str
    completed_at: datetime | None
    completed_by: str | None
    outcome: str | None
    read_at: datetime | None
    version: int
    fields: dict[str, list[str] | None] | None = Field(
        None, description="at this task's node: visible (null: all), hidden, editable, "
                          "required")
    actions: list[str] | None = None


class TrailItem(BaseModel):
    at: datetime
    actor: str | None
    action: str
    node: str | None
    task: str | None
    comment: str | None
    detail: dict[str, Any] | None


class CarbonCopy(BaseModel):
    user: str
    node: str
    at: datetime
    read_at: datetime | None


class Instance(BaseModel):
    id: str
    app: str
    flow: str
    name: Label
    app_version: int
    form: str | None
    record_id: str | None
    status: str
    version: int
    initiator: str
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    error: str | None
    current_nodes: list[str]
    tasks: list[Task]
    cc: list[CarbonCopy]
    trail: list[TrailItem]
    graph: dict[str, Any] = Field(description="nodes (with `active`) and edges")


class StartedInstance(BaseModel):
    id: str
    app: str
    flow: str
    status: str
    record_id: str | None
    started_at: datetime
    finished_at: datetime | None


class TaskPage(BaseModel):
    items: list[Task] = Field(description="tasks (boxes todo, done, cc)")
    instances: list[StartedInstance] = Field(
        default_factory=list, description="instances started by me (box started)")
    next_cursor: str | None = None


class ActionResult(BaseModel):
    task_id: str
    instance: InstanceSummary | None
