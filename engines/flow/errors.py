"""Problems the flow engine reports: definition issues (at save time) and domain
errors (at run time).

Definition issues are collected, never raised one by one, so an analyst sees every
problem of a flow at once, each located by node id and JSON path. Domain errors are
raised by engine calls that cannot proceed (acting on a closed task, by the wrong
person); runtime maps their `code` to HTTP statuses at the edge (403/409).
"""

from __future__ import annotations

from dataclasses import dataclass

from engines.common import both


@dataclass(frozen=True, slots=True)
class FlowIssue:
    """One problem in a flow definition."""

    code: str
    message: dict[str, str]
    node: str | None = None
    path: str = ""

    def __str__(self) -> str:
        where = f"node {self.node}" if self.node else self.path or "flow"
        return f"{where}: {self.code}: {self.message['en']}"


def issue(code: str, zh: str, en: str, *, node: str | None = None, path: str = "") -> FlowIssue:
    return FlowIssue(code=code, message=both(zh, en), node=node, path=path)


class FlowDefinitionError(ValueError):
    """A flow that cannot be compiled; `issues` lists every problem found."""

    def __init__(self, issues: list[FlowIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(i) for i in issues))


class FlowError(Exception):
    """A run-time domain error: the call changed nothing.

    Codes: task_not_found, task_closed, task_waiting, not_assignee, instance_closed,
    action_not_allowed, bad_action, return_target, withdraw_not_allowed,
    not_initiator, field_not_editable, field_required, timer_unknown, flow_mismatch.
    """

    def __init__(self, code: str, zh: str, en: str) -> None:
        self.code = code
        self.message = both(zh, en)
        super().__init__(f"{code}: {en}")
