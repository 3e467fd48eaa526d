"""The flow definition as written in `flows/<key>.json` (FORMATS.md).

This module is only the *shape* of a flow: pydantic models that parse the file, refuse
unknown keys and say where a definition is malformed. Meaning (a reachable graph, an
end reachable from every node, splits matched by joins, conditions that compile) is
checked by `engines.flow.compile.compile_flow`, which reports every problem at once,
each located by node id.

Approval behaviour is data on the node, as Chinese approval engines (FlowLong,
warm-flow, yudao) keep it, rather than BPMN multi-instance constructs: `mode`, `pass`,
`on_reject`, policies for self-approval, repeated approvers and empty assignee lists,
field permissions and an SLA.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from engines.common import Key, Label, StrictModel, Versioned

Expr = Annotated[str, Field(min_length=1, max_length=4000)]
"""An expression in Loom's expression language (engines.expr)."""



def _non_empty_duration(text: str) -> str:
    if text in ("P", "PT") or text.endswith("T"):
        raise ValueError("a duration needs at least one amount, e.g. P1D or PT2H")
    return text


Duration = Annotated[
    str,
    Field(
        pattern=r"^P(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$",
        max_length=40,
        description="ISO 8601 duration such as P1D, PT2H, PT30M, P1DT12H",
    ),
    AfterValidator(_non_empty_duration),
]

# ---------------------------------------------------------------------------
# Assignees (FORMATS.md: user, role, department_head, field, expr, initiator,
# chosen_at_start)


class UserAssignee(StrictModel):
    kind: Literal["user"]
    user: Annotated[str, Field(min_length=1, max_length=200)]


class RoleAssignee(StrictModel):
    kind: Literal["role"]
    role: Key


class DepartmentHeadAssignee(StrictModel):
    """The head of a person's department, `levels` up (1 = direct head)."""

    kind: Literal["department_head"]
    of: Literal["initiator"] | Key = "initiator"  # or a user field of the record
    levels: int = Field(default=1, ge=1, le=10)


class FieldAssignee(StrictModel):
    """The user(s) held in a user field of the record."""

    kind: Literal["field"]
    field: Key


class ExprAssignee(StrictModel):
    """Users computed by an expression; runtime's Directory evaluates it."""

    kind: Literal["expr"]
    expr: Expr


class InitiatorAssignee(StrictModel):
    kind: Literal["initiator"]


class ChosenAtStartAssignee(StrictModel):
    """发起人自选: the initiator picks the approvers of this node when starting."""

    kind: Literal["chosen_at_start"]
    max: int | None = Field(default=None, ge=1, le=100)


AssigneeSpec = Annotated[
    UserAssignee | RoleAssignee | DepartmentHeadAssignee | FieldAssignee | ExprAssignee
    | InitiatorAssignee | ChosenAtStartAssignee,
    Field(discriminator="kind"),
]

# ---------------------------------------------------------------------------
# Node settings


class FieldPermissions(StrictModel):
    """Which record fields a task at this node shows, lets edit and requires.

    `visible` None means every field not in `hidden`; runtime enforces these whenever
    a task edits the record (the engine also refuses edits outside `editable`).
    """

    visible: list[Key] | None = None
    hidden: list[Key] = Field(default_factory=list)
    editable: list[Key] = Field(default_factory=list)
    required: list[Key] = Field(default_factory=list)


class PassRule(StrictModel):
    """When a countersign node passes: `count` approvals, or a `ratio` of voters.

    With `veto` (the default) one rejection rejects the node at once; without it a
    rejection only counts, and the node is rejected when the rule can no longer be met
    (yudao #1069 asks for exactly this choice).
    """

    count: int | None = Field(default=None, ge=1, le=1000)
    ratio: float | None = Field(default=None, gt=0, le=1)
    veto: bool = True

    @model_validator(mode="after")
    def _one_rule(self) -> PassRule:
        if self.count is not None and self.ratio is not None:
            raise ValueError("give either count or ratio, not both")
        return self


