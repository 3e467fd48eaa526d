"""Signed JSON webhooks: `X-Loom-Signature: sha256=<hex>` over `<timestamp>.<body>`.

Why the timestamp is signed with the body: a receiver checks both the signature and
that `X-Loom-Timestamp` is recent, so a captured request cannot be replayed later
(the scheme GitHub and Stripe use). `verify_signature` is the receiver's side, for
integrators and tests. Settings: `url`, `secret`, `timeout` (default 5 s), `headers`.
`X-Loom-Delivery` carries the message key so receivers can drop retried duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import httpx

from plugins.channels.base import Channel, DeliveryResult, OutboundMessage, require
from plugins.channels.http import dumps, post

SIGNATURE_HEADER = "X-Loom-Signature"
TIMESTAMP_HEADER = "X-Loom-Timestamp"
DELIVERY_HEADER = "X-Loom-Delivery"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, *, timestamp: str, body: bytes, signature: str,
                     now: float, tolerance: float = 300.0) -> bool:
    """True when `signature` matches and `timestamp` is within `tolerance` of `now`."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs(now - stamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature)


@dataclass(frozen=True)
class WebhookSettings:
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    timeout: float = 5.0
    headers: Mapping[str, str] = field(default_factory=dict)


def post_signed(channel: str, url: str, payload: Any, *, secret: str | None,
                timeout: float, headers: Mapping[str, str] | None = None,
                key: str | None = None, clock: Callable[[], float] = time.time,
                client: httpx.Client | None = None) -> httpx.Response:
    """POST `payload` as signed JSON (also used for the rule action `call_webhook`)."""
    body = dumps(payload)
    stamp = int(clock())
    sent = {"Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Loom-Webhook/1", TIMESTAMP_HEADER: str(stamp), **(headers or {})}
    if secret:
        sent[SIGNATURE_HEADER] = sign(secret, stamp, body)
    if key:
        sent[DELIVERY_HEADER] = key
    return post(channel, url, content=body, headers=sent, timeout=timeout, client=client)


def payload_of(message: OutboundMessage) -> dict[str, Any]:
    """The JSON a webhook receiver gets for a notification."""
    return {
        "event": "notification",
        "key": message.key,
        "app": message.app,
        "form": message.form,
        "record_id": message.record_id,
        "rule": message.rule,
        "subject": dict(message.subject) if message.subject else None,
        "message": dict(message.body),
        "link": message.link,
        "to": [c.username for c in message.to if c.username],
        "record": dict(message.record),
    }


class WebhookChannel(Channel):
    name = "webhook"

    def __init__(self, settings: WebhookSettings, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._clock = clock

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **services: Any) -> Self:
        return cls(WebhookSettings(url=str(require(config, cls.name, "url")),
                                   secret=config.get("secret"),
                                   timeout=float(config.get("timeout", 5.0)),
                                   headers=dict(config.get("headers") or {})),
                   clock=services.get("clock", time.time))

    def send(self, message: OutboundMessage) -> DeliveryResult:
        s = self.settings
        response = post_signed(self.name, s.url, payload_of(message), secret=s.secret,
                               timeout=s.timeout, headers=s.headers, key=message.key,
                               clock=self._clock)
        return DeliveryResult(self.name, detail=f"HTTP {response.status_code}")
