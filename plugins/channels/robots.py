"""What DingTalk and WeCom group robots share: markdown text, byte limits, answers.

Both robots post into a group chat, so the message is written once in the message's
language (`OutboundMessage.lang`), not per recipient. Both answer HTTP 200 with
`{"errcode": 0, "errmsg": "ok"}` on success and a non-zero `errcode` otherwise.
"""

from __future__ import annotations

from collections.abc import Collection

import httpx

from plugins.channels.base import DeliveryError, DeliveryResult, OutboundMessage
from plugins.channels.http import json_body


def markdown_of(message: OutboundMessage) -> tuple[str, str]:
    """(title, markdown text) for a robot message."""
    title = message.title() or message.text()[:40]
    lines = [f"### {title}", "", message.text()]
    if message.link:
        lines += ["", f"[{'查看' if message.lang == 'zh' else 'Open'}]({message.link})"]
    return title, "\n".join(lines)


def truncate_bytes(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` UTF-8 bytes without splitting a character."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[: max(limit - 3, 0)].decode(errors="ignore") + "…"


def check_answer(channel: str, response: httpx.Response,
                 retry_codes: Collection[int]) -> DeliveryResult:
    data = json_body(channel, response)
    code = data.get("errcode")
    if code == 0:
        return DeliveryResult(channel, detail=str(data.get("errmsg", "ok")))
    if not isinstance(code, int):
        raise DeliveryError(channel, "bad_answer", "the answer has no errcode", retryable=True)
    raise DeliveryError(channel, f"errcode_{code}", str(data.get("errmsg", ""))[:200],
                        retryable=code in retry_codes)
