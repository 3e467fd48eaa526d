"""Flow-specific effects, beside the shared ones in `engines.effects`.

Runtime applies them in the same transaction as the command that caused them:
`CloseTasks` marks task rows done or cancelled, `FlowFinished` lets rules react to a
flow event, `StartSubflow` starts a child instance and remembers its parent so that
its end can wake the parent node.
"""

from __future__ import annotations

from dataclasses import dataclass

from engines.effects import Effect


@dataclass(frozen=True, slots=True)
class CloseTasks:
    instance_id: str
    task_ids: tuple[str, ...]
    reason: str  # approved | rejected | returned | transferred | cancelled | ...


@dataclass(frozen=True, slots=True)
class FlowFinished:
    instance_id: str
    flow: str
    result: str  # approved | rejected | withdrawn | error
    record_id: str | None = None


@dataclass(frozen=True, slots=True)
class StartSubflow:
    """Start `flow` on the record; when `wait`, report its end back with
    `FlowEngine.on_subflow_finished(node=parent_node, epoch=epoch)`."""

    flow: str
    parent_instance: str
    parent_node: str
    epoch: int
    record_id: str | None = None
    wait: bool = True


FlowEffect = Effect | CloseTasks | FlowFinished | StartSubflow
