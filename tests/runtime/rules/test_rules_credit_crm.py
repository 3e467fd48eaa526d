"""The four warning rules of a credit CRM, end to end on SQLite and PostgreSQL, moving
the clock with `scheduler.tick(ctx, at)`; email through a real local SMTP server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from builder.bundle import load
from runtime.apps.service import install
from runtime.auth.models import SYSTEM, Actor
from runtime.auth.service import create_user
from runtime.context import Context
from runtime.records import service as rec
from runtime.rules import install_rule_hooks
from runtime.scheduler import tick
from runtime.store.tables import jobs, notifications, records, rule_runs, tasks

CRM = Path(__file__).parents[2] / "fixtures" / "bundles" / "credit_crm"
APP = "credit_crm"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        mail = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), mail))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    handler = Inbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("LOOM_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LOOM_SMTP_PORT", str(port))
    monkeypatch.setenv("LOOM_SMTP_SENDER", "loom@crm.test")
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def crm(ctx: Context) -> dict[str, Actor]:
    install_rule_hooks(ctx)
    now = ctx.clock.now()
    with ctx.engine.begin() as conn:
        install(conn, ctx, load(CRM), actor=SYSTEM)
        people = {
            "amy": create_user(conn, username="amy@crm.test", password="amy-pass-123",
                               now=now, roles=["sales"]),
            "fin": create_user(conn, username="fin@crm.test", password="fin-pass-123",
                               now=now, roles=["finance"]),
            "risk": create_user(conn, username="risk", password="risk-pass-123", now=now,
                                roles=["risk_manager"]),
            "dir": create_user(conn, username="dir@crm.test", password="dir-pass-123",
                               now=now, roles=["sales_director"]),
        }
    return people


def _new(ctx: Context, form: str, actor: Actor, **data: Any) -> str:
    with ctx.engine.begin() as conn:
        return str(rec.create(conn, ctx, app=APP, form=form, data=data, actor=actor)["id"])


def _tick(ctx: Context, at: datetime) -> dict[str, Any]:
    ctx.clock.set(at)  # type: ignore[attr-defined]
    return tick(ctx, at)


def _tasks(ctx: Context) -> list[Any]:
    with ctx.engine.connect() as conn:
        return list(conn.execute(select(tasks).order_by(tasks.c.id)))


def _inbox(ctx: Context) -> list[Any]:
    with ctx.engine.connect() as conn:
        return list(conn.execute(select(notifications).order_by(notifications.c.id)))


def test_overdue_receivable_notifies_owner_and_finance_once(ctx: Context, crm: Any,
                                                            smtp: Inbox) -> None:
    amy = crm["amy"]
    cust = _new(ctx, "customer", amy, name="华南电子")
    r1 = _new(ctx, "receivable", amy, code="AR-1", customer=cust, amount="1200.00",
              due_date="2026-01-15")
    r2 = _new(ctx, "receivable", amy, code="AR-2", customer=cust, amount="50.00",
              due_date="2026-02-20")
    _new(ctx, "receivable", amy, code="AR-3", customer=cust, amount="9.00",
         due_date="2026-01-01", status="paid")
    t0 = ctx.clock.now()  # Monday 09:00 in Shanghai: the cron slot
    report = _tick(ctx, t0)
    assert report["rules"][f"{APP}/receivable_overdue"] == {"ok": 1}
    todo = _tasks(ctx)
    assert [(t.assignee, t.title["en"], str(t.record_id)) for t in todo] == [
        ("amy@crm.test", "Collect AR-1", r1)]
    assert todo[0].due_at is not None
    inbox = _inbox(ctx)
    assert sorted(n.username for n in inbox) == ["amy@crm.test", "fin@crm.test"]
    assert "AR-1" in inbox[0].message["zh"] and "1200.00" in inbox[0].message["zh"]
    # the email job ran in the tick, through the real SMTP server, one mail each
    assert sorted(to[0] for to, _ in smtp.messages) == ["amy@crm.test", "fin@crm.test"]
    assert all("AR-1" in str(m["Subject"]) for _, m in smtp.messages)
    # the same tick again, and the next days: nothing new
    _tick(ctx, t0)
    _tick(ctx, t0 + timedelta(days=1))
    _tick(ctx, t0 + timedelta(days=2, hours=3))
    assert len(_tasks(ctx)) == 1 and len(_inbox(ctx)) == 2 and len(smtp.messages) == 2
    # a month later AR-2 is overdue too: it fires once, AR-1 still does not
    _tick(ctx, t0 + timedelta(days=30))
    assert [str(t.record_id) for t in _tasks(ctx)] == [r1, r2]
    assert len(smtp.messages) == 4
    # paying AR-2 late changes nothing already done; a new due date re-arms AR-1
    with ctx.engine.begin() as conn:
        rec.update_record(conn, ctx, app=APP, form="receivable", record_id=r1,
                          patch={"due_date": "2026-02-01"}, actor=amy)
    _tick(ctx, t0 + timedelta(days=31))
    assert [str(t.record_id) for t in _tasks(ctx)] == [r1, r2, r1]
    with ctx.engine.connect() as conn:
        sent = conn.execute(select(jobs.c.status).where(jobs.c.kind == "notify.send")).all()
        runs = conn.execute(select(rule_runs.c.outcome).where(
            rule_runs.c.rule == "receivable_overdue")).scalars().all()
    assert [s.status for s in sent] == ["done", "done", "done"]
    assert runs == ["ok", "ok", "ok"]


def test_three_complaints_in_a_week_mark_the_customer_high_risk(ctx: Context,
                                                                crm: Any) -> None:
    amy = crm["amy"]
    cust = _new(ctx, "customer", amy, name="北方重工")
    other = _new(ctx, "customer", amy, name="东方贸易")
    _new(ctx, "complaint", amy, customer=cust, subject="late")
    ctx.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    _new(ctx, "complaint", amy, customer=cust, subject="broken")
    _new(ctx, "complaint", amy, customer=other, subject="rude")
    with ctx.engine.connect() as conn:
        level = conn.execute(select(records.c.data).where(records.c.id == int(cust))
                             ).scalar_one()["risk_level"]
    assert level == "normal" and _tasks(ctx) == []
    ctx.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    _new(ctx, "complaint", amy, customer=cust, subject="again")
    _new(ctx, "complaint", amy, customer=cust, subject="and again")  # same week: once
    with ctx.engine.connect() as conn:
        data = {str(r.id): r.data for r in conn.execute(
            select(records.c.id, records.c.data).where(records.c.form == "customer"))}
    assert data[cust]["risk_level"] == "high" and data[other]["risk_level"] == "normal"
    todo = _tasks(ctx)
    assert [(t.assignee, t.title["en"]) for t in todo] == [
        ("risk", "Escalation: 3 complaints in 7 days")]


def test_lead_not_contacted_for_three_days_escalates_to_the_director(ctx: Context,
                                                                     crm: Any) -> None:
    amy = crm["amy"]
    t0 = ctx.clock.now()
    assigned = (t0 - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    quiet = _new(ctx, "lead", amy, name="静默线索", assignee="amy@crm.test",
                 assigned_at=assigned)
    called = _new(ctx, "lead", amy, name="已联系", assignee="amy@crm.test",
                  assigned_at=assigned)
    _tick(ctx, t0)
    _tick(ctx, t0 + timedelta(days=2))
    with ctx.engine.begin() as conn:
        rec.update_record(conn, ctx, app=APP, form="lead", record_id=called,
                          patch={"contacted_at": "2026-03-03T02:00:00Z"}, actor=amy)
    assert _tasks(ctx) == [] and _inbox(ctx) == []
    _tick(ctx, t0 + timedelta(days=3, minutes=5))
    _tick(ctx, t0 + timedelta(days=3, minutes=5))
    _tick(ctx, t0 + timedelta(days=5))
    todo = _tasks(ctx)
    assert [(t.assignee, str(t.record_id)) for t in todo] == [("dir@crm.test", quiet)]
    assert sorted(n.username for n in _inbox(ctx)) == ["amy@crm.test", "dir@crm.test"]


def test_no_order_for_three_months_creates_a_win_back_task(ctx: Context, crm: Any) -> None:
    amy = crm["amy"]
    lapsed = _new(ctx, "customer", amy, name="久未下单")
    active = _new(ctx, "customer", amy, name="常客")
    _new(ctx, "customer", amy, name="从未下单")
    _new(ctx, "order", amy, customer=lapsed, order_date="2025-11-20", amount="10.00")
    _new(ctx, "order", amy, customer=active, order_date="2025-10-01", amount="10.00")
    _new(ctx, "order", amy, customer=active, order_date="2026-02-20", amount="10.00")
    t0 = ctx.clock.now()  # Monday 09:00 Shanghai, after the 08:00 slot
    assert t0 == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    _tick(ctx, t0)
    _tick(ctx, t0 + timedelta(days=7))  # next Monday: same last order, no new task
    todo = _tasks(ctx)
    assert [(t.assignee, t.title["en"], str(t.record_id)) for t in todo] == [
        ("amy@crm.test", "Win back 久未下单", lapsed)]
    # a new (still old) order changes the episode: a new win-back once it is 90 days old
    _new(ctx, "order", amy, customer=lapsed, order_date="2025-12-01", amount="5.00")
    _tick(ctx, t0 + timedelta(days=14))
    assert len(_tasks(ctx)) == 2


def test_dry_run_of_a_scheduled_rule_lists_due_records_and_claims(ctx: Context,
                                                                  crm: Any) -> None:
    from runtime.rules.preview import preview_rule

    amy = crm["amy"]
    cust = _new(ctx, "customer", amy, name="c")
    overdue = _new(ctx, "receivable", amy, code="AR-9", customer=cust, due_date="2026-01-02")
    _new(ctx, "receivable", amy, code="AR-8", customer=cust, due_date="2026-02-25")
    with ctx.engine.connect() as conn:
        before = preview_rule(conn, ctx, app=APP, rule="receivable_overdue", actor=SYSTEM)
    assert [(i["record_id"], i["outcome"]) for i in before["items"]] == [(overdue, "fires")]
    assert [e["type"] for e in before["items"][0]["effects"]] == ["Notify", "CreateTask"]
    assert _tasks(ctx) == [] and _inbox(ctx) == []  # nothing written
    _tick(ctx, ctx.clock.now())
    with ctx.engine.connect() as conn:
        after = preview_rule(conn, ctx, app=APP, rule="receivable_overdue", actor=SYSTEM)
    assert after["counts"] == {"already_fired": 1}
