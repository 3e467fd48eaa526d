"""The in-app inbox channel: hands messages to a sink that runtime backs with a table.

Why a sink: the inbox lives in the database, which plugins do not touch. This module
fixes the shape the lead's notifications table receives (`InboxMessage`: one row per
recipient user, both languages kept so the UI shows the reader's language) and the
`InboxSink` protocol runtime implements inside the job's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Self

from plugins.channels.base import Channel, DeliveryError, DeliveryResult, OutboundMessage


@dataclass(frozen=True, slots=True)
class InboxMessage:
    """One inbox entry for one user. `key` + `username` is unique: a retried delivery
    of the same notification must not show twice."""

    username: str
    body: Mapping[str, str]
    subject: Mapping[str, str] | None = None
    app: str | None = None
    form: str | None = None
    record_id: str | None = None
    rule: str | None = None
    link: str | None = None
    key: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


class InboxSink(Protocol):
    def deliver(self, messages: Sequence[InboxMessage]) -> int:
        """Store the messages (skipping ones already stored by key + username);
        return how many are new."""
        ...


def inbox_messages(message: OutboundMessage) -> list[InboxMessage]:
    """One entry per recipient who has a username (outside addresses cannot log in)."""
    return [InboxMessage(username=c.username, body=dict(message.body),
                         subject=dict(message.subject) if message.subject else None,
                         app=message.app, form=message.form, record_id=message.record_id,
                         rule=message.rule, link=message.link, key=message.key)
            for c in message.to if c.username]


class InboxChannel(Channel):
    name = "inbox"

    def __init__(self, sink: InboxSink) -> None:
        self.sink = sink

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **services: Any) -> Self:
        sink = services.get("inbox_sink")
        if sink is None:
            raise DeliveryError(cls.name, "not_configured",
                                "the inbox channel needs an inbox_sink service",
                                retryable=False)
        return cls(sink)

    def send(self, message: OutboundMessage) -> DeliveryResult:
        entries = inbox_messages(message)
        if not entries:
            raise DeliveryError(self.name, "no_user", "no recipient is a user",
                                retryable=False)
        return DeliveryResult(self.name, delivered=self.sink.deliver(entries))
