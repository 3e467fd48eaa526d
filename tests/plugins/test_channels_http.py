from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse

import pytest
from channel_servers import HttpServer, free_port

from plugins.channels.base import Contact, DeliveryError, OutboundMessage
from plugins.channels.dingtalk import DingTalkChannel, signed_url
from plugins.channels.webhook import WebhookChannel, sign, verify_signature
from plugins.channels.wecom import WeComChannel

MESSAGE = OutboundMessage(
    body={"zh": "客户 华东精密 已标记为高风险", "en": "Customer marked high risk"},
    subject={"zh": "风险预警", "en": "Risk alert"},
    to=(Contact(username="wang", mobile="13800000000"), Contact(username="amy")),
    app="crm", form="customer", record_id="7", rule="complaints", key="complaints:7:w1",
    link="http://loom.local/r/7", record={"name": "华东精密"},
)


def test_webhook_is_signed_over_timestamp_and_body(http_server: HttpServer) -> None:
    channel = WebhookChannel.from_config(
        {"url": http_server.url + "/hook", "secret": "s3cret", "headers": {"X-Env": "t"}},
        clock=lambda: 1_700_000_000.0)
    result = channel.send(MESSAGE)
    assert result.channel == "webhook"
    got = http_server.received[0]
    assert got.path == "/hook"
    assert got.headers["X-Loom-Timestamp"] == "1700000000"
    assert got.headers["X-Loom-Delivery"] == "complaints:7:w1"
    assert got.headers["X-Env"] == "t"
    expected = "sha256=" + hmac.new(b"s3cret", b"1700000000." + got.body,
                                    hashlib.sha256).hexdigest()
    assert got.headers["X-Loom-Signature"] == expected
    assert verify_signature("s3cret", timestamp="1700000000", body=got.body,
                            signature=expected, now=1_700_000_100)
    assert not verify_signature("s3cret", timestamp="1700000000", body=got.body,
                                signature=expected, now=1_700_001_000)  # replayed late
    assert not verify_signature("other", timestamp="1700000000", body=got.body,
                                signature=expected, now=1_700_000_000)
    data = got.json()
    assert data["message"]["zh"] == "客户 华东精密 已标记为高风险"
    assert data["record_id"] == "7"
    assert data["to"] == ["wang", "amy"]


def test_sign_changes_with_body() -> None:
    assert sign("k", 1, b"a") != sign("k", 1, b"b")


@pytest.mark.parametrize(("status", "retryable"),
                         [(500, True), (503, True), (429, True), (408, True),
                          (400, False), (404, False), (410, False)])
def test_webhook_status_classification(http_server: HttpServer, status: int,
                                       retryable: bool) -> None:
    http_server.answer = lambda r: (status, b"{}")
    with pytest.raises(DeliveryError) as info:
        WebhookChannel.from_config({"url": http_server.url}).send(MESSAGE)
    assert info.value.retryable is retryable
    assert info.value.code == f"http_{status}"


def test_webhook_down_or_slow_is_retryable(http_server: HttpServer) -> None:
    with pytest.raises(DeliveryError) as down:
        WebhookChannel.from_config({"url": f"http://127.0.0.1:{free_port()}/"}).send(MESSAGE)
    assert down.value.retryable and down.value.code == "unreachable"

    def slow(_: object) -> tuple[int, bytes]:
        time.sleep(0.5)
        return 200, b"{}"

    http_server.answer = slow
    with pytest.raises(DeliveryError) as late:
        WebhookChannel.from_config({"url": http_server.url, "timeout": 0.1}).send(MESSAGE)
    assert late.value.retryable and late.value.code == "timeout"


def test_errors_never_show_the_url_token(http_server: HttpServer) -> None:
    http_server.answer = lambda r: (500, b"oops")
    url = http_server.url + "/robot/send?access_token=TOKEN123"
    with pytest.raises(DeliveryError) as info:
        DingTalkChannel.from_config({"url": url}).send(MESSAGE)
    assert "TOKEN123" not in str(info.value)
    assert "TOKEN123" not in repr(DingTalkChannel.from_config({"url": url}).settings)


def test_dingtalk_signed_markdown_with_mentions(http_server: HttpServer) -> None:
    http_server.answer = lambda r: (200, b'{"errcode":0,"errmsg":"ok"}')
    channel = DingTalkChannel.from_config(
        {"url": http_server.url + "/robot/send?access_token=abc", "secret": "SECxyz"},
        clock=lambda: 1_700_000_000.123)
    result = channel.send(MESSAGE)
    assert result.detail == "ok"
    got = http_server.received[0]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(got.path).query)
    assert query["access_token"] == ["abc"]
    assert query["timestamp"] == ["1700000000123"]
    digest = hmac.new(b"SECxyz", b"1700000000123\nSECxyz", hashlib.sha256).digest()
    assert query["sign"] == [base64.b64encode(digest).decode()]
    body = got.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "风险预警"
    assert "客户 华东精密 已标记为高风险" in body["markdown"]["text"]
    assert "@13800000000" in body["markdown"]["text"]
    assert body["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}


def test_dingtalk_signed_url_appends_with_right_joiner() -> None:
    assert "?timestamp=5&sign=" in signed_url("http://x/send", "s", 5)
    assert "&timestamp=5&sign=" in signed_url("http://x/send?access_token=a", "s", 5)


@pytest.mark.parametrize(("answer", "code", "retryable"), [
    (b'{"errcode":130101,"errmsg":"send too fast"}', "errcode_130101", True),
    (b'{"errcode":310000,"errmsg":"sign not match"}', "errcode_310000", False),
    (b"<html>proxy error</html>", "bad_answer", True),
])
def test_dingtalk_error_answers(http_server: HttpServer, answer: bytes, code: str,
                                retryable: bool) -> None:
    http_server.answer = lambda r: (200, answer)
    with pytest.raises(DeliveryError) as info:
        DingTalkChannel.from_config({"url": http_server.url}).send(MESSAGE)
    assert (info.value.code, info.value.retryable) == (code, retryable)


def test_wecom_markdown_and_text(http_server: HttpServer) -> None:
    http_server.answer = lambda r: (200, b'{"errcode":0,"errmsg":"ok"}')
    WeComChannel.from_config({"url": http_server.url + "/cgi-bin/webhook/send?key=k"}).send(
        MESSAGE)
    WeComChannel.from_config({"url": http_server.url, "msgtype": "text"}).send(MESSAGE)
    markdown, text = (r.json() for r in http_server.received)
    assert markdown["msgtype"] == "markdown"
    assert "### 风险预警" in markdown["markdown"]["content"]
    assert "[查看](http://loom.local/r/7)" in markdown["markdown"]["content"]
    assert text["msgtype"] == "text"
    assert text["text"]["mentioned_mobile_list"] == ["13800000000"]
    assert text["text"]["content"].startswith("风险预警\n客户")


def test_wecom_cuts_long_messages_to_the_byte_limit(http_server: HttpServer) -> None:
    long = OutboundMessage(body={"zh": "长" * 5000})
    WeComChannel.from_config({"url": http_server.url}).send(long)
    content = http_server.received[0].json()["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert content.endswith("…")


def test_wecom_rate_limit_is_retryable(http_server: HttpServer) -> None:
    http_server.answer = lambda r: (200, b'{"errcode":45009,"errmsg":"api freq out of limit"}')
    with pytest.raises(DeliveryError) as info:
        WeComChannel.from_config({"url": http_server.url}).send(MESSAGE)
    assert info.value.retryable
