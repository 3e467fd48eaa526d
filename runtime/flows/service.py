"""Flow instances: start, act on a task, withdraw, urge, comment, read carbon copies,
get one with its trail and graph. Every function runs in the caller's transaction and
never commits (the request, job or CLI command owns the transaction).

Rules of the store (the engine decides everything else):
- an instance stays on the app version it started on (`ctx.apps.at(app, version)`);
- only the task's assignee acts on it (403), and only while it is open (409);
- a step that loses the race for the instance row is a 409 and leaves nothing behind;
- one running instance of a flow per record: a second start is a 409 (a rule's or a
  hook's start is skipped instead).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from engines.flow import FlowEngine, TaskAction
from engines.flow.effects import FlowFinished, StartSubflow
from runtime.apps.registry import CompiledApp
from runtime.auth.models import Actor
from runtime.errors import BadRequest, Conflict, Forbidden, ValidationFailed, not_found
from runtime.flows import store
from runtime.flows.compiled import flow_for, flow_spec, record_values
from runtime.flows.effects import StepScope
from runtime.flows.steps import (
    Step,
    advance,
    commit,
    load_record,
    load_step,
    run_engine,
    step_of,
)
from runtime.flows.views import instance_json, summary, task_json
from runtime.records import service as records_service
from runtime.store.tables import flow_instances, tasks

if TYPE_CHECKING:
    from engines.flow import CompiledFlow
    from runtime.context import Context

TASK_ACTIONS = frozenset({"approve", "reject", "return", "transfer", "delegate",
                          "add_signer", "comment", "cc"})


def _start(conn: Connection, ctx: Context, capp: CompiledApp, flow: CompiledFlow, *,
           record_id: int | None, actor: Actor, initiator: str | None = None,
           chosen: Mapping[str, Sequence[str]] | None = None, comment: str | None = None,
           depth: int = 0, record: dict[str, Any] | None = None) -> store.Instance:
    if record is None:
        record = load_record(conn, ctx, capp, flow.form, record_id, live=True)
    now = ctx.clock.now()
    instance_id = store.create_row(conn, app=capp.key, flow=flow.key,
                                   app_version=capp.version, form=flow.form,
                                   record_id=record_id, started_by=actor.username, now=now)
    who = initiator or actor.username

    def call(engine: FlowEngine) -> Any:
        return engine.start(flow, instance_id=str(instance_id), initiator=who, now=now,
                            record=record, chosen=chosen, flow_version=str(capp.version),
                            record_id=None if record_id is None else str(record_id),
                            comment=comment)

    state, effects = run_engine(conn, ctx, capp, flow, actor, now, call)
    version = commit(conn, ctx, app=capp.key, flow=flow, app_version=capp.version,
                     instance_id=instance_id, version=0, record_id=record_id, record=record,
                     before=None, after=state, effects=effects, actor=actor, now=now,
                     depth=depth)
    return store.Instance(instance_id, capp.key, flow.key, capp.version, flow.form, record_id,
                          state.status, version, actor.username, now, now, state.ended_at,
                          state)


def _check_chosen(flow: CompiledFlow, chosen: Mapping[str, Sequence[str]] | None) -> None:
    unknown = sorted(set(chosen or {}) - set(flow.nodes))
    if unknown:
        raise ValidationFailed(f"chosen 中的节点不存在：{', '.join(unknown)}",
                               f"chosen names unknown nodes: {', '.join(unknown)}",
                               code="unknown_node")


def start(conn: Connection, ctx: Context, *, app: str, flow: str, actor: Actor,
          record_id: str | None = None, data: dict[str, Any] | None = None,
          chosen: Mapping[str, Sequence[str]] | None = None, comment: str | None = None,
          lang: str = "zh") -> dict[str, Any]:
    """Start `flow` on an existing record, or on a new one made from `data` (the record
    service creates it first; if that creation already started this flow through a
    `created` trigger, that instance is the answer)."""
    capp = ctx.apps.current(conn, app)
    spec = flow_spec(capp, flow)
    compiled = flow_for(capp, flow)
    if "manual" not in spec.start.on:
        raise Conflict("此流程不能手动发起", "This flow cannot be started by hand",
                       code="manual_start_not_allowed")
    if (record_id is None) == (data is None):
        raise BadRequest("请提供 record_id 或 data 之一", "Give either record_id or data",
                         code="bad_start")
    _check_chosen(compiled, chosen)
    if data is not None:
        created = records_service.create(conn, ctx, app=app, form=spec.form, data=data,
                                         actor=actor, lang=lang)
        rid = int(created["id"])
        existing = store.running_instance(conn, app=app, flow=flow, record_id=rid) if (
            "created" in spec.start.on) else None
        if existing is not None:
            return get_instance(conn, ctx, instance_id=existing, actor=actor)
        values = record_values(capp.form(spec.form), SimpleNamespace(**created))
    else:
        rid = records_service.parse_id(record_id or "")
        if store.running_instance(conn, app=app, flow=flow, record_id=rid) is not None:
            raise Conflict("该记录已有进行中的此流程", "This flow is already running on the record",
                           code="flow_running")
        values = None
    instance = _start(conn, ctx, capp, compiled, record_id=rid, actor=actor, chosen=chosen,
                      comment=comment, record=values)
    return instance_json(instance, compiled, store.tasks_of(conn, instance.id))


def start_flow(conn: Connection, ctx: Context, app: str, flow: str, record_id: str | int,
               actor: Actor, *, depth: int = 0) -> str | None:
    """Start `flow` on a record for a rule (`StartFlow` effect) or a record event; the
    instance id, or None when the flow already runs on that record."""
    capp = ctx.apps.current(conn, app)
    compiled = flow_for(capp, flow)
    rid = records_service.parse_id(record_id)
    if store.running_instance(conn, app=app, flow=flow, record_id=rid) is not None:
        return None
    return str(_start(conn, ctx, capp, compiled, record_id=rid, actor=actor, depth=depth).id)


def _task_id(task_id: str | int) -> int:
    try:
        number = int(task_id)
    except (TypeError, ValueError):
        raise not_found("待办", "Task", task_id) from None
    if not 0 < number < 2**63:
        raise not_found("待办", "Task", task_id)
    return number


def _task_row(conn: Connection, task_id: str | int) -> Any:
    row = conn.execute(select(tasks).where(tasks.c.id == _task_id(task_id))).first()
    if row is None:
        raise not_found("待办", "Task", task_id)
    return row


def _closed(row: Any) -> Conflict:
    if row.status == "waiting":
        return Conflict("加签人处理完之前不能操作此待办",
                        "This task waits for the signers added before it", code="task_waiting")
    return Conflict("待办已处理或已取消", f"The task is already {row.status}", code="task_closed")


def _not_yours() -> Forbidden:
    return Forbidden("你不是此待办的处理人", "You do not hold this task", code="not_assignee")


def act(conn: Connection, ctx: Context, *, task_id: str | int, actor: Actor, action: str,
        comment: str | None = None, to: str | None = None, users: Sequence[str] = (),
        position: str = "before", values: Mapping[str, Any] | None = None,
        depth: int = 0) -> dict[str, Any]:
    """A person acts on a task of the task centre (see TASK_ACTIONS, plus `urge` by the
    initiator, `read` of a carbon copy and `done` of a plain to-do)."""
    row, instance, record = store.load_for_task(conn, _task_id(task_id))
    if action == "urge" and row.flow_instance_id is not None:
        return {"task_id": str(row.id), "instance": urge(
            conn, ctx, instance_id=row.flow_instance_id, actor=actor, comment=comment)}
    if row.assignee != actor.username:
        raise _not_yours()
    if action in ("read", "done") and row.kind == "cc" and row.flow_instance_id is not None:
        return {"task_id": str(row.id), "instance": read_cc(
            conn, ctx, instance_id=row.flow_instance_id, actor=actor)}
    if row.flow_instance_id is None or row.kind == "cc":
        return _act_on_todo(conn, ctx, row, actor, action)
    if action not in TASK_ACTIONS:
        raise ValidationFailed(f"未知的操作：{action}", f"Unknown action: {action}",
                               code="bad_action")
    if row.status != "open":
        raise _closed(row)
    if instance is None:
        raise not_found("流程实例", "Flow instance", row.flow_instance_id)
    step = step_of(conn, ctx, instance, record)
    task_action = TaskAction(task_id=row.engine_task_id, actor=actor.username, action=action,
                             comment=comment, to=to, users=tuple(users), position=position,
                             values=values)
    now = ctx.clock.now()

    def call(engine: FlowEngine) -> Any:
        return engine.act(step.flow, step.instance.state, task_action, now=now,
                          record=step.record)

    state, version = advance(conn, ctx, step, actor=actor, now=now, depth=depth, call=call)
    return {"task_id": str(row.id), "instance": summary(step.instance.id, state, version)}


def _act_on_todo(conn: Connection, ctx: Context, row: Any, actor: Actor,
                 action: str) -> dict[str, Any]:
    """A rule's to-do (or a carbon copy) has one action: it is done (read)."""
    if action not in ("done", "approve", "read"):
        raise ValidationFailed(f"此待办不支持操作：{action}",
                               f"This task only supports done, not {action}",
                               code="action_not_allowed")
    if row.status != "open":
        raise _closed(row)
    now = ctx.clock.now()
    changed = conn.execute(update(tasks).where(
        tasks.c.id == row.id, tasks.c.version == row.version, tasks.c.status == "open")
        .values(status="done", outcome="read" if row.kind == "cc" else "done",
                completed_at=now, completed_by=actor.username,
                read_at=now if row.kind == "cc" else row.read_at,
                version=row.version + 1)).rowcount
    if changed != 1:
        raise _closed(row)
    return {"task_id": str(row.id), "instance": None}


