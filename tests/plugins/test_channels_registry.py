from __future__ import annotations

from collections.abc import Sequence

import pytest

from plugins.channels.base import Contact, DeliveryError, OutboundMessage
from plugins.channels.fake import FakeChannel
from plugins.channels.inbox import InboxChannel, InboxMessage
from plugins.channels.registry import channel_classes
from plugins.channels.templates import render


def test_every_builtin_channel_is_found_with_its_name() -> None:
    found = channel_classes()
    for name in ("inbox", "email", "webhook", "dingtalk", "wecom"):
        assert found[name].name == name


class MemorySink:
    def __init__(self) -> None:
        self.rows: dict[tuple[str | None, str], InboxMessage] = {}

    def deliver(self, messages: Sequence[InboxMessage]) -> int:
        new = 0
        for m in messages:
            if (m.key, m.username) not in self.rows:
                self.rows[(m.key, m.username)] = m
                new += 1
        return new


def test_inbox_writes_one_entry_per_user_and_is_idempotent_by_key() -> None:
    sink = MemorySink()
    channel = InboxChannel.from_config({}, inbox_sink=sink)
    message = OutboundMessage(body={"zh": "中", "en": "en"}, key="r:1:e",
                              to=(Contact(username="li"), Contact(email="x@example.com"),
                                  Contact(username="amy")))
    assert channel.send(message).delivered == 2
    assert channel.send(message).delivered == 0
    assert sorted(u for _, u in sink.rows) == ["amy", "li"]
    assert sink.rows[("r:1:e", "li")].body == {"zh": "中", "en": "en"}


def test_inbox_without_users_or_sink_fails_clearly() -> None:
    with pytest.raises(DeliveryError, match="inbox_sink"):
        InboxChannel.from_config({})
    with pytest.raises(DeliveryError) as info:
        InboxChannel(MemorySink()).send(OutboundMessage(body={"zh": "x"}))
    assert not info.value.retryable


def test_fake_channel_fails_then_succeeds() -> None:
    error = DeliveryError("fake", "down", "down", retryable=True)
    fake = FakeChannel(fail_with=error, failures=2)
    message = OutboundMessage(body={"zh": "x"})
    for _ in range(2):
        with pytest.raises(DeliveryError):
            fake.send(message)
    assert fake.send(message).delivered == 1
    assert fake.attempts == 3
    assert fake.sent == [message]


def test_template_is_plain_names_only() -> None:
    values = {"code": "AR-1", "tags": ["a", "b"], "ok": True, "blank": None}
    assert render("{code} {tags} {ok} [{blank}] {{x}}", values) == "AR-1 a, b ✓ [] {x}"
    assert render("{code.__class__} {missing} {0}", values) == "{code.__class__} {missing} {0}"
    assert render("<{code}>", {"code": "<b>"}, lambda s: s.replace("<", "&lt;")) == "<&lt;b>>"
