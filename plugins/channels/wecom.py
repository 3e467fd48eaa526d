"""WeCom (企业微信) group robot: markdown messages, or text with @-mentions.

Settings: `url` (the robot's webhook URL with its `key`), `msgtype` ("markdown", the
default, or "text": text messages can @-mention recipients by mobile number through
`mentioned_mobile_list`), and `timeout`. WeCom limits markdown content to 4,096 and
text to 2,048 UTF-8 bytes; longer messages are cut. Frequency limits (errcode 45009)
and busy (-1) are retryable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from plugins.channels.base import Channel, DeliveryResult, OutboundMessage, require
from plugins.channels.http import dumps, post
from plugins.channels.robots import check_answer, markdown_of, truncate_bytes

RETRY_CODES = frozenset({-1, 45009})
MARKDOWN_BYTES = 4096
TEXT_BYTES = 2048


@dataclass(frozen=True)
class WeComSettings:
    url: str = field(repr=False)
    msgtype: Literal["markdown", "text"] = "markdown"
    timeout: float = 5.0


def payload_of(message: OutboundMessage, msgtype: str = "markdown") -> dict[str, Any]:
    if msgtype == "text":
        title = message.title()
        content = f"{title}\n{message.text()}" if title else message.text()
        if message.link:
            content += f"\n{message.link}"
        return {"msgtype": "text",
                "text": {"content": truncate_bytes(content, TEXT_BYTES),
                         "mentioned_mobile_list": [c.mobile for c in message.to if c.mobile]}}
    _, text = markdown_of(message)
    return {"msgtype": "markdown", "markdown": {"content": truncate_bytes(text, MARKDOWN_BYTES)}}


class WeComChannel(Channel):
    name = "wecom"

    def __init__(self, settings: WeComSettings) -> None:
        self.settings = settings

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **services: Any) -> Self:
        msgtype = config.get("msgtype", "markdown")
        return cls(WeComSettings(url=str(require(config, cls.name, "url")),
                                 msgtype="text" if msgtype == "text" else "markdown",
                                 timeout=float(config.get("timeout", 5.0))))

    def send(self, message: OutboundMessage) -> DeliveryResult:
        s = self.settings
        response = post(self.name, s.url, content=dumps(payload_of(message, s.msgtype)),
                        headers={"Content-Type": "application/json; charset=utf-8"},
                        timeout=s.timeout)
        return check_answer(self.name, response, RETRY_CODES)
