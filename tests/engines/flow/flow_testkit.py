"""Fakes and a driver for the flow engine tests (pure, in memory).

The driver round-trips the instance state through `to_json`/`from_json` after every
step, as SpiffWorkflow's `save_restore` does, so every test also proves that a flow
survives being stored and reloaded mid-run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from simpleeval import SimpleEval

from engines.effects import CreateTask, Notify, ScheduleAt
from engines.flow import FlowEngine, FlowSpec, InstanceState, TaskAction, compile_flow
from engines.flow.compile import CompiledFlow
from engines.flow.effects import FlowEffect
from engines.flow.ports import Condition

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def compile_condition(expr: str) -> Condition:
    """A tiny stand-in for engines.expr: Python syntax through simpleeval."""
    evaluator = SimpleEval()
    parsed = evaluator.parse(expr)

    def condition(record: Mapping[str, Any]) -> bool:
        evaluator.names = dict(record)
        return bool(evaluator.eval(expr, previously_parsed=parsed))

    return condition


@dataclass
class FakeDirectory:
    roles: dict[str, list[str]] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)  # user → direct head
    admin_users: list[str] = field(default_factory=lambda: ["admin"])

    def users_with_role(self, role: str) -> Sequence[str]:
        return self.roles.get(role, [])

    def department_head(self, user: str, levels: int) -> str | None:
        current: str | None = user
        for _ in range(levels):
            current = self.heads.get(current) if current else None
        return current

    def users_from_expression(self, expr: str, record: Mapping[str, Any]) -> Sequence[str]:
        value = record.get(expr)
        return [value] if isinstance(value, str) else list(value or [])

    def admins(self) -> Sequence[str]:
        return self.admin_users


class WeekdayCalendar:
    """Working time = Monday to Friday, whole days."""

    def add_working(self, start: datetime, delta: timedelta) -> datetime:
        current = start
        remaining = delta
        step = timedelta(hours=1)
        while remaining > timedelta(0):
            current += step
            if current.weekday() < 5:
                remaining -= step
        return current


def build(doc: dict[str, Any]) -> CompiledFlow:
    doc = {"schema_version": 1, "name": doc.get("key", "f"), "form": "doc", **doc}
    return compile_flow(FlowSpec.model_validate(doc), compile_condition)


class Driver:
    """Runs one instance step by step, reloading its state from JSON each time."""

    def __init__(self, flow: CompiledFlow, directory: FakeDirectory | None = None,
                 record: dict[str, Any] | None = None, calendar: Any = None) -> None:
        self.flow = flow
        self.engine = FlowEngine(directory or FakeDirectory(), calendar)
        self.record: dict[str, Any] = dict(record or {})
        self.now = T0
        self.state: InstanceState | None = None
        self.effects: list[FlowEffect] = []
        self.all_effects: list[FlowEffect] = []

    def _keep(self, step: tuple[InstanceState, list[FlowEffect]]) -> InstanceState:
        state, effects = step
        text = state.to_json()
        restored = InstanceState.from_json(text)
        assert restored.to_json() == text
        self.state = restored
        self.effects = effects
        self.all_effects.extend(effects)
        return restored

    @property
    def s(self) -> InstanceState:
        assert self.state is not None
        return self.state

    def start(self, initiator: str = "ivan", **kw: Any) -> InstanceState:
        return self._keep(self.engine.start(self.flow, instance_id="i1", initiator=initiator,
                                            now=self.now, record=self.record, record_id="r1",
                                            **kw))

    def task_of(self, user: str, node: str | None = None) -> str:
        tasks = [t for t in self.s.open_tasks(user) if node is None or t.node == node]
        assert len(tasks) == 1, f"{user} holds {[(t.id, t.node) for t in tasks]}"
        return tasks[0].id

    def act(self, user: str, action: str = "approve", node: str | None = None,
            task_id: str | None = None, **kw: Any) -> InstanceState:
        tid = task_id or self.task_of(user, node)
        before = self.s.to_json()
        step = self.engine.act(self.flow, self.s, TaskAction(tid, user, action, **kw),
                               now=self.now, record=self.record)
        assert self.s.to_json() == before, "the engine changed the state it was given"
        return self._keep(step)

    def withdraw(self, user: str) -> InstanceState:
        return self._keep(self.engine.withdraw(self.flow, self.s, actor=user, now=self.now,
                                               record=self.record))

    def fire(self, timer: ScheduleAt) -> InstanceState:
        self.now = timer.at
        return self._keep(self.engine.on_timer(self.flow, self.s, timer.payload, now=self.now,
                                               record=self.record))

    def holders(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for t in self.s.open_tasks():
            out.setdefault(t.node, []).append(t.assignee)
        return {k: sorted(v) for k, v in out.items()}

    def timers(self, event: str | None = None) -> list[ScheduleAt]:
        return [e for e in self.effects if isinstance(e, ScheduleAt)
                and (event is None or e.payload["event"] == event)]

    def notified(self) -> list[str]:
        return sorted(r.value or "" for e in self.effects if isinstance(e, Notify) for r in e.to)

    def created(self) -> list[str]:
        return [r.value or "" for e in self.effects if isinstance(e, CreateTask)
                for r in e.assignees]
