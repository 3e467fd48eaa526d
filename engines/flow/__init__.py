"""The flow engine: approval flows as Chinese business software draws them.

Spec (`engines.flow.spec.FlowSpec`) → `compile_flow(spec, compile_condition)` →
immutable `CompiledFlow` → `FlowEngine(directory, calendar)` calls that take an
`InstanceState` and an event and return `(new_state, effects)`.
"""

from engines.flow.actions import TaskAction
from engines.flow.compile import (
    CompiledFlow,
    CompiledNode,
    FieldAccess,
    compile_flow,
    validate_flow,
)
from engines.flow.effects import CloseTasks, FlowEffect, FlowFinished, StartSubflow
from engines.flow.engine import FlowEngine, Step
from engines.flow.errors import FlowDefinitionError, FlowError, FlowIssue
from engines.flow.ports import Condition, ConditionCompiler, Directory, WorkCalendar
from engines.flow.spec import FlowSpec
from engines.flow.state import InstanceState

__all__ = [
    "CloseTasks", "CompiledFlow", "CompiledNode", "Condition", "ConditionCompiler",
    "Directory", "FieldAccess", "FlowDefinitionError", "FlowEffect", "FlowEngine", "FlowError",
    "FlowFinished", "FlowIssue", "FlowSpec", "InstanceState", "StartSubflow", "Step",
    "TaskAction", "WorkCalendar", "compile_flow", "validate_flow",
]
