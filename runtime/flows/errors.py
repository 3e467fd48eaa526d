"""The flow engine's domain errors as the API's errors (status chosen here, once)."""

from __future__ import annotations

from engines.flow import FlowError
from runtime.errors import BadRequest, Conflict, Forbidden, LoomError, NotFound, ValidationFailed

_STATUS: dict[str, type[LoomError]] = {
    "not_assignee": Forbidden,
    "not_initiator": Forbidden,
    "action_not_allowed": Forbidden,
    "task_not_found": NotFound,
    "task_closed": Conflict,
    "task_waiting": Conflict,
    "instance_closed": Conflict,
    "withdraw_not_allowed": Conflict,
    "flow_mismatch": Conflict,
    "timer_unknown": Conflict,
    "return_target": ValidationFailed,
    "field_not_editable": ValidationFailed,
    "field_required": ValidationFailed,
    "bad_action": ValidationFailed,
}


def domain_error(error: FlowError) -> LoomError:
    """The LoomError for a FlowError, keeping its code and both messages."""
    cls = _STATUS.get(error.code, BadRequest)
    return cls(error.message["zh"], error.message["en"], code=error.code)


def instance_busy() -> Conflict:
    return Conflict("流程实例刚被他人更新，请刷新后重试",
                    "The flow instance was just changed by someone else; reload and retry",
                    code="instance_busy")
