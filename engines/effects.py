"""Effects: what an engine asks the world to do, as plain data.

Engines are pure: a rule firing or a flow step returns a list of these, and
`runtime.services` applies them inside the transaction of the command that caused
them (record changes) or enqueues them as jobs in that same transaction (anything
that leaves the process: email, webhooks). A rolled-back write therefore never has
follow-up work, and a committed one always does.

Recipients are `Recipient` specs, resolved by runtime (roles and departments live in
the database, not in engines).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who gets a task or message: kind is user | role | field | initiator | expr |
    department_head (the head of user `value`'s department, `levels` up; `value`
    None means the initiator's)."""

    kind: str
    value: str | None = None
    levels: int = 1


@dataclass(frozen=True, slots=True)
class SetFields:
    """Change fields of a record (the triggering one when record_id is None)."""

    values: dict[str, Any]
    form: str | None = None
    record_id: str | None = None


@dataclass(frozen=True, slots=True)
class CreateRecord:
    form: str
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UpdateRecords:
    """Update every record of `form` that `where` (an expression) selects."""

    form: str
    where: str
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StartFlow:
    flow: str
    record_id: str | None = None
    form: str | None = None


@dataclass(frozen=True, slots=True)
class CreateTask:
    title: dict[str, str]
    assignees: tuple[Recipient, ...]
    record_id: str | None = None
    form: str | None = None
    due: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notify:
    """A message to people over channels (inbox, email, webhook, dingtalk, wecom)."""

    to: tuple[Recipient, ...]
    message: dict[str, str]
    channels: tuple[str, ...] = ("inbox",)
    subject: dict[str, str] | None = None
    record_id: str | None = None
    form: str | None = None


@dataclass(frozen=True, slots=True)
class CallWebhook:
    url: str
    payload: dict[str, Any]
    secret_ref: str | None = None  # name of a configured secret, never the secret


@dataclass(frozen=True, slots=True)
class ScheduleAt:
    """Wake the engine at `at` with `payload` (timers, SLA reminders, escalations)."""

    at: datetime
    kind: str
    payload: dict[str, Any]
    key: str | None = None  # deduplication key: the same key is scheduled once


Effect = (
    SetFields | CreateRecord | UpdateRecords | StartFlow | CreateTask | Notify | CallWebhook
    | ScheduleAt
)
