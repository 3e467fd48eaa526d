"""The inbox API, the `notify.send` and `webhook.call` jobs (recipients resolved when
they run, signed webhooks to a local server, secrets from the environment and never
in payloads, logs or errors), retried by the job runner and finally failed."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from http_target import Target, http_target
from sqlalchemy import insert, select

from plugins.channels.webhook import verify_signature
from runtime.auth.service import create_user
from runtime.context import Context
from runtime.jobs.service import enqueue, run_due
from runtime.notifications import jobs as notification_jobs
from runtime.notifications.channels import channel_config, secret
from runtime.store.tables import jobs, notifications


@pytest.fixture
def http() -> Iterator[tuple[str, Target]]:
    with http_target() as served:
        yield served


def _users(ctx: Context) -> None:
    with ctx.engine.begin() as conn:
        for name, roles in (("fin1", ["finance"]), ("fin2", ["finance"]), ("bob", [])):
            create_user(conn, username=name, password=f"{name}-pass-123",
                        now=ctx.clock.now(), roles=roles)


def test_inbox_api_lists_own_messages_and_marks_read(client: Any, ctx: Context) -> None:
    _users(ctx)
    now = ctx.clock.now()
    with ctx.engine.begin() as conn:
        for user, text in (("admin", "one"), ("admin", "two"), ("bob", "secret")):
            conn.execute(insert(notifications).values(
                username=user, message={"zh": text, "en": text}, created_at=now))
    items = client.get("/api/v1/notifications").json()["items"]
    assert [i["message"]["en"] for i in items] == ["two", "one"]
    r = client.post(f"/api/v1/notifications/{items[1]['id']}/read")
    assert r.status_code == 200 and r.json()["read"] is True
    unread = client.get("/api/v1/notifications", params={"unread": "true"}).json()["items"]
    assert [i["message"]["en"] for i in unread] == ["two"]
    with ctx.engine.connect() as conn:
        bobs = conn.execute(select(notifications.c.id).where(
            notifications.c.username == "bob")).scalar_one()
    assert client.post(f"/api/v1/notifications/{bobs}/read").status_code == 404
    assert client.post("/api/v1/notifications/abc/read").status_code == 404


def test_notify_send_over_webhook_resolves_the_role_when_it_runs(
        ctx: Context, http: tuple[str, Target], monkeypatch: pytest.MonkeyPatch) -> None:
    url, server = http
    _users(ctx)
    monkeypatch.setenv("LOOM_WEBHOOK_URL", url)
    monkeypatch.setenv("LOOM_WEBHOOK_SECRET", "s3cret-value")
    now = ctx.clock.now()
    with ctx.engine.begin() as conn:
        enqueue(conn, kind=notification_jobs.NOTIFY_SEND, now=now, payload={
            "channel": "webhook", "app": "a", "form": None, "record_id": None,
            "to": [{"kind": "role", "value": "finance"}, {"kind": "user", "value": "bob"}],
            "message": {"zh": "逾期", "en": "overdue"}, "subject": None,
            "rule": "rule:r", "key": "r:1:e"})
    assert run_due(ctx, now=now) == {"done": 1, "failed": 0}
    headers, body = server.received[0]
    assert json.loads(body)["to"] == ["fin1", "fin2", "bob"]
    assert verify_signature("s3cret-value", timestamp=headers["X-Loom-Timestamp"], body=body,
                            signature=headers["X-Loom-Signature"],
                            now=float(headers["X-Loom-Timestamp"]))
    assert headers["X-Loom-Delivery"] == "r:1:e"


def test_failing_delivery_is_retried_then_failed_without_leaking_secrets(
        ctx: Context, http: tuple[str, Target], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    url, server = http
    server.status = 503
    monkeypatch.setenv("LOOM_SECRET_CRM", "very-private-key")
    now = ctx.clock.now()
    with ctx.engine.begin() as conn:
        enqueue(conn, kind=notification_jobs.WEBHOOK_CALL, now=now, max_attempts=3,
                payload={"url": url, "payload": {"a": 1}, "secret_ref": "crm", "key": None})
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        assert run_due(ctx, now=now)["failed"] == 1
        with ctx.engine.connect() as conn:
            job = conn.execute(select(jobs)).one()
        now = job.run_at + timedelta(seconds=1)
    assert job.status == "failed" and "http_503" in job.last_error
    assert len(server.received) == 3
    assert all(h["X-Loom-Signature"].startswith("sha256=") for h, _ in server.received)
    assert "very-private-key" not in caplog.text
    assert "very-private-key" not in (job.last_error or "")
    assert "very-private-key" not in json.dumps(job.payload)


def test_channel_config_from_environment() -> None:
    env = {"LOOM_SMTP_HOST": "mail", "LOOM_SMTP_PORT": "2525", "LOOM_SMTP_STARTTLS": "yes",
           "LOOM_SMTP_SENDER": "a@b.c", "LOOM_SMTP_PASSWORD": "", "LOOM_SECRET_CRM": "k"}
    assert channel_config("email", env) == {"host": "mail", "port": "2525",
                                             "starttls": True, "sender": "a@b.c"}
    assert channel_config("wecom", env) == {}
    assert secret("crm", env) == "k" and secret(None, env) is None
    assert secret("other", env) is None