class SlaSpec(StrictModel):
    """Due time of a node, a reminder before it, and what happens when it passes.

    The due time is `due` after the node is entered, or `due_at`: an expression over
    the record giving a date or an instant (a contract's promised delivery date; a date
    means the end of that day). With both, `due` applies when `due_at` is blank."""

    due: Duration | None = None
    due_at: Expr | None = None
    days: Literal["calendar", "working"] = "calendar"
    remind_before: Duration | None = None
    on_timeout: Literal["none", "remind", "escalate", "approve", "reject"] = "remind"
    escalate_to: list[AssigneeSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _escalation_target(self) -> SlaSpec:
        if self.due is None and self.due_at is None:
            raise ValueError("an SLA needs due (a duration) or due_at (an expression)")
        if self.on_timeout == "escalate" and not self.escalate_to:
            raise ValueError("on_timeout 'escalate' needs escalate_to")
        return self


InitiatorPolicy = Literal["approve", "skip", "superior"]
"""When the approver is the initiator: decide normally, auto-pass, or go to their head."""

RepeatPolicy = Literal["never", "once", "adjacent", "always"]
"""Skip a person who already approved in this instance: never; the first time they
reappear only; only when they approved the node just before; every time."""

EmptyPolicy = Literal["admin", "skip", "error"]
"""When no assignee is found: give the task to the admins, pass the node, or stop."""

ActionName = Literal[
    "approve", "reject", "return", "transfer", "delegate", "add_signer", "comment",
    "urge", "cc",
]


class FlowPolicies(StrictModel):
    initiator_is_approver: InitiatorPolicy = "approve"
    repeated_approver: RepeatPolicy = "never"
    no_assignee: EmptyPolicy = "admin"


class _NodeBase(StrictModel):
    id: Key
    name: Label | None = None


class StartNode(_NodeBase):
    """The initiator's node; a return to the initiator reopens it as a task."""

    type: Literal["start"]
    fields: FieldPermissions | None = None


class _TaskNodeBase(_NodeBase):
    assignees: list[AssigneeSpec] = Field(default_factory=list)
    fields: FieldPermissions | None = None
    sla: SlaSpec | None = None
    on_reject: Literal["end", "to_initiator", "to_previous", "to_node"] = "end"
    reject_to: Key | None = None
    on_return: Literal["replay", "resume"] = "replay"
    """After a return from this node, when the target completes: walk the path again
    (replay) or jump straight back here (resume)."""
    actions: list[ActionName] | None = None  # None: every action is allowed
    initiator_is_approver: InitiatorPolicy | None = None  # None: the flow's policy
    repeated_approver: RepeatPolicy | None = None
    no_assignee: EmptyPolicy | None = None

    @model_validator(mode="after")
    def _reject_target(self) -> _TaskNodeBase:
        if (self.on_reject == "to_node") != (self.reject_to is not None):
            raise ValueError("reject_to is given exactly when on_reject is 'to_node'")
        return self


class ApprovalNode(_TaskNodeBase):
    """审批: single, countersign (会签), or-sign (或签) or sequential (依次审批)."""

    type: Literal["approval"]
    mode: Literal["single", "countersign", "or_sign", "sequential"] = "single"
    pass_: PassRule | None = Field(default=None, alias="pass")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HandleNode(_TaskNodeBase):
    """办理: a task that works on the record (edits fields) and submits it."""

    type: Literal["handle"]
    mode: Literal["single", "or_sign", "countersign", "sequential"] = "or_sign"


class ConditionNode(_NodeBase):
    """Exclusive gateway: the first outgoing edge whose `when` holds, else `default`."""

    type: Literal["condition"]


class ParallelNode(_NodeBase):
    """Parallel split: every outgoing edge runs; a `join` node waits for all of them."""

    type: Literal["parallel"]


class JoinNode(_NodeBase):
    type: Literal["join"]


class SetFieldsAction(StrictModel):
    kind: Literal["set_fields"]
    values: dict[Key, Any]


class NotifyAction(StrictModel):
    kind: Literal["notify"]
    to: list[AssigneeSpec]
    message: Label
    channels: list[str] = Field(default_factory=lambda: ["inbox"])


class StartFlowAction(StrictModel):
    kind: Literal["start_flow"]
    flow: Key


class WebhookAction(StrictModel):
    kind: Literal["webhook"]
    url: Annotated[str, Field(pattern=r"^https?://", max_length=2000)]
    payload: dict[str, Any] = Field(default_factory=dict)
    secret_ref: str | None = None


class CreateRecordAction(StrictModel):
    """Create a record of `form`, as a rule's create_record does: each value is an
    expression over the flow's record (`code`, `record.owner`, `TODAY() + DAYS(3)`)."""

    kind: Literal["create_record"]
    form: Key
    values: dict[Key, Expr] = Field(min_length=1, max_length=200)


NodeAction = Annotated[
    SetFieldsAction | NotifyAction | StartFlowAction | WebhookAction | CreateRecordAction,
    Field(discriminator="kind"),
]


class ActionNode(_NodeBase):
    """Automatic action (自动节点): the same effects rules have, then move on.

    An empty `do` is a placeholder step (what an imported BPMN service task becomes
    until someone wires its effect)."""

    type: Literal["action"]
    do: list[NodeAction] = Field(default_factory=list, max_length=50)


class NotifyNode(_NodeBase):
    """Notify / carbon copy (抄送): recipients can read the record; read status is kept."""

    type: Literal["notify"]
    to: list[AssigneeSpec] = Field(min_length=1)
    message: Label | None = None
    channels: list[str] = Field(default_factory=lambda: ["inbox"])


class SubflowNode(_NodeBase):
    """Start another flow on the same record; `wait` until it finishes to move on."""

    type: Literal["subflow"]
    flow: Key
    wait: bool = True


class TimerNode(_NodeBase):
    """Wait for a duration before moving on."""

    type: Literal["timer"]
    wait: Duration
    days: Literal["calendar", "working"] = "calendar"


class EndNode(_NodeBase):
    type: Literal["end"]
    result: Literal["approved", "rejected"] = "approved"


NodeSpec = Annotated[
    StartNode | ApprovalNode | HandleNode | ConditionNode | ParallelNode | JoinNode
    | ActionNode | NotifyNode | SubflowNode | TimerNode | EndNode,
    Field(discriminator="type"),
]

TASK_NODE_TYPES = frozenset({"approval", "handle"})


class EdgeSpec(StrictModel):
    """A sequence flow. Out of a condition node, `when` or `default` picks it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: Key = Field(alias="from")
    to: Key
    when: Expr | None = None
    default: bool = False
    name: Label | None = None

    @model_validator(mode="after")
    def _when_or_default(self) -> EdgeSpec:
        if self.default and self.when is not None:
            raise ValueError("an edge is either conditional (when) or the default")
        return self


StartTrigger = Literal["created", "updated", "manual"]


def _manual_only() -> list[StartTrigger]:
    return ["manual"]


class StartSpec(StrictModel):
    """What starts an instance: record events and/or a manual start, if `when` holds."""

    on: list[StartTrigger] = Field(default_factory=_manual_only)
    when: Expr | None = None


class FlowSpec(Versioned):
    """A flow definition: a directed graph of nodes bound to a form."""

    key: Key
    name: Label
    description: Label | None = None
    form: Key
    start: StartSpec = Field(default_factory=StartSpec)
    policies: FlowPolicies = Field(default_factory=FlowPolicies)
    admins: list[str] = Field(default_factory=list)
    """Users who get tasks nobody else can take (`no_assignee: admin`)."""
    nodes: list[NodeSpec] = Field(min_length=2, max_length=500)
    edges: list[EdgeSpec] = Field(max_length=2000)
