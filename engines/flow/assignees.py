"""Who gets the tasks of a node: resolve assignee specs, then apply the policies.

Resolution goes through the injected `Directory` (roles, department heads and admins
live in the database). Policies follow the Chinese approval engines (yudao's
`BpmAutoApproveTypeEnum` and start-user handler, FlowLong's `approveSelf`):

- initiator is approver: `approve` (they decide like anyone), `skip` (auto-pass their
  vote), `superior` (their direct department head decides instead);
- repeated approver — someone who already approved in this instance: `never` skipped,
  skipped `once` (the first time they reappear), `adjacent` (only if they approved
  the node just before), `always`. Approvals undone by a return do not count;
- no assignee found: `admin` (the flow's admins, else the directory's), `skip` the
  node, or `error` (the instance stops in status error).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engines.flow.compile import CompiledFlow, CompiledNode
from engines.flow.ports import Directory
from engines.flow.spec import (
    AssigneeSpec,
    ChosenAtStartAssignee,
    DepartmentHeadAssignee,
    ExprAssignee,
    FieldAssignee,
    InitiatorAssignee,
    RoleAssignee,
    UserAssignee,
)
from engines.flow.state import InstanceState


@dataclass(frozen=True, slots=True)
class Assignment:
    deciders: tuple[str, ...]  # get a task
    auto: tuple[tuple[str, str], ...]  # (user, reason): pass without a task
    empty: bool  # nobody at all was found


def _users_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str) and v]
    return []


def resolve(specs: Iterable[AssigneeSpec], *, node_id: str, state: InstanceState,
            record: Mapping[str, Any], directory: Directory) -> list[str]:
    """The users named by the specs, in order, each once."""
    users: list[str] = []
    for spec in specs:
        if isinstance(spec, UserAssignee):
            users.append(spec.user)
        elif isinstance(spec, RoleAssignee):
            users.extend(directory.users_with_role(spec.role))
        elif isinstance(spec, DepartmentHeadAssignee):
            people = [state.initiator] if spec.of == "initiator" else _users_in(
                record.get(spec.of))
            for person in people:
                head = directory.department_head(person, spec.levels)
                if head:
                    users.append(head)
        elif isinstance(spec, FieldAssignee):
            users.extend(_users_in(record.get(spec.field)))
        elif isinstance(spec, ExprAssignee):
            users.extend(directory.users_from_expression(spec.expr, record))
        elif isinstance(spec, InitiatorAssignee):
            users.append(state.initiator)
        elif isinstance(spec, ChosenAtStartAssignee):
            users.extend(state.chosen.get(node_id, ()))
    return list(dict.fromkeys(users))


def _already_approved(user: str, state: InstanceState, policy: str) -> bool:
    if policy == "never":
        return False
    if policy == "adjacent":
        return bool(state.path) and user in state.approvals.get(state.path[-1], ())
    approved = any(user in users for users in state.approvals.values())
    if not approved:
        return False
    if policy == "once":
        return user not in state.skipped_once
    return True  # always


def assign(flow: CompiledFlow, node: CompiledNode, *, state: InstanceState,
           record: Mapping[str, Any], directory: Directory,
           specs: Sequence[AssigneeSpec] | None = None) -> Assignment:
    """Resolve the node's assignees (or `specs`) and apply its policies.

    `state.skipped_once` is updated when a `once` skip is used: the caller passes a
    working copy of the state.
    """
    if specs is None:
        specs = getattr(node.spec, "assignees", [])
    users = resolve(specs, node_id=node.id, state=state, record=record, directory=directory)
    deciders: list[str] = []
    auto: list[tuple[str, str]] = []
    for user in users:
        if user == state.initiator and node.initiator_policy != "approve":
            if node.initiator_policy == "skip":
                auto.append((user, "initiator"))
                continue
            head = directory.department_head(user, 1)
            if head and head not in deciders:
                deciders.append(head)
            continue
        if _already_approved(user, state, node.repeat_policy):
            if node.repeat_policy == "once":
                state.skipped_once.append(user)
            auto.append((user, "repeated"))
            continue
        if user not in deciders:
            deciders.append(user)
    empty = not deciders and not auto
    if empty and node.empty_policy == "admin":
        admins = list(flow.admins) or list(directory.admins())
        deciders = list(dict.fromkeys(admins))
    return Assignment(tuple(deciders), tuple(auto), empty)
