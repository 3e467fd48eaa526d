"""A channel that keeps what it is asked to send, for tests of rules and jobs.

It can be told to fail (`fail_with`) a number of times, so the job runner's retry
and give-up paths can be tested without a network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from plugins.channels.base import Channel, DeliveryError, DeliveryResult, OutboundMessage


class FakeChannel(Channel):
    name = "fake"

    def __init__(self, *, fail_with: DeliveryError | None = None, failures: int = 0) -> None:
        self.sent: list[OutboundMessage] = []
        self.attempts = 0
        self._fail_with = fail_with
        self._failures_left = failures if fail_with else 0

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **services: Any) -> Self:
        return cls()

    def send(self, message: OutboundMessage) -> DeliveryResult:
        self.attempts += 1
        if self._fail_with is not None and self._failures_left > 0:
            self._failures_left -= 1
            raise self._fail_with
        self.sent.append(message)
        return DeliveryResult(self.name, delivered=max(len(message.to), 1))
