"""The JSON shapes of instances and task-centre rows (DESIGN §9: ids are strings,
instants ISO 8601 with offset)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engines.flow import CompiledFlow, InstanceState
from engines.flow.state import OPEN, TrailEntry


def utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def summary(instance_id: int, state: InstanceState, version: int) -> dict[str, Any]:
    """What a step's caller needs back: where the instance stands now."""
    return {
        "id": str(instance_id), "flow": state.flow, "status": state.status,
        "version": version, "current_nodes": sorted(state.active),
        "open_tasks": [{"engine_task_id": t.id, "node": t.node, "assignee": t.assignee}
                       for t in state.tasks.values() if t.status == OPEN],
    }


def trail_json(entry: TrailEntry) -> dict[str, Any]:
    return {"at": utc(entry.at), "actor": entry.actor, "action": entry.action,
            "node": entry.node, "task": entry.task, "comment": entry.comment,
            "detail": entry.detail}


def task_json(row: Any) -> dict[str, Any]:
    r = row._mapping if hasattr(row, "_mapping") else row
    return {
        "id": str(r["id"]), "app": r["app"], "kind": r["kind"], "title": r["title"],
        "assignee": r["assignee"], "status": r["status"], "form": r["form"],
        "record_id": None if r["record_id"] is None else str(r["record_id"]),
        "flow_instance_id": (None if r["flow_instance_id"] is None
                             else str(r["flow_instance_id"])),
        "node_id": r["node_id"], "engine_task_id": r["engine_task_id"],
        "due_at": utc(r["due_at"]), "data": r["data"], "created_at": utc(r["created_at"]),
        "created_by": r["created_by"], "completed_at": utc(r["completed_at"]),
        "completed_by": r["completed_by"], "outcome": r["outcome"],
        "read_at": utc(r["read_at"]), "version": r["version"],
    }


def instance_json(row: Any, flow: CompiledFlow, task_rows: list[Any]) -> dict[str, Any]:
    """An instance (`store.Instance`) with its trail, its tasks and its graph, current
    nodes marked."""
    state: InstanceState = row.state
    active = frozenset(state.active)
    return {
        "id": str(row.id), "app": row.app, "flow": row.flow, "name": flow.spec.name,
        "app_version": row.app_version, "form": row.form,
        "record_id": None if row.record_id is None else str(row.record_id),
        "status": state.status, "version": row.version, "initiator": state.initiator,
        "started_at": utc(row.started_at), "updated_at": utc(row.updated_at),
        "finished_at": utc(row.finished_at), "error": state.error,
        "current_nodes": sorted(active),
        "tasks": [task_json(t) for t in task_rows if t.kind != "cc"],
        "cc": [{"user": c.user, "node": c.node, "at": utc(c.at), "read_at": utc(c.read_at)}
               for c in state.cc],
        "trail": [trail_json(e) for e in state.trail],
        "graph": flow.graph_json(active),
    }
