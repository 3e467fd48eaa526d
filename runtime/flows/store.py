"""Flow instance rows and the task centre rows that mirror an instance's tasks.

The instance row holds the engine's state (`InstanceState.to_dict()`) and a `version`
that is the optimistic lock: a step reads version v and saves with
`UPDATE … WHERE version = v`; a concurrent step that saved first makes this one a 409,
and since the caller's transaction then rolls back, nothing of the losing step stays.

Task rows are derived from the state: after each step `sync_tasks` compares the tasks
before and after, inserts the new ones and updates those whose status changed (closed,
cancelled, waiting for added signers, reopened). Carbon copies become `cc` rows with a
read status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, select, update

from engines.flow import CompiledFlow, InstanceState
from engines.flow.state import CANCELLED, DONE, OPEN, WAITING
from runtime.errors import not_found
from runtime.flows.errors import instance_busy
from runtime.store.tables import flow_instances, records, tasks

ROW_STATUS = {OPEN: "open", WAITING: "waiting", DONE: "done", CANCELLED: "cancelled"}


@dataclass
class Instance:
    """An instance row with its state parsed."""

    id: int
    app: str
    flow: str
    app_version: int
    form: str | None
    record_id: int | None
    status: str
    version: int
    started_by: str
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    state: InstanceState


_CREATE = insert(flow_instances).returning(flow_instances.c.id)


def create_row(conn: Connection, *, app: str, flow: str, app_version: int, form: str,
               record_id: int | None, started_by: str, now: datetime) -> int:
    """Reserve the instance id (the engine's state names it) before the first step."""
    return int(conn.execute(_CREATE, {
        "app": app, "flow": flow, "app_version": app_version, "form": form,
        "record_id": record_id, "status": "running", "state": {}, "version": 0,
        "started_by": started_by, "started_at": now, "updated_at": now,
        "finished_at": None}).scalar_one())


def parse_instance_id(value: str | int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise not_found("流程实例", "Flow instance", value) from None
    if number <= 0 or number >= 2**63:
        raise not_found("流程实例", "Flow instance", value)
    return number


# Statements built once: a step runs a handful of them, and building a statement costs
# more than running it on SQLite.
_FI = flow_instances
_RECORD_COLUMNS = ("id", "data", "owner", "department", "created_by", "updated_by",
                   "created_at", "updated_at", "version")
_JOINED = [*(c.label(f"i_{c.name}") for c in _FI.c),
           *(records.c[name].label(f"r_{name}") for name in _RECORD_COLUMNS)]
_RECORD_OF = and_(records.c.id == _FI.c.record_id, records.c.app == _FI.c.app)
_LOAD = select(*_JOINED).select_from(_FI.outerjoin(records, _RECORD_OF)).where(
    _FI.c.id == bindparam("instance_id"))
# flat joins: a nested (a JOIN b) would make SQLite materialise every instance
_LOAD_FOR_TASK = select(tasks, *_JOINED).select_from(
    tasks.outerjoin(_FI, _FI.c.id == tasks.c.flow_instance_id).outerjoin(records, _RECORD_OF)
).where(tasks.c.id == bindparam("task_id"))
_SAVE = update(_FI).where(_FI.c.id == bindparam("instance_id"),
                          _FI.c.version == bindparam("expected")).values(
    state=bindparam("new_state"), status=bindparam("new_status"),
    version=bindparam("new_version"), updated_at=bindparam("at"),
    finished_at=bindparam("ended_at"))


def _instance(row: Any) -> Instance:
    return Instance(row.i_id, row.i_app, row.i_flow, row.i_app_version, row.i_form,
                    row.i_record_id, row.i_status, row.i_version, row.i_started_by,
                    row.i_started_at, row.i_updated_at, row.i_finished_at,
                    InstanceState.from_dict(dict(row.i_state)))


def _record(row: Any) -> SimpleNamespace | None:
    if row.r_id is None:
        return None
    return SimpleNamespace(**{name: getattr(row, f"r_{name}") for name in _RECORD_COLUMNS})


def load(conn: Connection, instance_id: int) -> Instance:
    return load_with_record(conn, instance_id)[0]


def load_with_record(conn: Connection, instance_id: int
                     ) -> tuple[Instance, SimpleNamespace | None]:
    """The instance and its record's row, in one query."""
    row = conn.execute(_LOAD, {"instance_id": instance_id}).first()
    if row is None or not row.i_state:
        raise not_found("流程实例", "Flow instance", instance_id)
    return _instance(row), _record(row)


def load_for_task(conn: Connection, task_id: int
                  ) -> tuple[Any, Instance | None, SimpleNamespace | None]:
    """A task row with its instance and record (None for a plain to-do), one query."""
    row = conn.execute(_LOAD_FOR_TASK, {"task_id": task_id}).first()
    if row is None:
        raise not_found("待办", "Task", task_id)
    if row.i_id is None or not row.i_state:
        return row, None, None
    return row, _instance(row), _record(row)


def save(conn: Connection, *, instance_id: int, version: int, state: InstanceState,
         now: datetime) -> int:
    """Store the new state if nobody stored another since `version`; the new version."""
    changed = conn.execute(_SAVE, {
        "instance_id": instance_id, "expected": version, "new_state": state.to_dict(),
        "new_status": state.status, "new_version": version + 1, "at": now,
        "ended_at": state.ended_at}).rowcount
    if changed != 1:
        raise instance_busy()
    return version + 1


_RUNNING = select(_FI.c.id).where(
    _FI.c.record_id == bindparam("record_id"), _FI.c.app == bindparam("app"),
    _FI.c.flow == bindparam("flow"), _FI.c.status == "running").limit(1)


def running_instance(conn: Connection, *, app: str, flow: str, record_id: int) -> int | None:
    found = conn.execute(_RUNNING, {"record_id": record_id, "app": app, "flow": flow}).scalar()
    return None if found is None else int(found)


_INSERT_TASKS = insert(tasks)
_UPDATE_TASK = update(tasks).where(
    tasks.c.flow_instance_id == bindparam("instance"),
    tasks.c.engine_task_id == bindparam("engine_task"), tasks.c.kind != "cc").values(
    status=bindparam("new_status"), outcome=bindparam("new_outcome"),
    completed_at=bindparam("closed_at"), completed_by=bindparam("closed_by"),
    version=tasks.c.version + 1)
_TASKS_OF = select(tasks).where(tasks.c.flow_instance_id == bindparam("instance")).order_by(
    tasks.c.id)


def tasks_of(conn: Connection, instance: int) -> list[Any]:
    return list(conn.execute(_TASKS_OF, {"instance": instance}).all())


def _task_kind(flow: CompiledFlow, node: str) -> str:
    return "handle" if flow.nodes[node].type == "handle" else "approval"


def sync_tasks(conn: Connection, *, instance: int, app: str, flow: CompiledFlow,
               record_id: int | None, before: InstanceState | None, after: InstanceState,
               actor: str, now: datetime) -> None:
    """Make the task rows of the instance match the engine's tasks and carbon copies."""
    old = before.tasks if before is not None else {}
    new_rows: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for task_id, task in after.tasks.items():
        previous = old.get(task_id)
        if previous is None:
            new_rows.append({
                "app": app, "kind": _task_kind(flow, task.node),
                "title": dict(flow.nodes[task.node].title), "assignee": task.assignee,
                "status": ROW_STATUS[task.status], "form": flow.form, "record_id": record_id,
                "flow_instance_id": instance, "node_id": task.node, "engine_task_id": task_id,
                "due_at": task.due, "created_at": now, "created_by": actor,
                "completed_at": task.closed_at, "completed_by": None, "outcome": task.outcome,
                "read_at": None, "version": 1,
                "data": {"flow": flow.key, "engine_kind": task.kind, "slot": task.slot}})
        elif previous.status != task.status:
            closed = task.status in (DONE, CANCELLED)
            changes.append({
                "instance": instance, "engine_task": task_id,
                "new_status": ROW_STATUS[task.status], "new_outcome": task.outcome,
                "closed_at": now if closed else None,
                "closed_by": actor if task.status == DONE else None})
    new_rows.extend(_cc_rows(instance=instance, app=app, flow=flow, record_id=record_id,
                             before=before, after=after, actor=actor, now=now))
    if new_rows:
        conn.execute(_INSERT_TASKS, new_rows)
    if changes:
        conn.execute(_UPDATE_TASK, changes)


def _cc_rows(*, instance: int, app: str, flow: CompiledFlow, record_id: int | None,
             before: InstanceState | None, after: InstanceState, actor: str,
             now: datetime) -> list[dict[str, Any]]:
    known = {(c.user, c.node) for c in (before.cc if before is not None else [])}
    rows = []
    for copy in after.cc:
        if (copy.user, copy.node) in known:
            continue
        known.add((copy.user, copy.node))
        rows.append({
            "app": app, "kind": "cc", "title": dict(flow.nodes[copy.node].title),
            "assignee": copy.user, "status": "open", "form": flow.form,
            "record_id": record_id, "flow_instance_id": instance, "node_id": copy.node,
            "engine_task_id": None, "due_at": None, "created_at": now, "created_by": actor,
            "completed_at": None, "completed_by": None, "outcome": None, "read_at": None,
            "version": 1, "data": {"flow": flow.key}})
    return rows


def mark_cc_read(conn: Connection, *, instance: int, user: str, now: datetime) -> int:
    return int(conn.execute(update(tasks).where(and_(
        tasks.c.flow_instance_id == instance, tasks.c.kind == "cc",
        tasks.c.assignee == user, tasks.c.read_at.is_(None))).values(
        read_at=now, status="done", outcome="read", completed_at=now, completed_by=user,
        version=tasks.c.version + 1)).rowcount)
