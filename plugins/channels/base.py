"""The notification channel capability: what a channel receives and what it answers.

Why this shape: the job runner (runtime) owns retries with backoff, so a channel does
one attempt and says clearly whether trying again could help (`DeliveryError.retryable`).
Recipients arrive already resolved (`Contact`: roles and fields are database questions
runtime answers before enqueueing), and texts arrive rendered in both languages, so a
channel only formats and transports. Settings come in through `from_config`; secrets
live in that config only and are never part of a repr, log line or error message.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

Lang = Literal["zh", "en"]


@dataclass(frozen=True, slots=True)
class Contact:
    """A resolved recipient: the user and how to reach them."""

    username: str | None = None
    name: str | None = None
    email: str | None = None
    mobile: str | None = None
    lang: Lang = "zh"


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One notification, rendered, ready for any channel.

    `subject` and `body` hold both languages (`{"zh": …, "en": …}`); each channel picks
    the recipient's language (email, inbox) or the message's `lang` (group robots).
    `record` holds the triggering record's fields as stored JSON, for channel templates.
    `key` identifies the notification (rule, record, episode), so a receiver can
    de-duplicate a retried delivery.
    """

    body: Mapping[str, str]
    subject: Mapping[str, str] | None = None
    to: tuple[Contact, ...] = ()
    lang: Lang = "zh"
    app: str | None = None
    form: str | None = None
    record_id: str | None = None
    rule: str | None = None
    link: str | None = None
    key: str | None = None
    record: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: Lang | None = None) -> str:
        return pick(self.body, lang or self.lang)

    def title(self, lang: Lang | None = None) -> str:
        return pick(self.subject, lang or self.lang) if self.subject else ""


def pick(texts: Mapping[str, str] | None, lang: str) -> str:
    """The text in `lang`, falling back to the other language, then ''."""
    if not texts:
        return ""
    other = "en" if lang == "zh" else "zh"
    return texts.get(lang) or texts.get(other) or ""


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    channel: str
    delivered: int = 1
    provider_id: str | None = None
    detail: str = ""


class DeliveryError(Exception):
    """A failed delivery. `retryable` tells the job runner whether to try again
    (a server down or rate limiting: yes; a refused address or bad credentials: no)."""

    def __init__(self, channel: str, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(f"{channel}: {code}: {message}")
        self.channel = channel
        self.code = code
        self.message = message
        self.retryable = retryable


class Channel(ABC):
    """A way to reach people. Subclasses set `name` and implement `send`."""

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_config(cls, config: Mapping[str, Any], **services: Any) -> Self:
        """Build the channel from its settings (and services such as the inbox sink)."""

    @abstractmethod
    def send(self, message: OutboundMessage) -> DeliveryResult:
        """Deliver once; raise DeliveryError on failure."""


def require(config: Mapping[str, Any], channel: str, key: str) -> Any:
    """A required setting, or a clear non-retryable error naming it (not its value)."""
    value = config.get(key)
    if value in (None, ""):
        raise DeliveryError(channel, "not_configured", f"setting {key!r} is missing",
                            retryable=False)
    return value
