"""Scenarios of the template running in the platform (rules and flows wired by the app
factory), through the HTTP API on SQLite and PostgreSQL, moving the clock with
`scheduler.tick(ctx, at)` as `loom scheduler tick --at` does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from crm_support import FORMS
from http_records import patch_record, post_record, record_data
from sqlalchemy import func, select

from runtime.auth.service import create_user
from runtime.context import Context
from runtime.scheduler import tick
from runtime.store.tables import (
    flow_instances,
    notifications,
    record_projections,
    records,
    tasks,
)

CODE = "91310000MA1FL8XQ37"


_post = partial(post_record, forms=FORMS)
_patch = partial(patch_record, forms=FORMS)
_get = partial(record_data, forms=FORMS)

def _count(ctx: Context, table: Any, *where: Any) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where))
                   .scalar_one())


def _customer(client: Any, **extra: Any) -> str:
    body = {"name": "华东精密机械有限公司", "credit_code": CODE, "region": "east",
            "sales_team": "ka", "since": "2023-01-01", **extra}
    return str(_post(client, "customer", body)["id"])


def _at(day: str, hour_utc: int = 2) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour_utc, tzinfo=UTC)


def test_receivable_30_days_overdue_fires_exactly_once(crm_client: Any, ctx: Context) -> None:
    cid = _customer(crm_client)
    inv = str(_post(crm_client, "invoice", {"customer": cid, "amount": "5000.00",
                                             "issue_date": "2026-02-01",
                                             "due_date": "2026-03-01"})["id"])
    overdue_tasks = (tasks.c.record_id == int(inv), tasks.c.form == "invoice")
    tick(ctx, _at("2026-03-20"))  # 19 days overdue: nothing yet
    assert _count(ctx, tasks, *overdue_tasks) == 0
    tick(ctx, _at("2026-04-02"))  # 32 days overdue, 10:00 Beijing: fires
    fired = _count(ctx, tasks, *overdue_tasks)
    assert fired >= 1  # the collection to-do (and the flow's first task)
    assert _count(ctx, notifications, notifications.c.record_id == int(inv)) >= 1
    assert _count(ctx, flow_instances, flow_instances.c.flow == "collection") == 1
    tick(ctx, _at("2026-04-03"))
    tick(ctx, _at("2026-04-10"))
    assert _count(ctx, tasks, *overdue_tasks) == fired
    assert _count(ctx, flow_instances, flow_instances.c.flow == "collection") == 1
    # the daily ageing moved the invoice on
    assert _get(crm_client, "invoice", inv)["aging_bucket"] in {"d31_60", "d0_30"}


def test_three_complaints_in_seven_days_make_the_customer_high_risk_once(
        crm_client: Any, ctx: Context) -> None:
    cid = _customer(crm_client)
    for i in range(4):
        ctx.clock.set(datetime(2026, 3, 2 + i, 2, tzinfo=UTC))  # type: ignore[attr-defined]
        _post(crm_client, "ticket", {"subject": f"投诉{i}", "customer": cid,
                                     "type": "complaint", "priority": "high"})
        high_risk = _get(crm_client, "customer", cid)["high_risk"]
        assert high_risk is (i >= 2)
    assert _count(ctx, flow_instances, flow_instances.c.flow == "senior_escalation") == 1
    # each complaint started complaint handling and recorded our resolution promise
    assert _count(ctx, flow_instances, flow_instances.c.flow == "complaint_handling") == 4
    assert _count(ctx, records, records.c.form == "commitment") == 4


def test_a_lead_is_recalled_to_the_pool_and_claimed_by_another_rep(
        crm_client: Any, ctx: Context) -> None:
    with ctx.engine.begin() as conn:
        for name in ("rep_a", "rep_b"):
            create_user(conn, username=name, password="rep-pass-123", now=ctx.clock.now(),
                        roles=["sales_rep"])
    assigned = ctx.clock.now()
    lead = str(_post(crm_client, "lead", {
        "company": "西安恒通物流有限公司", "source": "website", "in_pool": False,
        "assigned_to": "rep_a", "status": "assigned",
        "assigned_at": assigned.isoformat()})["id"])
    tick(ctx, assigned + timedelta(days=4))  # 3 days without contact: escalated
    data = _get(crm_client, "lead", lead)
    assert data["escalated"] is True and data["in_pool"] is False
    tick(ctx, assigned + timedelta(days=8))  # 7 days without follow-up: recalled
    data = _get(crm_client, "lead", lead)
    assert data["in_pool"] is True and data["status"] == "recalled"
    assert data["previous_owner"] == "rep_a" and not data.get("assigned_to")
    assert data["recall_count"] == 1
    claimed = _patch(crm_client, "lead", lead, {
        "in_pool": False, "assigned_to": "rep_b", "status": "assigned",
        "assigned_at": (assigned + timedelta(days=8)).isoformat()})
    assert claimed["data"]["assigned_to"] == "rep_b"


def test_contract_delivery_promises_kept_and_broken_move_the_trust_index(
        crm_client: Any, ctx: Context) -> None:
    cid = _customer(crm_client)
    contracts = []
    for title, due in (("维保合同A", "2026-03-20"), ("维保合同B", "2026-03-25")):
        c = _post(crm_client, "contract", {"title": title, "customer": cid,
                                           "amount": "80000.00", "delivery_due": due})
        assert c["data"]["status"] in {"draft", "approving"}
        contracts.append(str(c["id"]))
    assert _count(ctx, flow_instances, flow_instances.c.flow == "contract_approval") == 2
    for rid in contracts:  # signing creates our delivery promise and starts delivery
        _patch(crm_client, "contract", rid, {"status": "signed", "signed_on": "2026-03-02"})
    promises = (records.c.form == "commitment",)
    assert _count(ctx, records, *promises) == 2
    assert _count(ctx, flow_instances, flow_instances.c.flow == "delivery") == 2
    ctx.clock.set(datetime(2026, 3, 18, 2, tzinfo=UTC))  # type: ignore[attr-defined]
    _patch(crm_client, "contract", contracts[0], {"status": "fulfilled",
                                                  "delivered_on": "2026-03-18"})
    tick(ctx, datetime(2026, 3, 27, 2, tzinfo=UTC))  # B's promise is past due: broken
    with ctx.engine.connect() as conn:
        states = sorted(d["status"] for d in conn.execute(
            select(records.c.data).where(*promises)).scalars())
    assert states == ["broken", "kept"]
    customer = _get(crm_client, "customer", cid)  # the nightly score ran in the tick
    assert customer["t_our_due"] == 2 and customer["t_our_kept"] == 1
    assert customer["trust_index"] is not None and customer["credit_grade"] in "ABCDE"


def test_complaint_sla_reminds_then_escalates_to_the_general_manager(
        crm_client: Any, ctx: Context) -> None:
    """Contact within 30 minutes: a reminder 10 minutes before, the general manager
    gets the task when it runs out — driven by `scheduler tick --at` alone."""
    t0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    ctx.clock.set(t0)  # type: ignore[attr-defined]
    with ctx.engine.begin() as conn:
        create_user(conn, username="cs_li", password="cs-password-1", now=t0,
                    roles=["customer_service"], department="service")
        create_user(conn, username="gm_wang", password="gm-password-1", now=t0,
                    roles=["general_manager"], department="board")
    cid = _customer(crm_client)
    ticket = str(_post(crm_client, "ticket", {"subject": "交付延误投诉", "customer": cid,
                                              "type": "complaint", "priority": "high"})["id"])
    instance = (flow_instances.c.flow == "complaint_handling",
                flow_instances.c.record_id == int(ticket))
    assert _count(ctx, flow_instances, *instance) == 1
    contact = (tasks.c.node_id == "contact", tasks.c.status == "open")
    assert _count(ctx, tasks, *contact, tasks.c.assignee == "cs_li") == 1
    assert _count(ctx, tasks, *contact, tasks.c.assignee == "gm_wang") == 0

    def reminders() -> int:
        return _count(ctx, notifications, notifications.c.username == "cs_li")

    before = reminders()
    tick(ctx, t0 + timedelta(minutes=15))  # nothing due yet
    assert reminders() == before
    assert _count(ctx, tasks, *contact, tasks.c.assignee == "gm_wang") == 0
    tick(ctx, t0 + timedelta(minutes=21))  # 10 minutes before the 30-minute promise
    assert reminders() > before
    tick(ctx, t0 + timedelta(minutes=31))  # the promise is broken: escalate
    assert _count(ctx, tasks, *contact, tasks.c.assignee == "gm_wang") == 1
    tick(ctx, t0 + timedelta(minutes=45))  # a second tick escalates nothing more
    assert _count(ctx, tasks, *contact, tasks.c.assignee == "gm_wang") == 1


def test_a_large_contract_walks_the_approval_then_delivery(
        crm_client: Any, ctx: Context) -> None:
    """Over 2,000,000: the sales director, then finance and legal in parallel, then the
    general manager — each acting on their own task through the task centre — then the
    contract is approved, signed, and signing records our delivery promise."""
    from datetime import timedelta as td

    from runtime.auth.service import issue_token

    now = ctx.clock.now()
    people = {"zhao": "sales_director", "qian": "finance", "sun": "legal",
              "li": "general_manager"}
    headers = {}
    with ctx.engine.begin() as conn:
        for name, role in people.items():
            create_user(conn, username=name, password="pass-word-1", now=now, roles=[role])
            headers[name] = {"Authorization": "Bearer " + issue_token(
                conn, username=name, now=now, ttl=td(hours=1))}
    cid = _customer(crm_client)
    rid = str(_post(crm_client, "contract", {"title": "年度集采合同", "customer": cid,
                                             "amount": "2500000.00",
                                             "delivery_due": "2026-04-30"})["id"])
    assert _get(crm_client, "contract", rid)["status"] == "approving"

    def act(user: str) -> None:
        box = crm_client.get("/api/v1/tasks", params={"box": "todo"},
                             headers=headers[user]).json()["items"]
        mine = [t for t in box if str(t.get("record_id")) == rid]
        assert len(mine) == 1, (user, box)
        r = crm_client.post(f"/api/v1/tasks/{mine[0]['id']}/actions", headers=headers[user],
                            json={"action": "approve", "comment": f"{user} 同意"})
        assert r.status_code == 200, r.text

    # someone else's task is refused and changes nothing
    director_task = crm_client.get("/api/v1/tasks", params={"box": "todo"},
                                   headers=headers["zhao"]).json()["items"][0]["id"]
    r = crm_client.post(f"/api/v1/tasks/{director_task}/actions", headers=headers["qian"],
                        json={"action": "approve"})
    assert r.status_code == 403
    for user in ("zhao", "qian", "sun", "li"):
        assert _get(crm_client, "contract", rid)["status"] == "approving"
        act(user)
    assert _get(crm_client, "contract", rid)["status"] == "approved"
    _patch(crm_client, "contract", rid, {"status": "signed", "signed_on": "2026-03-03"})
    promises = (records.c.form == "commitment",)
    assert _count(ctx, records, *promises) == 1
    assert _count(ctx, flow_instances, flow_instances.c.flow == "delivery") == 1


def test_ticket_sla_runs_on_the_working_calendar_complaints_round_the_clock(
        crm_client: Any, ctx: Context) -> None:
    """app.json's calendar (09:00-12:00, 13:30-18:00 on working days, holidays and
    weekend days worked): a medium fault opened on Friday at 17:00 Beijing must be
    answered within 8 working hours — by Monday 17:30 — and solved within 40, by the
    Monday after at 10:30; a complaint opened then keeps its 30 minutes and 24 hours."""
    friday_five = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)  # 17:00 in Beijing
    ctx.clock.set(friday_five)  # type: ignore[attr-defined]
    cid = _customer(crm_client)
    fault = _post(crm_client, "ticket", {"subject": "设备故障", "customer": cid,
                                         "type": "fault", "priority": "medium"})["data"]
    assert fault["response_due"] == "2026-03-09T09:30:00Z"
    assert fault["resolution_due"] == "2026-03-16T02:30:00Z"
    complaint = _post(crm_client, "ticket", {"subject": "交付延误投诉", "customer": cid,
                                             "type": "complaint", "priority": "medium"})["data"]
    assert complaint["response_due"] == "2026-03-06T09:30:00Z"
    assert complaint["resolution_due"] == "2026-03-07T09:00:00Z"
    # the National Day week is off (and Saturday 10 October worked): by the app's own
    # calendar, a high-priority question at 17:00 on 30 September is due on 8 October
    with ctx.engine.connect() as conn:
        calendar = ctx.apps.current(conn, "credit_crm").calendar
    assert calendar is not None
    due = calendar.add_seconds(datetime(2026, 9, 30, 9, 0, tzinfo=UTC), 2 * 3600, ctx.tz)
    assert due == datetime(2026, 10, 8, 2, 0, tzinfo=UTC)  # 1 h that day, 1 h on the 8th
    assert calendar.is_workday(datetime(2026, 10, 10).date())


def _by_region(client: Any, **query: Any) -> dict[str, int]:
    import json

    params = {k: json.dumps(v) for k, v in query.items()}
    r = client.get("/api/v1/apps/credit_crm/dashboards/trust", params=params)
    assert r.status_code == 200, r.text
    widget = next(w for w in r.json()["widgets"] if w["id"] == "by_region")
    return {row["region"]: row["responses"] for row in widget["data"]["rows"]
            if row.get("_level", 0) == 0 and row["region"] is not None}


def test_the_trust_dashboard_follows_a_customer_moving_region(crm_client: Any,
                                                              ctx: Context) -> None:
    """The dashboard's joins read the customers' narrow copies on PostgreSQL
    (engines.report.projection): each write of a customer keeps its copy in step."""
    cid = _customer(crm_client)
    _post(crm_client, "survey", {"customer": cid, "answered_on": "2026-03-10", "csat": 5,
                                 "nps": 10})
    assert _by_region(crm_client) == {"east": 1}
    _patch(crm_client, "customer", cid, {"region": "north", "sales_team": "gov"})
    assert _by_region(crm_client) == {"north": 1}
    assert _by_region(crm_client, filters={"region": "north"}) == {"north": 1}
    assert _by_region(crm_client, filters={"region": "east"}) == {}
    assert _by_region(crm_client, filters={"sales_team": "gov"}) == {"north": 1}
    with ctx.engine.connect() as conn:
        copies = conn.execute(select(record_projections.c.data).where(
            record_projections.c.id == int(cid))).scalars().all()
    if ctx.engine.dialect.name == "postgresql":  # the copy holds the fields reports read
        assert copies == [{"region": "north", "sales_team": "gov"}]
    else:  # SQLite joins each customer by its key and keeps no copies
        assert copies == []


def test_reports_read_the_records_until_the_copies_are_built_for_the_version(
        crm_client: Any, ctx: Context) -> None:
    """A database upgraded to the projections holds none: its reports read the records
    (same data) until the platform's start builds them (`ensure_projections`)."""
    from dataclasses import replace

    from sqlalchemy import delete

    from runtime.apps.registry import AppRegistry
    from runtime.reports.provider import AppReports, ensure_projections
    from runtime.store.tables import projection_builds

    def joins_copies() -> bool:  # as a process started now would plan the dashboard
        fresh = replace(ctx, apps=AppRegistry())
        with ctx.engine.connect() as conn:
            board, _ = AppReports(fresh).dashboard(conn, "credit_crm", "trust")
        return all(w.report.projection is not None for w in board.widgets)

    cid = _customer(crm_client)
    _post(crm_client, "survey", {"customer": cid, "answered_on": "2026-03-10", "csat": 4})
    postgres = ctx.engine.dialect.name == "postgresql"
    assert joins_copies() is postgres and ensure_projections(ctx) == []
    if not postgres:
        return
    with ctx.engine.begin() as conn:  # as after the migration that adds them
        conn.execute(delete(record_projections))
        conn.execute(delete(projection_builds))
    assert not joins_copies()
    _patch(crm_client, "customer", cid, {"region": "south"})  # a write: its copy made
    assert _by_region(crm_client) == {"south": 1}
    assert ensure_projections(ctx) == ["credit_crm"]
    assert joins_copies() and ensure_projections(ctx) == []
    _patch(crm_client, "customer", cid, {"region": "central"})
    assert _by_region(crm_client) == {"central": 1}
