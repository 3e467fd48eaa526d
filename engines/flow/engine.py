"""The flow engine's public calls: start, act, withdraw, timers, sub-flows, cc reads.

Every call takes an `InstanceState` and an event and returns `(new_state, effects)`;
the state passed in is never changed, nothing is saved, and the clock and the record
data come in as arguments (`now`, `record`). Runtime stores the new state and applies
the effects in one transaction; concurrency control (a version on the instance row)
is runtime's job, but votes are idempotent in the state itself: a task acts once, a
second act raises `FlowError("task_closed")`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from engines.common import both
from engines.effects import CreateTask, Notify, Recipient
from engines.flow.actions import DECISIONS, HANDLERS, TaskAction, urge_open_tasks
from engines.flow.approval import APPROVE, REJECT, decide, escalate
from engines.flow.compile import CompiledFlow
from engines.flow.effects import CloseTasks, FlowEffect
from engines.flow.errors import FlowError
from engines.flow.ports import Directory, WorkCalendar
from engines.flow.run import Run
from engines.flow.state import (
    CANCELLED,
    OPEN,
    WAITING,
    Activation,
    CarbonCopy,
    InstanceState,
    TrailEntry,
)

Step = tuple[InstanceState, list[FlowEffect]]


def _require_running(state: InstanceState, flow: CompiledFlow) -> None:
    if state.flow != flow.key:
        raise FlowError("flow_mismatch", "流程实例与流程定义不匹配",
                        f"instance of {state.flow} driven with flow {flow.key}")
    if not state.running:
        raise FlowError("instance_closed", "流程已结束", f"the instance is {state.status}")


class FlowEngine:
    """Pure flow interpreter; holds only its ports (directory, working calendar)."""

    def __init__(self, directory: Directory, calendar: WorkCalendar | None = None) -> None:
        self.directory = directory
        self.calendar = calendar

    def _run(self, flow: CompiledFlow, state: InstanceState, now: datetime,
             record: Mapping[str, Any]) -> Run:
        return Run(flow, state.clone(), now=now, record=record, directory=self.directory,
                   calendar=self.calendar)

    def start(self, flow: CompiledFlow, *, instance_id: str, initiator: str, now: datetime,
              record: Mapping[str, Any], record_id: str | None = None,
              chosen: Mapping[str, Sequence[str]] | None = None,
              flow_version: str | None = None, comment: str | None = None) -> Step:
        """A new instance, run until it waits for people, timers or a sub-flow."""
        state = InstanceState(instance_id=instance_id, flow=flow.key, initiator=initiator,
                              started_at=now, flow_version=flow_version, record_id=record_id,
                              chosen={k: tuple(v) for k, v in (chosen or {}).items()})
        run = Run(flow, state, now=now, record=record, directory=self.directory,
                  calendar=self.calendar)
        run.trail("start", actor=initiator, node=flow.start, comment=comment)
        run.go(flow.start)
        return run.result()

    def act(self, flow: CompiledFlow, state: InstanceState, action: TaskAction, *,
            now: datetime, record: Mapping[str, Any]) -> Step:
        """A person acts on a task (approve, reject, return, transfer, …)."""
        _require_running(state, flow)
        task = state.tasks.get(action.task_id)
        if task is None:
            raise FlowError("task_not_found", "待办不存在", f"no task {action.task_id}")
        if task.status == WAITING:
            raise FlowError("task_waiting", "加签人处理完之前不能操作此待办",
                            "this task waits for the signers added before it")
        if task.status != OPEN:
            raise FlowError("task_closed", "待办已处理或已取消",
                            f"task {task.id} is already {task.outcome or task.status}")
        if task.assignee != action.actor:
            raise FlowError("not_assignee", "你不是此待办的处理人",
                            f"{action.actor} does not hold task {task.id}")
        handler = HANDLERS.get(action.action)
        allowed = flow.nodes[task.node].actions
        if task.kind in ("resubmit", "escalation"):
            allowed = frozenset({"approve", "reject", "comment"})
        if handler is None or action.action not in allowed:
            raise FlowError("action_not_allowed", f"此节点不允许操作 {action.action}",
                            f"{action.action} is not allowed on this task")
        run = self._run(flow, state, now, record)
        handler(run, run.state.tasks[task.id], action)
        if action.action in DECISIONS:
            run.state.acts += 1
        if action.action == "approve" and task.kind == "approve":
            run.state.undo = state
            run.state.undo_actor = action.actor
            run.state.undo_acts = run.state.acts
        elif action.action in DECISIONS:
            run.state.undo = None
        return run.result()

    def withdraw(self, flow: CompiledFlow, state: InstanceState, *, actor: str, now: datetime,
                 record: Mapping[str, Any], comment: str | None = None) -> Step:
        """撤回. The last approver takes their approval back while nobody has acted
        since; the initiator cancels the instance while nobody has acted at all."""
        _require_running(state, flow)
        if state.undo is not None and state.undo_actor == actor and state.acts == state.undo_acts:
            return self._take_back(flow, state, actor=actor, now=now, record=record,
                                   comment=comment)
        if actor == state.initiator and state.acts == 0:
            run = self._run(flow, state, now, record)
            run.finish("withdrawn", actor=actor, comment=comment)
            return run.result()
        raise FlowError("withdraw_not_allowed", "已有人处理，不能撤回",
                        "someone has acted since; this can no longer be withdrawn")

    def _take_back(self, flow: CompiledFlow, state: InstanceState, *, actor: str,
                   now: datetime, record: Mapping[str, Any], comment: str | None) -> Step:
        previous = state.undo_state()
        if previous is None:
            raise FlowError("withdraw_not_allowed", "没有可撤回的操作", "nothing to withdraw")
        restored = previous.clone()
        restored.counter = state.counter
        restored.acts = state.acts
        restored.trail = list(state.trail)
        restored.cc = list(state.cc)
        restored.undo = None
        restored.undo_actor = None
        run = Run(flow, restored, now=now, record=record, directory=self.directory,
                  calendar=self.calendar)
        stale = [t.id for t in state.tasks.values()
                 if t.status in (OPEN, WAITING) and (
                     t.id not in restored.tasks or restored.tasks[t.id].status not in (OPEN,))]
        # tasks open again after the restore get fresh ids: a task id acts only once
        for old in list(restored.tasks.values()):
            if old.status != OPEN:
                continue
            current = state.tasks.get(old.id)
            if current is not None and current.status == OPEN:
                continue
            old.status = CANCELLED
            old.outcome = "withdrawn"
            old.closed_at = now
            node = flow.nodes[old.node]
            act = restored.active[old.node]
            run.new_task(node, act, old.assignee, slot=old.slot, kind=old.kind, owner=old.owner,
                         resume_task=old.resume_task)
        for task_id in stale:  # created after the approval: kept in the record, cancelled
            if task_id not in restored.tasks:
                gone = state.tasks[task_id].copy()
                gone.status, gone.outcome, gone.closed_at = CANCELLED, "withdrawn", now
                restored.tasks[task_id] = gone
        if stale:
            run.effects.append(CloseTasks(state.instance_id, tuple(stale), "withdrawn"))
        run.trail("withdraw", actor=actor, comment=comment)
        return run.result()

    def on_timer(self, flow: CompiledFlow, state: InstanceState, payload: Mapping[str, Any], *,
                 now: datetime, record: Mapping[str, Any]) -> Step:
        """A `ScheduleAt(kind="flow.timer")` came due. Timers of an earlier entry of
        the node (before a return, a withdraw or a finish) are stale and do nothing."""
        act = state.active.get(str(payload.get("node")))
        if not state.running or act is None or act.epoch != payload.get("epoch"):
            return state, []
        run = self._run(flow, state, now, record)
        act = run.state.active[act.node]
        node = flow.nodes[act.node]
        event = payload.get("event")
        holders = sorted({t.assignee for t in run.state.tasks.values()
                          if t.node == node.id and t.status == OPEN})
        if event == "wait":
            run.trail("timer", node=node.id)
            run.complete(act)
        elif event == "remind":
            run.notify_users(holders, both(f"「{node.title['zh']}」即将超时",
                                           f"'{node.title['en']}' is due soon"))
            run.trail("remind", node=node.id, detail={"users": holders})
        elif event == "timeout":
            self._timeout(run, act, holders)
        else:
            raise FlowError("timer_unknown", "未知的定时事件", f"unknown timer event {event!r}")
        return run.result()

    @staticmethod
    def _timeout(run: Run, act: Activation, holders: list[str]) -> None:
        node = run.flow.nodes[act.node]
        sla = node.sla
        policy = sla.on_timeout if sla is not None else "none"
        run.trail("timeout", node=node.id, detail={"policy": policy})
        if policy == "remind":
            run.notify_users(holders, both(f"「{node.title['zh']}」已超时",
                                           f"'{node.title['en']}' is overdue"))
        elif policy == "escalate":
            escalate(run, node, act)
        elif policy in ("approve", "reject"):
            run.cancel_node_tasks(node.id, "timeout")
            decide(run, act, APPROVE if policy == "approve" else REJECT)

    def on_subflow_finished(self, flow: CompiledFlow, state: InstanceState, *, node: str,
                            epoch: int, result: str, now: datetime,
                            record: Mapping[str, Any]) -> Step:
        """A child started by a waiting sub-flow node ended; an unapproved child
        rejects the parent."""
        act = state.active.get(node)
        if not state.running or act is None or act.epoch != epoch:
            return state, []
        run = self._run(flow, state, now, record)
        run.trail("subflow_finished", node=node, detail={"result": result})
        if result == "approved":
            run.complete(run.state.active[node])
        else:
            run.finish("rejected", node=node)
        return run.result()

    def urge(self, flow: CompiledFlow, state: InstanceState, *, actor: str, now: datetime,
             record: Mapping[str, Any], comment: str | None = None) -> Step:
        """催办: the initiator reminds everyone holding an open task."""
        _require_running(state, flow)
        if actor != state.initiator:
            raise FlowError("not_initiator", "只有发起人可以催办", "only the initiator can urge")
        run = self._run(flow, state, now, record)
        urge_open_tasks(run, actor, comment)
        return run.result()

    @staticmethod
    def comment(state: InstanceState, *, actor: str, text: str, now: datetime) -> InstanceState:
        """A comment on the instance (not on a task) goes to the trail."""
        if not text:
            raise FlowError("bad_action", "评论不能为空", "a comment needs text")
        new = state.clone()
        new.trail.append(TrailEntry(now, actor, "comment", comment=text))
        return new

    @staticmethod
    def read_cc(state: InstanceState, *, user: str, now: datetime) -> InstanceState:
        """Mark the user's carbon copies of this instance read."""
        new = state.clone()
        new.cc = [CarbonCopy(c.user, c.node, c.at, now) if c.user == user and c.read_at is None
                  else c for c in state.cc]
        return new


def task_created(effect: FlowEffect) -> str | None:
    """The task id of a CreateTask effect this engine emitted (tests, runtime)."""
    if isinstance(effect, CreateTask):
        value = effect.data.get("task_id")
        return value if isinstance(value, str) else None
    return None


def recipients_of(effect: FlowEffect) -> tuple[str, ...]:
    to: tuple[Recipient, ...] = ()
    if isinstance(effect, Notify):
        to = effect.to
    elif isinstance(effect, CreateTask):
        to = effect.assignees
    return tuple(r.value for r in to if r.value)