def _instance_step(conn: Connection, ctx: Context, instance_id: int | str) -> Step:
    return load_step(conn, ctx, store.parse_instance_id(instance_id))


def withdraw(conn: Connection, ctx: Context, *, instance_id: int | str, actor: Actor,
             comment: str | None = None) -> dict[str, Any]:
    """撤回: the initiator while nobody acted, or the last approver before the next."""
    step = _instance_step(conn, ctx, instance_id)
    now = ctx.clock.now()

    def call(engine: FlowEngine) -> Any:
        return engine.withdraw(step.flow, step.instance.state, actor=actor.username, now=now,
                               record=step.record, comment=comment)

    state, version = advance(conn, ctx, step, actor=actor, now=now, depth=0, call=call)
    return summary(step.instance.id, state, version)


def urge(conn: Connection, ctx: Context, *, instance_id: int | str, actor: Actor,
         comment: str | None = None) -> dict[str, Any]:
    """催办: the initiator reminds everyone holding an open task."""
    step = _instance_step(conn, ctx, instance_id)
    now = ctx.clock.now()

    def call(engine: FlowEngine) -> Any:
        return engine.urge(step.flow, step.instance.state, actor=actor.username, now=now,
                           record=step.record, comment=comment)

    state, version = advance(conn, ctx, step, actor=actor, now=now, depth=0, call=call)
    return summary(step.instance.id, state, version)


