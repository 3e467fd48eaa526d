"""Users' email addresses (migration 0004), on SQLite and PostgreSQL: set by
`loom user create --email` and the users API, checked when entered, and used by the
email channel for users whose username is not an address."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from typer.testing import CliRunner

from runtime.auth.service import create_user, set_email
from runtime.cli.main import app as cli
from runtime.context import Context
from runtime.errors import ValidationFailed
from runtime.jobs.service import enqueue, run_due
from runtime.notifications import jobs as notification_jobs
from runtime.notifications.recipients import RecordRef, recipient_of, resolve_contacts
from runtime.store.tables import jobs, users


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("LOOM_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LOOM_SMTP_PORT", str(port))
    monkeypatch.setenv("LOOM_SMTP_SENDER", "loom@corp.test")
    try:
        yield handler
    finally:
        controller.stop()


def _email(ctx: Context, username: str) -> str | None:
    with ctx.engine.connect() as conn:
        value: str | None = conn.execute(select(users.c.email).where(
            users.c.username == username)).scalar_one()
        return value


def test_email_channel_mails_users_at_their_address(ctx: Context, smtp: Inbox) -> None:
    now = ctx.clock.now()
    with ctx.engine.begin() as conn:
        create_user(conn, username="wang", password="wang-pass-123", now=now,
                    roles=["finance"], email="wang@corp.test")
        create_user(conn, username="li", password="li-pass-123", now=now, roles=["finance"])
        create_user(conn, username="zhao@corp.test", password="zhao-pass-123", now=now,
                    roles=["finance"])
        enqueue(conn, kind=notification_jobs.NOTIFY_SEND, now=now, payload={
            "channel": "email", "app": "a", "form": None, "record_id": None,
            "to": [{"kind": "role", "value": "finance"}],
            "message": {"zh": "逾期", "en": "overdue"}, "subject": {"zh": "提醒", "en": "Alert"},
            "rule": "rule:r", "key": "r:1:e"})
    assert run_due(ctx, now=now) == {"done": 1, "failed": 0}
    # li has no address and a username that is none: left out; zhao's username is one
    assert sorted(to[0] for to, _ in smtp.messages) == ["wang@corp.test", "zhao@corp.test"]
    with ctx.engine.connect() as conn:
        assert conn.execute(select(jobs.c.status)).scalar_one() == "done"
        contacts = resolve_contacts(conn, [recipient_of({"kind": "user", "value": "wang"})],
                                    RecordRef("a", None, None, None))
    assert [(c.username, c.email) for c in contacts] == [("wang", "wang@corp.test")]


def test_addresses_are_checked_set_and_cleared(ctx: Context) -> None:
    now = ctx.clock.now()
    with ctx.engine.begin() as conn:
        create_user(conn, username="chen", password="chen-pass-123", now=now,
                    email="  chen@corp.test ")
        with pytest.raises(ValidationFailed):
            create_user(conn, username="bad", password="bad-pass-123", now=now,
                        email="not-an-address")
    assert _email(ctx, "chen") == "chen@corp.test"
    with ctx.engine.begin() as conn:
        for bad in ("chen@corp", "a b@corp.test", "x@y@corp.test", "<x@corp.test>"):
            with pytest.raises(ValidationFailed):
                set_email(conn, "chen", bad)
        assert set_email(conn, "chen", "chen.wei@corp.test") == "chen.wei@corp.test"
    assert _email(ctx, "chen") == "chen.wei@corp.test"
    with ctx.engine.begin() as conn:
        assert set_email(conn, "chen", "") is None
    assert _email(ctx, "chen") is None


def test_users_api_sets_addresses_for_admins_and_for_oneself(client: Any,
                                                             ctx: Context) -> None:
    r = client.post("/api/v1/users", json={"username": "sun", "password": "sun-pass-123",
                                           "roles": ["sales"], "email": "sun@corp.test"})
    assert r.status_code == 201, r.text
    assert r.json()["email"] == "sun@corp.test" and r.json()["roles"] == ["sales"]
    bad = client.post("/api/v1/users", json={"username": "zhou", "password": "zhou-pass-123",
                                             "email": "zhou at corp"})
    assert bad.status_code == 422, bad.text
    assert client.post("/api/v1/users", json={"username": "sun", "password": "x" * 9,
                                              }).status_code == 409
    token = client.post("/api/v1/auth/token", json={"username": "sun",
                                                    "password": "sun-pass-123"}).json()
    sun = {"Authorization": f"Bearer {token['access_token']}"}
    r = client.patch("/api/v1/users/sun", json={"email": "sun.new@corp.test"}, headers=sun)
    assert r.status_code == 200 and r.json()["email"] == "sun.new@corp.test"
    assert client.get("/api/v1/users/sun", headers=sun).json()["email"] == "sun.new@corp.test"
    assert client.patch("/api/v1/users/admin", json={"email": "x@corp.test"},
                        headers=sun).status_code == 403
    assert client.post("/api/v1/users", json={"username": "wu", "password": "wu-pass-1234"},
                       headers=sun).status_code == 403
    r = client.patch("/api/v1/users/sun", json={"email": None})  # the admin clears it
    assert r.status_code == 200 and r.json()["email"] is None
    assert client.patch("/api/v1/users/nobody", json={"email": None}).status_code == 404
    assert _email(ctx, "sun") is None


def test_cli_user_create_takes_an_email(ctx: Context, db_url: str) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "create", "qian", "--password", "qian-pass-123",
                            "--email", "qian@corp.test", "--database-url", db_url])
    assert r.exit_code == 0, r.output
    assert _email(ctx, "qian") == "qian@corp.test"
    r = runner.invoke(cli, ["user", "create", "feng", "--password", "feng-pass-123",
                            "--email", "feng@", "--database-url", db_url])
    assert r.exit_code != 0
    with ctx.engine.connect() as conn:
        assert conn.execute(select(users.c.username).where(
            users.c.username == "feng")).first() is None
