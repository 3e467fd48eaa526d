"""Scenarios of the template that use the rule features added for it (issue 8): leads
assigned by round robin within a team, an urgent complaint alerting the head of the
account manager's department, and promises to pay kept or kept late by their own due
time — through the HTTP API on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from crm_support import FORMS
from http_records import post_record, record_data
from sqlalchemy import insert, select

from runtime.auth.service import create_user
from runtime.context import Context
from runtime.scheduler import tick
from runtime.store.tables import departments, notifications

CODE = "91310000MA1FL8XQ37"


_post = partial(post_record, forms=FORMS)
_get = partial(record_data, forms=FORMS)

def _sales_org(ctx: Context) -> None:
    """The demo's shape: sales → sales_ka (headed by its director) with three reps."""
    with ctx.engine.begin() as conn:
        conn.execute(insert(departments), [
            {"key": "company", "name": {"zh": "公司"}, "parent": None, "head": "gm"},
            {"key": "sales", "name": {"zh": "销售中心"}, "parent": "company", "head": None},
            {"key": "sales_ka", "name": {"zh": "大客户部"}, "parent": "sales",
             "head": "director_ka"},
            {"key": "sales_smb", "name": {"zh": "中小企业部"}, "parent": "sales",
             "head": "director_smb"}])
        people = [("gm", "company", "general_manager"),
                  ("director_ka", "sales_ka", "sales_director"),
                  ("director_smb", "sales_smb", "sales_director"),
                  ("ka_rep03", "sales_ka", "sales_rep"), ("ka_rep01", "sales_ka", "sales_rep"),
                  ("ka_rep02", "sales_ka", "sales_rep")]
        for name, dept, role in people:
            create_user(conn, username=name, password="rep-pass-123", now=ctx.clock.now(),
                        roles=[role], department=dept)


def test_new_leads_go_round_robin_to_the_teams_reps(crm_client: Any, ctx: Context) -> None:
    _sales_org(ctx)
    got = []
    for i in range(4):
        lead = _post(crm_client, "lead", {"company": f"苏州恒信{i}有限公司", "source": "website",
                                          "sales_team": "ka", "distribution": "round_robin"})
        data = _get(crm_client, "lead", lead["id"])
        assert data["in_pool"] is False and data["status"] == "assigned"
        assert data["assigned_at"]
        got.append(data["assigned_to"])
    assert got == ["ka_rep01", "ka_rep02", "ka_rep03", "ka_rep01"]  # the director is not a rep
    pooled = _post(crm_client, "lead", {"company": "公海线索有限公司", "source": "website",
                                        "sales_team": "ka"})
    data = _get(crm_client, "lead", pooled["id"])
    assert data["in_pool"] is True and not data.get("assigned_to")
    nobody = _post(crm_client, "lead", {"company": "无人团队有限公司", "source": "website",
                                        "sales_team": "gov", "distribution": "round_robin"})
    data = _get(crm_client, "lead", nobody["id"])
    assert data["in_pool"] is True and data["status"] == "new"  # no rep in sales_gov


def test_an_urgent_complaint_alerts_the_account_managers_department_head(
        crm_client: Any, ctx: Context) -> None:
    _sales_org(ctx)
    cid = _post(crm_client, "customer", {"name": "华东精密机械有限公司", "credit_code": CODE,
                                         "region": "east", "sales_team": "ka",
                                         "since": "2023-01-01",
                                         "account_manager": "ka_rep02"})["id"]
    ticket = _post(crm_client, "ticket", {"subject": "设备停机", "customer": cid,
                                          "type": "complaint", "priority": "urgent"})
    assert _get(crm_client, "ticket", ticket["id"])["account_manager"] == "ka_rep02"
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(notifications.c.username, notifications.c.message).where(
            notifications.c.record_id == int(ticket["id"]))).all()
    told = [r.username for r in rows if r.message["zh"].startswith("紧急投诉")]
    assert told == ["director_ka"]  # not the GM, not every sales director


def test_settled_promises_to_pay_are_kept_or_kept_late_by_their_own_due_time(
        crm_client: Any, ctx: Context) -> None:
    cid = _post(crm_client, "customer", {"name": "华东精密机械有限公司", "credit_code": CODE,
                                         "region": "east", "sales_team": "ka",
                                         "since": "2023-01-01"})["id"]
    inv = _post(crm_client, "invoice", {"customer": cid, "amount": "5000.00",
                                        "issue_date": "2026-02-01",
                                        "due_date": "2026-03-01"})["id"]
    promise = {"title": "承诺付款", "customer": cid, "party": "customer", "made_by": "admin",
               "channel": "phone", "type": "promise_to_pay", "invoice": inv}
    first = _post(crm_client, "commitment", {**promise, "due_at": "2026-03-03T10:00:00Z"})
    second = _post(crm_client, "commitment", {**promise, "due_at": "2026-03-08T10:00:00Z"})
    _post(crm_client, "payment", {"invoice": inv, "amount": "5000.00", "paid_on": "2026-03-05"})
    assert _get(crm_client, "invoice", inv)["status"] == "paid"
    late, kept = _get(crm_client, "commitment", first["id"]), \
        _get(crm_client, "commitment", second["id"])
    assert (late["status"], kept["status"]) == ("kept_late", "kept")
    assert late["fulfilled_at"] and kept["fulfilled_at"]


def test_an_uncontacted_lead_escalates_to_its_reps_director_only(
        crm_client: Any, ctx: Context) -> None:
    _sales_org(ctx)
    lead = _post(crm_client, "lead", {"company": "苏州恒信有限公司", "source": "website",
                                      "sales_team": "ka", "distribution": "round_robin"})
    tick(ctx, ctx.clock.now() + timedelta(days=4))
    assert _get(crm_client, "lead", lead["id"])["escalated"] is True
    with ctx.engine.connect() as conn:
        told = conn.execute(select(notifications.c.username).where(
            notifications.c.record_id == int(lead["id"]))).scalars().all()
    assert told == ["director_ka"]  # the rep's department head, not director_smb
