"""`rules/<key>.json` as written (FORMATS.md): trigger, condition, ordered actions.

The key names are the public contract (`form`, `trigger.kind`, `when`, `once_per`,
`priority`, `enabled`, `actions[].kind`); everything here only parses and checks the
shape. Whether names point at real fields and whether expressions compile is the job
of `engines.rule.compile`, which reports every problem at once with its JSON path.

Decisions beyond FORMATS.md, written down so the designer and runtime agree:
- `updated.fields` empty means "any field"; `updated` and `field_changed` fire on
  updates only (a create is not a change), as Frappe's value-change does.
- `field_changed.from` / `.to`: when given, the old / new value must equal them
  (`null` is a value: `"from": null` means "was blank").
- `once_per` is an expression (a field key is the usual case) whose value names the
  episode; with `once_window` (ISO duration) the episode also carries the window the
  firing falls in; `once_scope` "rule" makes the episode shared by every record (e.g.
  "once per customer per week" for a rule on complaints). Schedule and date rules
  without `once_per` fire once per record ever (date rules: once per date value).
- `allow_cycle: true` marks a rule whose participation in a rule loop is intended;
  the cascade guard still bounds it at run time.
- `stop: true` stops lower-priority rules of the same form for the same event.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any, Literal

from croniter import croniter
from pydantic import ConfigDict, Field, JsonValue, field_validator

from engines.common import Key, Label, StrictModel, Versioned
from engines.rule.durations import parse_offset

Expr = Annotated[str, Field(min_length=1, max_length=4000)]
"""An expression in Loom's expression language (engines.expr), checked at compile."""

MAX_ACTIONS = 50


def _check_duration(value: str) -> str:
    parse_offset(value)
    return value


# --------------------------------------------------------------------------- triggers


class CreatedTrigger(StrictModel):
    kind: Literal["created"]


class UpdatedTrigger(StrictModel):
    kind: Literal["updated"]
    fields: list[Key] = Field(default_factory=list)


class FieldChangedTrigger(StrictModel):
    """Fires when `field` changes; `from`/`to` (JSON values) narrow the change."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    kind: Literal["field_changed"]
    field: Key
    from_: JsonValue = Field(default=None, alias="from")
    to: JsonValue = None

    @property
    def has_from(self) -> bool:
        return "from_" in self.model_fields_set

    @property
    def has_to(self) -> bool:
        return "to" in self.model_fields_set


class DeletedTrigger(StrictModel):
    kind: Literal["deleted"]


class ScheduleTrigger(StrictModel):
    """A cron schedule, read in the deployment's zone (LOOM_TIMEZONE)."""

    kind: Literal["schedule"]
    cron: str = Field(min_length=9, max_length=200)

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(f"not a five-field cron expression: {value!r}")
        return value


class DateTrigger(StrictModel):
    """Due `offset` after (or, negative, before) the date in `field`, at `at` local time
    when the field is a date."""

    kind: Literal["date"]
    field: Key
    offset: str = "P0D"
    at: time = time(0, 0)

    _offset_ok = field_validator("offset")(_check_duration)


class FlowTrigger(StrictModel):
    """A flow event: started, approved, rejected, completed, withdrawn, node_entered…
    (the flow engine names them; `node` narrows node events)."""

    kind: Literal["flow"]
    flow: Key
    event: Key
    node: Key | None = None


Trigger = Annotated[
    CreatedTrigger | UpdatedTrigger | FieldChangedTrigger | DeletedTrigger | ScheduleTrigger
    | DateTrigger | FlowTrigger,
    Field(discriminator="kind"),
]

EVENT_KINDS = frozenset({"created", "updated", "field_changed", "deleted", "flow"})
TIMED_KINDS = frozenset({"schedule", "date"})


# ------------------------------------------------------------------------- recipients


class UserRecipient(StrictModel):
    kind: Literal["user"]
    user: str = Field(min_length=1, max_length=200)


class RoleRecipient(StrictModel):
    kind: Literal["role"]
    role: Key


class DepartmentRecipient(StrictModel):
    kind: Literal["department"]
    department: str = Field(min_length=1, max_length=200)


class FieldRecipient(StrictModel):
    """The user (or users, or department) held in a field of the triggering record."""

    kind: Literal["field"]
    field: Key


class DepartmentHeadRecipient(StrictModel):
    """The head of a person's department, `levels` up (1 = the direct head), as a flow's
    `department_head` assignee means it (`engines.flow.spec.DepartmentHeadAssignee`):
    a head's own head is the parent department's, so nobody is their own superior.

    `of` is a user field of the triggering record (`owner` by default; a lookup of a
    user field counts, e.g. a ticket's `account_manager` copied from its customer), or
    `"initiator"`: the user whose write (or flow step) fired the rule.
    """

    kind: Literal["department_head"]
    of: Literal["initiator"] | Key = "owner"
    levels: int = Field(default=1, ge=1, le=10)


class ExprRecipient(StrictModel):
    """An expression giving a username or a list of usernames."""

    kind: Literal["expr"]
    expr: Expr


class EmailRecipient(StrictModel):
    """A literal outside address (a customer, a shared mailbox)."""

    kind: Literal["email"]
    address: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)


RecipientSpec = Annotated[
    UserRecipient | RoleRecipient | DepartmentRecipient | FieldRecipient | ExprRecipient
    | EmailRecipient | DepartmentHeadRecipient,
    Field(discriminator="kind"),
]


# ---------------------------------------------------------------------------- actions


