from __future__ import annotations

import ssl
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from channel_servers import Collecting, free_port

from plugins.channels.base import Contact, DeliveryError, OutboundMessage
from plugins.channels.smtp import EmailChannel

MESSAGE = OutboundMessage(
    body={"zh": "应收款 {code} 已逾期", "en": "Receivable is overdue"},
    subject={"zh": "逾期提醒", "en": "Overdue"},
    to=(Contact(username="li", email="li@example.com", lang="zh"),
        Contact(username="amy", email="amy@example.com", lang="en"),
        Contact(username="nomail")),
    app="crm", form="receivable", record_id="42", rule="overdue", key="overdue:42:2026-01-01",
    link="http://loom.local/r/42", record={"code": "AR-7", "amount": "1200.50"},
)


def _plain(msg: Any) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            return str(part.get_payload(decode=True).decode())
    raise AssertionError("no text/plain part")


def test_sends_one_email_per_recipient_in_their_language(
        smtp_server: tuple[int, Collecting]) -> None:
    port, handler = smtp_server
    channel = EmailChannel.from_config({
        "host": "127.0.0.1", "port": port, "sender": "loom@example.com",
        "subject_template": {"zh": "[Loom] {subject} {code}", "en": "[Loom] {subject} {code}"},
        "body_template": "{body}\n金额 {amount}\n{link}"})
    result = channel.send(MESSAGE)
    assert result.delivered == 2
    assert [rcpt for _, rcpt, _ in handler.messages] == [["li@example.com"], ["amy@example.com"]]
    zh, en = handler.messages[0][2], handler.messages[1][2]
    from email.header import decode_header, make_header
    assert str(make_header(decode_header(zh["Subject"]))) == "[Loom] 逾期提醒 AR-7"
    assert str(make_header(decode_header(en["Subject"]))) == "[Loom] Overdue AR-7"
    assert "金额 1200.50" in _plain(zh)
    assert "应收款 {code} 已逾期" in _plain(zh)  # body is already rendered upstream
    assert "Receivable is overdue" in _plain(en)
    assert zh["X-Loom-Key"] == "overdue:42:2026-01-01"
    assert handler.messages[0][0] == "loom@example.com"


def test_html_part_escapes_record_values(smtp_server: tuple[int, Collecting]) -> None:
    port, handler = smtp_server
    channel = EmailChannel.from_config({"host": "127.0.0.1", "port": port,
                                        "sender": "loom@example.com",
                                        "body_template": "客户 {name}"})
    msg = OutboundMessage(body={"zh": "x"}, to=(Contact(email="a@example.com"),),
                          record={"name": "<script>"})
    channel.send(msg)
    html = next(p for p in handler.messages[0][2].walk() if p.get_content_type() == "text/html")
    assert "&lt;script&gt;" in html.get_payload(decode=True).decode()


def test_no_address_is_not_retryable() -> None:
    channel = EmailChannel.from_config({"host": "127.0.0.1", "sender": "a@example.com"})
    with pytest.raises(DeliveryError) as info:
        channel.send(OutboundMessage(body={"zh": "x"}, to=(Contact(username="u"),)))
    assert info.value.code == "no_address"
    assert info.value.retryable is False


def test_server_down_is_retryable() -> None:
    channel = EmailChannel.from_config({"host": "127.0.0.1", "port": free_port(),
                                        "sender": "a@example.com", "timeout": 2})
    with pytest.raises(DeliveryError) as info:
        channel.send(MESSAGE)
    assert info.value.retryable is True
    assert info.value.code == "unreachable"


def test_missing_setting_names_the_key() -> None:
    with pytest.raises(DeliveryError, match="'sender'"):
        EmailChannel.from_config({"host": "127.0.0.1"})


def test_password_never_in_repr() -> None:
    channel = EmailChannel.from_config({"host": "h", "sender": "a@example.com",
                                        "username": "u", "password": "hunter2-secret"})
    assert "hunter2-secret" not in repr(channel.settings)


class _Authenticator:
    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"loom"
              and auth_data.password == b"right")
        return AuthResult(success=ok, handled=False)


def test_starttls_and_login_against_real_server(tls_files: tuple[str, str]) -> None:
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Collecting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=_Authenticator(),
                            auth_require_tls=True)
    controller.start()
    try:
        config = {"host": "127.0.0.1", "port": port, "sender": "loom@example.com",
                  "starttls": True, "ca_file": cert, "username": "loom"}
        EmailChannel.from_config({**config, "password": "right"}).send(MESSAGE)
        assert len(handler.messages) == 2
        with pytest.raises(DeliveryError) as info:
            EmailChannel.from_config({**config, "password": "wrong"}).send(MESSAGE)
        assert info.value.code == "auth_failed"
        assert info.value.retryable is False
        assert "wrong" not in str(info.value)
        with pytest.raises(DeliveryError) as plain:
            EmailChannel.from_config({**config, "starttls": False,
                                      "password": "right"}).send(MESSAGE)
        assert plain.value.retryable is False  # no login offered before STARTTLS
        assert plain.value.code == "not_supported"
        assert len(handler.messages) == 2
    finally:
        controller.stop()
