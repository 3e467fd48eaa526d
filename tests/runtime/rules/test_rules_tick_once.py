"""Scheduled rules fire once per (rule, record, episode): the same tick twice, two
ticks at once in threads (PostgreSQL row claims; SQLite's single writer), and a
restart mid-tick (the window re-run) fire nothing twice."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from builder.bundle import load
from runtime.apps.service import install
from runtime.auth.models import SYSTEM
from runtime.auth.service import create_user
from runtime.context import Context
from runtime.records import service as rec
from runtime.rules import install_rule_hooks
from runtime.scheduler import tick
from runtime.store.tables import rule_claims, rule_runs, rule_schedules, tasks

CRM = Path(__file__).parents[2] / "fixtures" / "bundles" / "credit_crm"
OVERDUE = 12


@pytest.fixture
def receivables(ctx: Context) -> list[str]:
    install_rule_hooks(ctx)
    with ctx.engine.begin() as conn:
        install(conn, ctx, load(CRM), actor=SYSTEM)
        amy = create_user(conn, username="amy", password="amy-pass-123",
                          now=ctx.clock.now())
        cust = rec.create(conn, ctx, app="credit_crm", form="customer",
                          data={"name": "c"}, actor=SYSTEM)["id"]
        ids = [rec.create(conn, ctx, app="credit_crm", form="receivable",
                          data={"code": f"AR-{i}", "customer": cust, "amount": "1.00",
                                "due_date": f"2026-01-{i + 1:02d}"}, actor=amy)["id"]
               for i in range(OVERDUE)]
        rec.create(conn, ctx, app="credit_crm", form="receivable",
                   data={"code": "fresh", "customer": cust, "due_date": "2026-02-28"},
                   actor=SYSTEM)
    return [str(i) for i in ids]


def _count(ctx: Context, table: Any) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_two_ticks_at_once_fire_each_record_once(ctx: Context, receivables: list[str]) -> None:
    at = ctx.clock.now()
    barrier = threading.Barrier(3)
    reports: list[Any] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            reports.append(tick(ctx, at))
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert _count(ctx, tasks) == OVERDUE
    assert _count(ctx, rule_claims) == OVERDUE
    with ctx.engine.connect() as conn:
        ok = conn.execute(select(rule_runs.c.record_id).where(
            rule_runs.c.outcome == "ok")).scalars().all()
        assignees = conn.execute(select(tasks.c.record_id)).scalars().all()
    assert sorted(str(r) for r in ok) == sorted(receivables)
    assert sorted(str(r) for r in assignees) == sorted(receivables)
    fired = sum(r["rules"].get("credit_crm/receivable_overdue", {}).get("ok", 0)
                for r in reports)
    assert fired == OVERDUE


def test_restart_mid_tick_reruns_the_window_without_repeats(
        ctx: Context, receivables: list[str]) -> None:
    at = ctx.clock.now()
    tick(ctx, at)
    assert _count(ctx, tasks) == OVERDUE
    with ctx.engine.begin() as conn:  # as if the process died before `since` moved
        conn.execute(delete(rule_schedules))
    report = tick(ctx, at)
    assert report["rules"]["credit_crm/receivable_overdue"] == {"skipped": OVERDUE}
    assert _count(ctx, tasks) == OVERDUE
    assert tick(ctx, at)["rules"]["credit_crm/receivable_overdue"] == {}
