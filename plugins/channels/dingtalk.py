"""DingTalk (钉钉) custom group robot: markdown messages, optional signed URL.

Settings: `url` (the robot's webhook URL with its access_token), `secret` (the
"加签" secret, `SEC…`; when set every request carries `timestamp` and `sign`), and
`timeout`. Signing, per DingTalk's robot docs: sign = urlencode(base64(HMAC-SHA256(
key=secret, msg=f"{timestamp_ms}\\n{secret}"))). Recipients with a mobile number are
@-mentioned. Rate limiting (errcode 130101) and busy (-1) are retryable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from plugins.channels.base import Channel, DeliveryResult, OutboundMessage, require
from plugins.channels.http import dumps, post
from plugins.channels.robots import check_answer, markdown_of, truncate_bytes

RETRY_CODES = frozenset({-1, 130101, 130102})
MAX_BYTES = 20_000


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign}"


@dataclass(frozen=True)
class DingTalkSettings:
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    timeout: float = 5.0


def payload_of(message: OutboundMessage) -> dict[str, Any]:
    title, text = markdown_of(message)
    mobiles = [c.mobile for c in message.to if c.mobile]
    if mobiles:
        text += "\n\n" + " ".join(f"@{m}" for m in mobiles)
    return {"msgtype": "markdown",
            "markdown": {"title": title, "text": truncate_bytes(text, MAX_BYTES)},
            "at": {"atMobiles": mobiles, "isAtAll": False}}


class DingTalkChannel(Channel):
    name = "dingtalk"

    def __init__(self, settings: DingTalkSettings, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._clock = clock

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **services: Any) -> Self:
        return cls(DingTalkSettings(url=str(require(config, cls.name, "url")),
                                    secret=config.get("secret"),
                                    timeout=float(config.get("timeout", 5.0))),
                   clock=services.get("clock", time.time))

    def send(self, message: OutboundMessage) -> DeliveryResult:
        s = self.settings
        url = signed_url(s.url, s.secret, int(self._clock() * 1000)) if s.secret else s.url
        response = post(self.name, url, content=dumps(payload_of(message)),
                        headers={"Content-Type": "application/json; charset=utf-8"},
                        timeout=s.timeout)
        return check_answer(self.name, response, RETRY_CODES)
