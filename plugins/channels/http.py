"""One HTTP POST with a timeout, turned into a DeliveryResult or a DeliveryError.

Shared by the webhook, DingTalk and WeCom channels so they classify failures alike:
network errors, timeouts, 408, 425, 429 and 5xx are worth retrying; other 4xx and
malformed addresses are not (garbage answers are retried: a proxy's error page). URLs
are never echoed in errors because robot URLs carry their access token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from plugins.channels.base import DeliveryError

RETRYABLE_STATUS = frozenset({408, 425, 429})


def post(channel: str, url: str, *, content: bytes, headers: Mapping[str, str],
         timeout: float, client: httpx.Client | None = None) -> httpx.Response:
    """POST once; raise DeliveryError with `retryable` set for any failure."""
    try:
        if client is not None:
            response = client.post(url, content=content, headers=dict(headers),
                                   timeout=timeout)
        else:
            with httpx.Client(timeout=timeout, follow_redirects=False) as own:
                response = own.post(url, content=content, headers=dict(headers))
    except httpx.TimeoutException as exc:
        raise DeliveryError(channel, "timeout", f"no answer within {timeout:g}s",
                            retryable=True) from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        # not an http(s) URL at all: no retry can fix the address
        raise DeliveryError(channel, "bad_address", "the target address is not a valid "
                            "http(s) URL", retryable=False) from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(channel, "unreachable", f"cannot reach the target: "
                            f"{type(exc).__name__}", retryable=True) from exc
    status = response.status_code
    if 200 <= status < 300:
        return response
    retryable = status >= 500 or status in RETRYABLE_STATUS
    raise DeliveryError(channel, f"http_{status}", f"the target answered HTTP {status}",
                        retryable=retryable)


def json_body(channel: str, response: httpx.Response) -> dict[str, Any]:
    """The answer as a JSON object, or a retryable error (a proxy's HTML page, say)."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DeliveryError(channel, "bad_answer", "the answer is not JSON",
                            retryable=True) from exc
    if not isinstance(data, dict):
        raise DeliveryError(channel, "bad_answer", "the answer is not a JSON object",
                            retryable=True)
    return data


def dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON (Chinese stays readable; the signature covers these bytes)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                      default=str).encode()