def _participant(conn: Connection, step: Step, actor: Actor) -> bool:
    state = step.instance.state
    if actor.is_admin or actor.username == state.initiator:
        return True
    if any(t.assignee == actor.username for t in state.tasks.values()):
        return True
    return any(c.user == actor.username for c in state.cc)


def comment_on(conn: Connection, ctx: Context, *, instance_id: int | str, actor: Actor,
               text: str) -> dict[str, Any]:
    """A comment on the instance itself (participants only), kept in the trail."""
    step = _instance_step(conn, ctx, instance_id)
    if not _participant(conn, step, actor):
        raise Forbidden("你不是此流程的参与人", "You take no part in this flow",
                        code="not_participant")
    now = ctx.clock.now()
    state, version = advance(conn, ctx, step, actor=actor, now=now, depth=0, call=lambda _e: (
        FlowEngine.comment(step.instance.state, actor=actor.username, text=text, now=now), []))
    return summary(step.instance.id, state, version)


def read_cc(conn: Connection, ctx: Context, *, instance_id: int | str,
            actor: Actor) -> dict[str, Any]:
    """Mark the actor's carbon copies of the instance read (state and task rows)."""
    step = _instance_step(conn, ctx, instance_id)
    now = ctx.clock.now()
    state, version = advance(conn, ctx, step, actor=actor, now=now, depth=0, call=lambda _e: (
        FlowEngine.read_cc(step.instance.state, user=actor.username, now=now), []))
    store.mark_cc_read(conn, instance=step.instance.id, user=actor.username, now=now)
    return summary(step.instance.id, state, version)


