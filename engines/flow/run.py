"""One engine step over a working copy of an instance: entering, completing and
leaving nodes.

A `Run` is created per engine call with a *clone* of the caller's state, collects
effects while it moves tokens through the graph, and hands back `(state, effects)`.
Nodes are entered from a queue rather than by recursion, so long chains of automatic
nodes cannot overflow the stack, and parallel branches are entered in edge order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engines.common import Label, both, text_of
from engines.effects import CallWebhook as CallWebhookEffect
from engines.effects import (
    CreateRecord,
    CreateTask,
    Notify,
    Recipient,
    ScheduleAt,
    SetFields,
    StartFlow,
)
from engines.flow.assignees import resolve
from engines.flow.compile import CompiledFlow, CompiledNode
from engines.flow.durations import add_duration, parse_duration
from engines.flow.effects import CloseTasks, FlowEffect, FlowFinished, StartSubflow
from engines.flow.ports import Directory, WorkCalendar
from engines.flow.spec import (
    ActionNode,
    CreateRecordAction,
    NotifyAction,
    NotifyNode,
    SetFieldsAction,
    StartFlowAction,
    SubflowNode,
    TimerNode,
    WebhookAction,
)
from engines.flow.state import (
    CANCELLED,
    DONE,
    OPEN,
    WAITING,
    Activation,
    CarbonCopy,
    InstanceState,
    Task,
    TrailEntry,
)

TIMER_KIND = "flow.timer"
TASK_TYPES = frozenset({"approval", "handle"})


class Run:
    def __init__(self, flow: CompiledFlow, state: InstanceState, *, now: datetime,
                 record: Mapping[str, Any], directory: Directory,
                 calendar: WorkCalendar | None) -> None:
        self.flow = flow
        self.state = state
        self.now = now
        self.record = record
        self.directory = directory
        self.calendar = calendar
        self.effects: list[FlowEffect] = []
        self._closed: dict[str, list[str]] = {}
        self._queue: deque[tuple[str, str | None, bool]] = deque()
        self._moving = False

    # -- bookkeeping ------------------------------------------------------------------

    def result(self) -> tuple[InstanceState, list[FlowEffect]]:
        for reason, ids in self._closed.items():
            self.effects.append(CloseTasks(self.state.instance_id, tuple(ids), reason))
        self._closed = {}
        return self.state, self.effects

    def trail(self, action: str, *, actor: str | None = None, node: str | None = None,
              task: str | None = None, comment: str | None = None,
              detail: dict[str, Any] | None = None) -> None:
        self.state.trail.append(TrailEntry(self.now, actor, action, node, task, comment,
                                           detail))

    def new_task(self, node: CompiledNode, act: Activation, user: str, *,
                 slot: str | None = None, kind: str | None = None, owner: str | None = None,
                 resume_task: str | None = None) -> Task:
        task_id = self.state.next_id()
        if kind is None:
            kind = "handle" if node.type == "handle" else "approve"
        task = Task(task_id, node.id, act.epoch, user, slot or task_id, self.now, kind,
                    owner=owner, resume_task=resume_task, due=act.due_at)
        self.state.tasks[task_id] = task
        if slot is None:
            act.slots.append(task_id)
        self.effects.append(CreateTask(
            title=node.title, assignees=(Recipient("user", user),),
            record_id=self.state.record_id, form=self.flow.form, due=act.due_at,
            data={"task_id": task_id, "instance_id": self.state.instance_id, "node": node.id,
                  "kind": kind, "flow": self.flow.key}))
        return task

    def close_task(self, task: Task, outcome: str, *, status: str = DONE) -> None:
        task.status = status
        task.outcome = outcome
        task.closed_at = self.now
        self._closed.setdefault(outcome, []).append(task.id)

    def cancel_node_tasks(self, node_id: str, outcome: str = "cancelled") -> None:
        for task in self.state.tasks.values():
            if task.node == node_id and task.status in (OPEN, WAITING):
                self.close_task(task, outcome, status=CANCELLED)

    def notify_users(self, users: list[str], message: dict[str, str]) -> None:
        if users:
            self.effects.append(Notify(
                to=tuple(Recipient("user", u) for u in users), message=message,
                record_id=self.state.record_id, form=self.flow.form))

    # -- moving tokens ------------------------------------------------------------------

    def go(self, node_id: str, *, resume_to: str | None = None, returned: bool = False) -> None:
        self._queue.append((node_id, resume_to, returned))
        if self._moving:
            return
        self._moving = True
        try:
            while self._queue and self.state.running:
                target, resume, back = self._queue.popleft()
                self._enter(self.flow.nodes[target], resume, back)
        finally:
            self._moving = False
            self._queue.clear()

    def follow(self, node: CompiledNode) -> None:
        for edge in node.edges:
            self.go(edge.target)

    def _enter(self, node: CompiledNode, resume_to: str | None, returned: bool) -> None:
        kind = node.type
        if kind in TASK_TYPES:
            from engines.flow.approval import enter_task_node
            enter_task_node(self, node, resume_to)
        elif kind == "start":
            if returned:
                act = self.activate(node, resume_to)
                self.new_task(node, act, self.state.initiator, kind="resubmit")
            else:
                self.state.path.append(node.id)
                self.follow(node)
        elif kind == "condition":
            self._route(node)
        elif kind == "parallel":
            self.trail("split", node=node.id)
            self.follow(node)
        elif kind == "join":
            arrived = self.state.joins.get(node.id, 0) + 1
            if arrived >= node.expected:
                self.state.joins.pop(node.id, None)
                self.trail("join", node=node.id)
                self.follow(node)
            else:
                self.state.joins[node.id] = arrived
        elif kind == "end":
            self._reach_end(node)
        else:
            self._enter_automatic(node, resume_to)

    def _route(self, node: CompiledNode) -> None:
        for edge in node.edges:
            if edge.default or (edge.condition is not None and edge.condition(self.record)):
                self.trail("route", node=node.id, detail={"to": edge.target})
                self.go(edge.target)
                return
        self.fail("no_path", node.id)

    def _reach_end(self, node: CompiledNode) -> None:
        result = getattr(node.spec, "result", "approved")
        if result != "approved":
            self.finish(result, node=node.id)
        elif not self.state.active and not self.state.joins and not self._queue:
            self.finish("approved", node=node.id)

    def _enter_automatic(self, node: CompiledNode, resume_to: str | None) -> None:
        spec = node.spec
        if isinstance(spec, ActionNode):
            self._run_actions(node, spec)
            self.follow(node)
        elif isinstance(spec, NotifyNode):
            users = resolve(spec.to, node_id=node.id, state=self.state, record=self.record,
                            directory=self.directory)
            for user in users:
                self.state.cc.append(CarbonCopy(user, node.id, self.now))
            message = node.title if spec.message is None else _label(spec.message)
            if users:
                self.effects.append(Notify(
                    to=tuple(Recipient("user", u) for u in users), message=message,
                    channels=tuple(spec.channels), record_id=self.state.record_id,
                    form=self.flow.form))
            self.trail("cc", node=node.id, detail={"users": users})
            self.follow(node)
        elif isinstance(spec, SubflowNode):
            act = self.activate(node, resume_to) if spec.wait else None
            self.effects.append(StartSubflow(
                flow=spec.flow, parent_instance=self.state.instance_id, parent_node=node.id,
                epoch=act.epoch if act else 0, record_id=self.state.record_id, wait=spec.wait))
            self.trail("subflow", node=node.id, detail={"flow": spec.flow})
            if act is None:
                self.follow(node)
        elif isinstance(spec, TimerNode):
            act = self.activate(node, resume_to)
            at = add_duration(self.now, parse_duration(spec.wait), spec.days, self.calendar)
            act.due_at = at
            self.schedule(act, at, "wait")

    def _run_actions(self, node: CompiledNode, spec: ActionNode) -> None:
        for index, action in enumerate(spec.do):
            if isinstance(action, SetFieldsAction):
                self.effects.append(SetFields(values=dict(action.values), form=self.flow.form,
                                              record_id=self.state.record_id))
            elif isinstance(action, NotifyAction):
                users = resolve(action.to, node_id=node.id, state=self.state,
                                record=self.record, directory=self.directory)
                if users:
                    self.effects.append(Notify(
                        to=tuple(Recipient("user", u) for u in users),
                        message=_label(action.message), channels=tuple(action.channels),
                        record_id=self.state.record_id, form=self.flow.form))
            elif isinstance(action, StartFlowAction):
                self.effects.append(StartFlow(flow=action.flow, record_id=self.state.record_id,
                                              form=self.flow.form))
            elif isinstance(action, WebhookAction):
                self.effects.append(CallWebhookEffect(url=action.url, payload=dict(action.payload),
                                                      secret_ref=action.secret_ref))
            elif isinstance(action, CreateRecordAction):
                compiled = node.action_values[index]
                self.effects.append(CreateRecord(form=action.form, values={
                    key: value(self.record) for key, value in compiled.items()}))
        self.trail("action", node=node.id, detail={"count": len(spec.do)})

    def activate(self, node: CompiledNode, resume_to: str | None) -> Activation:
        self.state.counter += 1
        act = Activation(node.id, self.state.counter, self.now, resume_to=resume_to)
        self.state.active[node.id] = act
        return act

    def schedule(self, act: Activation, at: datetime, event: str) -> None:
        payload = {"instance": self.state.instance_id, "node": act.node, "epoch": act.epoch,
                   "event": event}
        key = f"{self.state.instance_id}:{act.node}:{act.epoch}:{event}"
        self.effects.append(ScheduleAt(at=at, kind=TIMER_KIND, payload=payload, key=key))

    def complete(self, act: Activation) -> None:
        """The node passed: close what is left of it and move on (or jump back)."""
        self.state.active.pop(act.node, None)
        self.cancel_node_tasks(act.node)
        self.state.path.append(act.node)
        if act.resume_to is not None:
            self.trail("resume", node=act.node, detail={"to": act.resume_to})
            self.go(act.resume_to)
        else:
            self.follow(self.flow.nodes[act.node])

    # -- ending -------------------------------------------------------------------------

    def _close_everything(self) -> None:
        for task in self.state.tasks.values():
            if task.status in (OPEN, WAITING):
                self.close_task(task, "cancelled", status=CANCELLED)
        self.state.active.clear()
        self.state.joins.clear()
        self._queue.clear()

    def finish(self, result: str, *, node: str | None = None, actor: str | None = None,
               comment: str | None = None) -> None:
        self._close_everything()
        self.state.status = result
        self.state.ended_at = self.now
        self.trail("finish", actor=actor, node=node, comment=comment, detail={"result": result})
        self.effects.append(FlowFinished(self.state.instance_id, self.flow.key, result,
                                         self.state.record_id))

    def fail(self, code: str, node: str | None) -> None:
        self._close_everything()
        self.state.status = "error"
        self.state.error = code
        self.state.ended_at = self.now
        self.trail("error", node=node, detail={"code": code})
        self.effects.append(FlowFinished(self.state.instance_id, self.flow.key, "error",
                                         self.state.record_id))


def _label(label: Label) -> dict[str, str]:
    return both(text_of(label, "zh"), text_of(label, "en"))
