"""Event rules in the write's transaction, through the HTTP API and the record service,
on SQLite and PostgreSQL: effects commit or roll back with the write, watched fields
only, a failing rule never loses the write, a cascade past the bound is a 409 with the
write rolled back, outside calls are jobs that never block a request."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from builder.bundle import load
from builder.export import to_zip
from runtime.auth.models import SYSTEM
from runtime.auth.service import create_user
from runtime.context import Context
from runtime.jobs.service import run_due
from runtime.records import service as records_service
from runtime.rules import install_rule_hooks, run_flow_rules
from runtime.store.tables import jobs, notifications, records, rule_runs, tasks

LAB = Path(__file__).parents[2] / "fixtures" / "bundles" / "rules_lab"
ITEMS = "/api/v1/apps/rules_lab/forms/item/records"


@pytest.fixture
def lab(client: Any, ctx: Context) -> Any:
    r = client.post("/api/v1/apps", content=to_zip(load(LAB)),
                    headers={"Content-Type": "application/zip"})
    assert r.status_code == 201, r.text
    with ctx.engine.begin() as conn:
        create_user(conn, username="olga", password="olga-pass-123", now=ctx.clock.now(),
                    roles=["ops"])
        create_user(conn, username="hank", password="hank-pass-123", now=ctx.clock.now())
    return client


def _item(client: Any, **data: Any) -> dict[str, Any]:
    r = client.post(ITEMS, json={"name": "bolt", **data})
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def _runs(ctx: Context, rule: str) -> list[Any]:
    with ctx.engine.connect() as conn:
        return list(conn.execute(select(rule_runs).where(rule_runs.c.rule == rule)
                                 .order_by(rule_runs.c.id)))


def test_created_rule_sets_fields_and_creates_a_record_in_the_write(lab: Any,
                                                                   ctx: Context) -> None:
    rec = _item(lab, qty=1)
    got = lab.get(f"{ITEMS}/{rec['id']}").json()
    assert got["data"]["note"] == "auto:bolt"
    audits = lab.get("/api/v1/apps/rules_lab/forms/audit/records").json()["items"]
    assert [a["data"]["title"] for a in audits] == ["created bolt"]
    assert audits[0]["data"]["item"] == rec["id"]
    runs = _runs(ctx, "stamp_new")
    assert len(runs) == 1 and runs[0].outcome == "ok" and runs[0].trigger == "created"
    assert [e["type"] for e in runs[0].effects] == ["SetFields", "CreateRecord"]
    assert str(runs[0].record_id) == rec["id"]


def test_watched_field_change_flags_tags_tasks_and_inbox(lab: Any, ctx: Context) -> None:
    rec = _item(lab, qty=1, handler="hank")
    r = lab.patch(f"{ITEMS}/{rec['id']}", json={"qty": 150})
    assert r.status_code == 200, r.text
    with ctx.engine.connect() as conn:
        marks = conn.execute(select(records.c.marks).where(
            records.c.id == int(rec["id"]))).scalar_one()
        todo = conn.execute(select(tasks.c.assignee, tasks.c.kind, tasks.c.title)
                            .order_by(tasks.c.assignee)).all()
        inbox = conn.execute(select(notifications.c.username, notifications.c.message)).all()
    assert marks["tags"] == ["bulk"] and marks["flags"]["big"]["color"] == "#ff0000"
    assert [(t.assignee, t.kind) for t in todo] == [("hank", "todo"), ("olga", "todo")]
    assert todo[0].title == {"zh": "检查 bolt", "en": "Check bolt"}
    assert [(n.username, n.message["en"]) for n in inbox] == [("admin", "bolt qty 150")]
    # an update that does not change the watched field fires nothing more
    assert lab.patch(f"{ITEMS}/{rec['id']}", json={"name": "nut"}).status_code == 200
    assert len(_runs(ctx, "big_qty")) == 1
    # the field changes again but the condition is false: no firing either
    assert lab.patch(f"{ITEMS}/{rec['id']}", json={"qty": 5}).status_code == 200
    assert len(_runs(ctx, "big_qty")) == 1


def test_failing_rule_is_logged_undone_and_the_write_kept(lab: Any, ctx: Context) -> None:
    rec = _item(lab, qty=3)
    r = lab.patch(f"{ITEMS}/{rec['id']}", json={"status": "broken"})
    assert r.status_code == 200, r.text
    got = lab.get(f"{ITEMS}/{rec['id']}").json()
    assert got["data"]["status"] == "broken" and got["data"]["qty"] == 3
    with ctx.engine.connect() as conn:
        marks = conn.execute(select(records.c.marks).where(
            records.c.id == int(rec["id"]))).scalar_one()
    assert not (marks or {}).get("tags")  # the rule's first effect was undone with it
    runs = _runs(ctx, "broken_fails")
    assert len(runs) == 1 and runs[0].outcome == "error"
    assert "validation_failed" in runs[0].error
    listed = lab.get(f"/api/v1/apps/rules_lab/forms/item/records/{rec['id']}/rule-runs")
    assert listed.status_code == 200
    outcomes = {(i["rule"], i["outcome"]) for i in listed.json()["items"]}
    assert ("broken_fails", "error") in outcomes and ("stamp_new", "ok") in outcomes
    error = next(i for i in listed.json()["items"] if i["rule"] == "broken_fails")["error"]
    assert error["code"] == "validation_failed"


def test_cascade_past_the_bound_is_409_and_rolls_the_write_back(lab: Any,
                                                                ctx: Context) -> None:
    rec = _item(lab, qty=1)
    r = lab.patch(f"{ITEMS}/{rec['id']}", json={"level": 1})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "rule_cascade_limit"
    got = lab.get(f"{ITEMS}/{rec['id']}").json()
    assert got["data"].get("level") is None and got["version"] == rec["version"] + 1
    assert _runs(ctx, "level_loop") == []  # the run log rolled back with the write


def test_rule_effects_roll_back_with_the_write(lab: Any, ctx: Context) -> None:
    with pytest.raises(RuntimeError), ctx.engine.begin() as conn:
        records_service.create(conn, ctx, app="rules_lab", form="item",
                               data={"name": "ghost"}, actor=SYSTEM)
        assert conn.execute(select(func.count()).select_from(records).where(
            records.c.form == "audit")).scalar_one() == 1
        raise RuntimeError("the caller fails after the write")
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(records)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(rule_runs)).scalar_one() == 0


def test_rules_fire_on_the_service_path_and_hooks_install_once(lab: Any,
                                                             ctx: Context) -> None:
    install_rule_hooks(ctx)
    install_rule_hooks(ctx)
    with ctx.engine.begin() as conn:
        rec = records_service.create(conn, ctx, app="rules_lab", form="item",
                                     data={"name": "cli"}, actor=SYSTEM)
    assert len(_runs(ctx, "stamp_new")) == 1
    with ctx.engine.connect() as conn:
        data = conn.execute(select(records.c.data).where(
            records.c.id == int(rec["id"]))).scalar_one()
    assert data["note"] == "auto:cli"


def test_webhook_down_is_retried_then_failed_never_blocking(lab: Any, ctx: Context) -> None:
    rec = _item(lab, qty=1)
    r = lab.patch(f"{ITEMS}/{rec['id']}", json={"status": "hook"})
    assert r.status_code == 200, r.text
    now = ctx.clock.now()
    for attempt in range(1, 6):
        counts = run_due(ctx, now=now)
        assert counts["failed"] == 1, (attempt, counts)
        with ctx.engine.connect() as conn:
            job = conn.execute(select(jobs).where(jobs.c.kind == "webhook.call")).one()
        assert job.attempts == attempt
        assert "unreachable" in (job.last_error or "")
        now = job.run_at + timedelta(seconds=1)
    assert job.status == "failed"
    assert run_due(ctx, now=now + timedelta(days=1)) == {"done": 0, "failed": 0}


def test_run_log_and_dry_run_api(lab: Any, ctx: Context) -> None:
    small = _item(lab, qty=1)
    big = _item(lab, qty=500)
    r = lab.get("/api/v1/apps/rules_lab/rules/stamp_new/runs")
    assert r.status_code == 200
    assert {i["record_id"] for i in r.json()["items"]} == {small["id"], big["id"]}
    r = lab.post("/api/v1/apps/rules_lab/rules/big_qty/dry-run")
    assert r.status_code == 200, r.text
    body = r.json()
    by_id = {i["record_id"]: i for i in body["items"]}
    assert by_id[big["id"]]["outcome"] == "fires"
    assert by_id[small["id"]]["outcome"] == "condition_false"
    assert [e["type"] for e in by_id[big["id"]]["effects"]] == [
        "FlagRecord", "TagRecord", "CreateTask", "Notify"]
    with ctx.engine.connect() as conn:  # the dry run wrote nothing
        assert conn.execute(select(func.count()).select_from(tasks)).scalar_one() == 0
    assert lab.post("/api/v1/apps/rules_lab/rules/nope/dry-run").status_code == 404
    assert lab.get("/api/v1/notifications").status_code == 200


def test_flow_events_fire_flow_rules(lab: Any, ctx: Context) -> None:
    rec = _item(lab, qty=1)
    with ctx.engine.begin() as conn:
        fired = run_flow_rules(conn, ctx, app="rules_lab", flow="check", event="approved",
                               form="item", record_id=rec["id"], actor=SYSTEM)
        assert run_flow_rules(conn, ctx, app="rules_lab", flow="check", event="rejected",
                              form="item", record_id=rec["id"], actor=SYSTEM) == 0
    assert fired == 1
    with ctx.engine.connect() as conn:
        marks = conn.execute(select(records.c.marks).where(
            records.c.id == int(rec["id"]))).scalar_one()
    assert marks["tags"] == ["approved"]
    assert [r.trigger for r in _runs(ctx, "on_approved")] == ["flow:approved"]