class NotifyAction(StrictModel):
    """A message over channels; `{field}` in message/subject is the record's value."""

    kind: Literal["notify"]
    channels: list[Key] = Field(default_factory=lambda: ["inbox"], min_length=1)
    to: list[RecipientSpec] = Field(default_factory=list)
    message: Label
    subject: Label | None = None


class CreateRecordAction(StrictModel):
    kind: Literal["create_record"]
    form: Key
    values: dict[Key, Expr]


class SetFieldsAction(StrictModel):
    """Set fields of the triggering record (values are expressions over it)."""

    kind: Literal["set_fields"]
    values: dict[Key, Expr] = Field(min_length=1)


class UpdateRelatedAction(StrictModel):
    """Update records of `form` linked through the relation field `relation`.

    When `relation` is a field of the rule's form, the one record it points at is
    updated; when it is a field of `form` pointing back, every record of `form` linked
    to the triggering record is. `where` (an expression over `form`) narrows them.
    Values are expressions over the triggering record; in them `target.x` reads field
    `x` of each related record being updated, so a value can compare the two, e.g.
    `IF(record.paid_date <= target.due_at, "kept", "kept_late")`. Values
    that read `target` are computed per related record (runtime asks the compiled
    rule for each one); the others once.
    """

    kind: Literal["update_related"]
    form: Key
    relation: Key
    where: Expr | None = None
    values: dict[Key, Expr] = Field(min_length=1)


class AssignPool(StrictModel):
    """Who takes turns: the active users matching every filter given (at least one).

    `department` is a department key; `department_expr` an expression over the
    triggering record giving one (e.g. `CONCAT("sales_", sales_team)`), as `default` /
    `default_expr` are for fields. `subdepartments` widens a department to its tree.
    `users` is an explicit list (the order does not matter: members are taken in
    username order, so the rotation is stable whatever order the directory returns).
    """

    role: Key | None = None
    department: str | None = Field(default=None, min_length=1, max_length=64)
    department_expr: Expr | None = None
    subdepartments: bool = False
    users: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, min_length=1, max_length=500)


class AssignAction(StrictModel):
    """Set a user field of the triggering record to the next member of a pool, in turn.

    `round_robin`: a durable counter per (app, rule, pool) in the database, advanced
    atomically, picks member `counter mod size` of the members in username order.
    `least_open`: the member with the fewest records of this form assigned to them
    (and matching `open_when`, e.g. `status != "closed"`), ties taken in turn from the
    same counter. `values` (expressions over the triggering record, as in set_fields)
    are written in the same update, only when somebody is assigned: with an empty
    pool (or a `department_expr` that gives nothing) the record is left as it is.
    """

    kind: Literal["assign"]
    field: Key
    pool: AssignPool
    strategy: Literal["round_robin", "least_open"] = "round_robin"
    open_when: Expr | None = None
    values: dict[Key, Expr] = Field(default_factory=dict)


class StartFlowAction(StrictModel):
    kind: Literal["start_flow"]
    flow: Key


class CreateTaskAction(StrictModel):
    """A to-do task; `title` is a template like messages, `due` an expression."""

    kind: Literal["create_task"]
    title: Label
    to: list[RecipientSpec] = Field(min_length=1)
    due: Expr | None = None
    description: Label | None = None


class TagAction(StrictModel):
    kind: Literal["tag"]
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1)
    remove: bool = False


class FlagAction(StrictModel):
    """Mark the record with a flag (e.g. high_risk) the UI shows as a badge."""

    kind: Literal["flag"]
    flag: Key
    on: bool = True
    color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    note: Label | None = None


class CallWebhookAction(StrictModel):
    """POST JSON to `url`; `payload` values are expressions (default: the record)."""

    kind: Literal["call_webhook"]
    url: str = Field(pattern=r"^https?://", max_length=2000)
    payload: dict[str, Expr] | None = None
    secret: Key | None = None  # name of a configured secret, never the secret itself


class RejectAction(StrictModel):
    """Refuse the write that fired the rule: it is rolled back and the caller gets 422
    with `message` (a template like notify's). Only for record-event triggers — a
    validation rule across records, e.g. an order over the customer's credit limit."""

    kind: Literal["reject"]
    message: Label


ActionSpec = Annotated[
    NotifyAction | CreateRecordAction | SetFieldsAction | UpdateRelatedAction
    | StartFlowAction | CreateTaskAction | TagAction | FlagAction | CallWebhookAction
    | RejectAction | AssignAction,
    Field(discriminator="kind"),
]


# ------------------------------------------------------------------------------ rule


class RuleSpec(Versioned):
    """One rule: `rules/<key>.json`."""

    key: Key
    name: Label
    description: Label | None = None
    form: Key
    trigger: Trigger
    when: Expr | None = None
    once_per: Expr | None = None
    once_window: str | None = None
    once_scope: Literal["record", "rule"] = "record"
    priority: int = Field(default=100, ge=0, le=100_000)
    enabled: bool = True
    stop: bool = False
    allow_cycle: bool = False
    actions: list[ActionSpec] = Field(min_length=1, max_length=MAX_ACTIONS)

    @field_validator("once_window")
    @classmethod
    def _window_ok(cls, value: str | None) -> str | None:
        if value is None:
            return None
        offset = parse_offset(value)
        if offset.months or offset.delta.total_seconds() <= 0:
            raise ValueError("once_window must be a positive duration in weeks, days or hours")
        return value

    @property
    def is_timed(self) -> bool:
        """Schedule and date rules run from the scheduler over many records."""
        return self.trigger.kind in TIMED_KINDS


def rule_json_schema() -> dict[str, Any]:
    """The published JSON Schema of rule files (`loom schema rule`)."""
    return RuleSpec.model_json_schema(by_alias=True)
