"""Email over SMTP (stdlib smtplib): one message per recipient, in their language.

Why one message per recipient: each person gets their own language and nobody sees
the other addresses. Settings (config keys): `host`, `port` (default 25), `sender`,
`username`/`password` (optional; login only when both are set), `starttls` (bool),
`ssl` (implicit TLS, e.g. port 465), `ca_file` (a private CA to trust), `timeout`
seconds (default 10), and optional templates `subject_template` / `body_template`,
each a string or `{"zh", "en"}`, with `{subject}`, `{body}`, `{link}`, `{app}`,
`{form}`, `{record_id}` and the record's fields as placeholders.
The password never appears in a repr, a log or an error.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Self

from plugins.channels.base import (
    Channel,
    Contact,
    DeliveryError,
    DeliveryResult,
    Lang,
    OutboundMessage,
    pick,
    require,
)
from plugins.channels.templates import render

DEFAULT_SUBJECT = {"zh": "{subject}", "en": "{subject}"}
DEFAULT_BODY = {"zh": "{body}\n\n{link}", "en": "{body}\n\n{link}"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    sender: str
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    ssl: bool = False
    timeout: float = 10.0
    ca_file: str | None = None
    subject_template: Mapping[str, str] = field(default_factory=lambda: DEFAULT_SUBJECT)
    body_template: Mapping[str, str] = field(default_factory=lambda: DEFAULT_BODY)


def _both(value: Any, default: Mapping[str, str]) -> Mapping[str, str]:
    if value is None:
        return default
    if isinstance(value, str):
        return {"zh": value, "en": value}
    return {"zh": str(value.get("zh") or value.get("en") or ""),
            "en": str(value.get("en") or value.get("zh") or "")}


class EmailChannel(Channel):
    name = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **services: Any) -> Self:
        return cls(SmtpSettings(
            host=str(require(config, cls.name, "host")),
            sender=str(require(config, cls.name, "sender")),
            port=int(config.get("port", 25)),
            username=config.get("username"),
            password=config.get("password"),
            starttls=bool(config.get("starttls", False)),
            ssl=bool(config.get("ssl", False)),
            timeout=float(config.get("timeout", 10.0)),
            ca_file=config.get("ca_file"),
            subject_template=_both(config.get("subject_template"), DEFAULT_SUBJECT),
            body_template=_both(config.get("body_template"), DEFAULT_BODY),
        ))

    def compose(self, message: OutboundMessage, contact: Contact) -> EmailMessage:
        """The email one contact receives (public so it can be previewed and tested)."""
        lang: Lang = contact.lang
        values: dict[str, Any] = {**message.record, "subject": message.title(lang),
                                  "body": message.text(lang), "link": message.link or "",
                                  "app": message.app or "", "form": message.form or "",
                                  "record_id": message.record_id or ""}
        subject = render(pick(self.settings.subject_template, lang), values)
        text = render(pick(self.settings.body_template, lang), values).strip() + "\n"
        markup = render(pick(self.settings.body_template, lang), values, html.escape)
        email = EmailMessage()
        email["From"] = self.settings.sender
        email["To"] = contact.email or ""
        email["Subject"] = " ".join(subject.split()) or message.text(lang)[:80]
        email["Message-ID"] = make_msgid(domain=self.settings.sender.rpartition("@")[2])
        if message.key:
            email["X-Loom-Key"] = message.key
        email["Content-Language"] = "zh-CN" if lang == "zh" else "en"
        email.set_content(text)
        email.add_alternative(
            "<html><body><p>" + markup.strip().replace("\n", "<br>\n") + "</p></body></html>",
            subtype="html")
        return email

    def send(self, message: OutboundMessage) -> DeliveryResult:
        contacts = [c for c in message.to if c.email]
        if not contacts:
            raise DeliveryError(self.name, "no_address",
                                "no recipient has an email address", retryable=False)
        emails = [self.compose(message, c) for c in contacts]
        try:
            with self._connect() as smtp:
                refused: dict[str, Any] = {}
                for email in emails:
                    refused.update(smtp.send_message(email))
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(self.name, "auth_failed",
                                f"the SMTP server refused the login ({exc.smtp_code})",
                                retryable=False) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(self.name, "not_supported",
                                "the SMTP server does not offer what the settings ask "
                                "(STARTTLS or login)", retryable=False) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(self.name, "recipients_refused",
                                f"refused: {', '.join(sorted(exc.recipients))}",
                                retryable=False) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(self.name, f"smtp_{exc.smtp_code}",
                                f"the SMTP server answered {exc.smtp_code}",
                                retryable=400 <= exc.smtp_code < 500) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(self.name, "unreachable",
                                f"cannot talk to {self.settings.host}:{self.settings.port}: "
                                f"{type(exc).__name__}", retryable=True) from exc
        delivered = len(emails) - len(refused)
        detail = f"refused: {', '.join(sorted(refused))}" if refused else ""
        return DeliveryResult(self.name, delivered=delivered, detail=detail)

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.ca_file)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP
        if s.ssl:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                    context=self._tls())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            if s.starttls:
                smtp.starttls(context=self._tls())
            if s.username and s.password:
                smtp.login(s.username, s.password)
        except BaseException:
            smtp.close()
            raise
        return smtp
