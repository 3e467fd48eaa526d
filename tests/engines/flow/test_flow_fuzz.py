"""Random action sequences (hypothesis): every call either raises a FlowError and
changes nothing, or returns a state that round-trips through JSON and keeps the
invariants — open tasks belong to active nodes, a running instance always has
something to wait for, a finished one has no open task."""

from __future__ import annotations

from typing import Any

from flow_testkit import T0, FakeDirectory, build
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_flow_parallel import PARALLEL

from engines.effects import ScheduleAt
from engines.flow import FlowEngine, FlowError, InstanceState, TaskAction

FLOW: dict[str, Any] = {
    **PARALLEL,
    "key": "fuzz",
    "nodes": [
        {**n, "mode": "countersign", "sla": {"due": "PT1H", "on_timeout": "escalate",
                                             "escalate_to": [{"kind": "user", "user": "esc"}]},
         "assignees": [*n["assignees"], {"kind": "user", "user": "zed"}]}
        if n["id"] == "tech" else
        {**n, "on_reject": "to_previous"} if n["id"] == "law2" else n
        for n in PARALLEL["nodes"]],
}
COMPILED = build(FLOW)
ENGINE = FlowEngine(FakeDirectory())
ACTIONS = ["approve", "approve", "approve", "reject", "return", "transfer", "delegate",
           "add_signer", "comment", "cc", "withdraw", "timer"]

step = st.tuples(st.sampled_from(ACTIONS), st.integers(0, 50), st.sampled_from(
    ["previous", "initiator", "prep", "law", "before", "after"]))


def check(state: InstanceState) -> None:
    assert InstanceState.from_json(state.to_json()).to_json() == state.to_json()
    open_tasks = state.open_tasks()
    for task in open_tasks:
        assert task.node in state.active and state.active[task.node].epoch == task.epoch
    if state.status == "running":
        assert state.active, "a running instance waits for nothing"
    else:
        assert not open_tasks and not state.active


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=25))
def test_random_actions_keep_the_instance_consistent(steps: list[tuple[str, int, str]]) -> None:
    record: dict[str, Any] = {}
    state, effects = ENGINE.start(COMPILED, instance_id="f", initiator="ivan", now=T0,
                                  record=record)
    timers = [e for e in effects if isinstance(e, ScheduleAt)]
    check(state)
    for action, pick, extra in steps:
        if state.status != "running":
            break
        before = state.to_json()
        try:
            if action == "withdraw":
                who = [state.initiator, *(t.assignee for t in state.tasks.values())]
                state, effects = ENGINE.withdraw(COMPILED, state, actor=who[pick % len(who)],
                                                 now=T0, record=record)
            elif action == "timer":
                if not timers:
                    continue
                timer = timers[pick % len(timers)]
                state, effects = ENGINE.on_timer(COMPILED, state, timer.payload, now=timer.at,
                                                 record=record)
            else:
                tasks = sorted(state.tasks.values(), key=lambda t: t.id)
                if pick % 5 and state.open_tasks():  # mostly act on open tasks
                    tasks = state.open_tasks()
                task = tasks[pick % len(tasks)]
                state, effects = ENGINE.act(COMPILED, state, TaskAction(
                    task.id, task.assignee, action, comment="c",
                    to=extra if action == "return" else None,
                    users=(f"u{pick}",), position=extra if extra in ("before", "after")
                    else "before"), now=T0, record=record)
        except FlowError:
            assert state.to_json() == before
            continue
        timers += [e for e in effects if isinstance(e, ScheduleAt)]
        state = InstanceState.from_json(state.to_json())
        check(state)