def get_instance(conn: Connection, ctx: Context, *, instance_id: int | str,
                 actor: Actor) -> dict[str, Any]:
    """The instance with its trail, tasks, carbon copies and graph (participants)."""
    instance = store.load(conn, store.parse_instance_id(instance_id))
    capp = ctx.apps.at(conn, instance.app, instance.app_version)
    step = Step(capp, flow_for(capp, instance.flow), instance, {})
    if not _participant(conn, step, actor):
        raise Forbidden("你不是此流程的参与人", "You take no part in this flow",
                        code="not_participant")
    return instance_json(instance, step.flow, store.tasks_of(conn, instance.id))


def get_task(conn: Connection, ctx: Context, *, task_id: str | int,
             actor: Actor) -> dict[str, Any]:
    """One task with what its holder may see and change at its node."""
    row = _task_row(conn, task_id)
    if row.assignee != actor.username and not actor.is_admin:
        raise _not_yours()
    out = task_json(row)
    if row.flow_instance_id is not None and row.node_id is not None:
        step = load_step(conn, ctx, row.flow_instance_id)
        access = step.flow.node(row.node_id).fields
        out["fields"] = {
            "visible": None if access.visible is None else sorted(access.visible),
            "hidden": sorted(access.hidden), "editable": sorted(access.editable),
            "required": sorted(access.required)}
        out["actions"] = sorted(step.flow.node(row.node_id).actions)
    return out


def start_subflow(conn: Connection, ctx: Context, scope: StepScope,
                  effect: StartSubflow) -> None:
    """A sub-flow node: the child runs on the parent's app version and, when it is
    bound to the same form, on the same record."""
    capp = ctx.apps.at(conn, scope.app, scope.app_version)
    child = flow_for(capp, effect.flow)
    record_id = scope.record_id if child.form == scope.form else None
    _start(conn, ctx, capp, child, record_id=record_id, actor=scope.actor,
           initiator=scope.initiator or None, depth=scope.depth + 1)


def wake_parent(conn: Connection, ctx: Context, scope: StepScope,
                effect: FlowFinished) -> None:
    """A finished child wakes the instance waiting for it: a running instance on the
    same record with an active sub-flow node for the child's flow."""
    if scope.record_id is None or not _has_subflow_node(ctx.apps.at(
            conn, scope.app, scope.app_version), effect.flow):
        return
    candidates = conn.execute(select(flow_instances.c.id).where(
        flow_instances.c.record_id == scope.record_id, flow_instances.c.app == scope.app,
        flow_instances.c.status == "running", flow_instances.c.id != scope.instance_id)
    ).scalars().all()
    for parent_id in candidates:
        step = load_step(conn, ctx, parent_id)
        waiting = [(node_id, act.epoch) for node_id, act in step.instance.state.active.items()
                   if _waits_for(step.flow.nodes[node_id].spec, effect.flow)]
        if waiting:
            _wake(conn, ctx, step, scope, effect, *waiting[0])
            return


def _has_subflow_node(capp: CompiledApp, flow: str) -> bool:
    """Whether any flow of the app waits for `flow` (most apps: none, no query)."""
    return any(_waits_for(node, flow) for spec in capp.bundle.of("flows").values()
               for node in getattr(spec, "nodes", ()))


def _waits_for(spec: Any, flow: str) -> bool:
    from engines.flow.spec import SubflowNode

    return isinstance(spec, SubflowNode) and spec.flow == flow and spec.wait


def _wake(conn: Connection, ctx: Context, step: Step, scope: StepScope, effect: FlowFinished,
          node: str, epoch: int) -> None:
    now = ctx.clock.now()

    def call(engine: FlowEngine) -> Any:
        return engine.on_subflow_finished(step.flow, step.instance.state, node=node,
                                          epoch=epoch, result=effect.result, now=now,
                                          record=step.record)

    advance(conn, ctx, step, actor=scope.actor, now=now, depth=scope.depth + 1, call=call)
