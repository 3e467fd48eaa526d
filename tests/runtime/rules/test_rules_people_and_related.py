"""The rule features the credit CRM needed, end to end on SQLite and PostgreSQL:
a `department_head` recipient resolved by the flows' directory, the `assign` action
(a durable, atomic round-robin cursor; least open records), and `update_related`
values that read each related record."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

from http_records import post_record, record_data
from sqlalchemy import insert, select

from builder.bundle import parse_files
from builder.export import to_zip
from engines.effects import Recipient
from runtime.auth.service import create_user, get_user
from runtime.context import Context
from runtime.notifications.recipients import (
    RecordRef,
    recipient_json,
    recipient_of,
    resolve_usernames,
)
from runtime.records import service as record_service
from runtime.store.tables import departments, notifications, rule_cursors, rule_runs, tasks

APP = "people"
FORMS = f"/api/v1/apps/{APP}/forms"


_post = partial(post_record, forms=FORMS)
_get = partial(record_data, forms=FORMS)

def _field(key: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "label": key, **extra}


def _form(key: str, *fields: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": 1, "key": key, "name": key, "fields": list(fields)}


def _rule(key: str, form: str, actions: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"schema_version": 1, "key": key, "name": key, "form": form,
            "trigger": {"kind": "created"}, "actions": actions, **extra}


STATUS = {"options": [{"value": v, "label": v} for v in ("new", "assigned", "closed")],
          "default": "new"}
PROMISE = {"options": [{"value": v, "label": v} for v in ("open", "kept", "kept_late")],
           "default": "open"}

FILES: dict[str, Any] = {
    "app.json": {"schema_version": 1, "key": APP, "name": APP, "version": "1.0.0"},
    "forms/customer.json": _form("customer", _field("name", "text"),
                                 _field("manager", "user")),
    "forms/ticket.json": _form(
        "ticket", _field("subject", "text"),
        _field("customer", "relation", form="customer"),
        _field("account_manager", "lookup", through="customer", field="manager"),
        _field("urgent", "boolean")),
    "forms/lead.json": _form("lead", _field("company", "text"), _field("team", "text"),
                             _field("assigned_to", "user"), _field("status", "select", **STATUS),
                             _field("assigned_at", "datetime")),
    "forms/ticket_queue.json": _form("ticket_queue", _field("title", "text"),
                                     _field("agent", "user"),
                                     _field("status", "select", **STATUS)),
    "forms/invoice.json": _form("invoice", _field("code", "text"), _field("paid_date", "date"),
                                _field("status", "text")),
    "forms/promise.json": _form("promise", _field("invoice", "relation", form="invoice"),
                                _field("due_at", "datetime"),
                                _field("status", "select", **PROMISE),
                                _field("fulfilled_at", "datetime"), _field("note", "text"),
                                _field("earlier", "integer")),
    "forms/account.json": _form("account", _field("name", "text"),
                                _field("score", "integer", read_only=True, default=0)),
    "rules/account_score.json": _rule("account_score", "account", [
        {"kind": "set_fields", "values": {"score": "LEN(name) * 10"}}],
        trigger={"kind": "updated", "fields": ["name"]}),
    "rules/urgent_ticket.json": _rule("urgent_ticket", "ticket", [
        {"kind": "notify", "message": {"zh": "紧急 {subject}", "en": "Urgent {subject}"},
         "to": [{"kind": "department_head", "of": "account_manager"}]},
        {"kind": "create_task", "title": "跟进 {subject}",
         "to": [{"kind": "department_head", "of": "account_manager", "levels": 2}]}],
        when="urgent"),
    "rules/lead_round_robin.json": _rule("lead_round_robin", "lead", [
        {"kind": "assign", "field": "assigned_to",
         "pool": {"role": "rep", "department_expr": "CONCAT('sales_', team)"},
         "values": {"status": "'assigned'", "assigned_at": "NOW()"}}],
        when="ISBLANK(assigned_to)"),
    "rules/ticket_least_open.json": _rule("ticket_least_open", "ticket_queue", [
        {"kind": "assign", "field": "agent", "strategy": "least_open",
         "open_when": "status != 'closed'",
         "pool": {"department": "support", "subdepartments": True}}],
        when="ISBLANK(agent)"),
    "rules/invoice_settled.json": _rule("invoice_settled", "invoice", [
        {"kind": "update_related", "form": "promise", "relation": "invoice",
         "where": "status == 'open'",
         "values": {"status": "IF(record.paid_date <= target.due_at, 'kept', 'kept_late')",
                    "fulfilled_at": "record.paid_date",
                    "note": "CONCAT(record.code, ' due ', TEXT(target.due_at))",
                    # target.x inside an aggregate: this invoice's promises due before it
                    "earlier": 'COUNT("promise", invoice == record.id and '
                               'due_at < target.due_at)'}}],
        trigger={"kind": "field_changed", "field": "status", "to": "paid"}),
}

PEOPLE = [  # username, department, roles
    ("boss", "sales", ["director"]), ("dir_e", "sales_east", ["director"]),
    ("rep_c", "sales_east", ["rep"]), ("rep_a", "sales_east", ["rep"]),
    ("rep_b", "sales_east", ["rep"]), ("rep_w", "sales_west", ["rep"]),
    ("agent_1", "support", []), ("agent_2", "support_l2", []),
]
DEPARTMENTS = [("company", None, "ceo"), ("sales", "company", "boss"),
               ("sales_east", "sales", "dir_e"), ("sales_west", "sales", None),
               ("support", "company", None), ("support_l2", "support", None)]


def _install(client: Any, ctx: Context) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(insert(departments), [{"key": k, "name": {"zh": k, "en": k},
                                            "parent": p, "head": h}
                                           for k, p, h in DEPARTMENTS])
        for name, dept, roles in [*PEOPLE, ("ceo", "company", [])]:
            create_user(conn, username=name, password="secret-pass-1", now=ctx.clock.now(),
                        roles=roles, department=dept)
    r = client.post("/api/v1/apps", content=to_zip(parse_files(FILES)),
                    headers={"Content-Type": "application/zip"})
    assert r.status_code == 201, r.text


# ------------------------------------------------------------------- department_head
def test_department_head_of_the_customers_manager_gets_the_message_and_task(
        client: Any, ctx: Context) -> None:
    _install(client, ctx)
    rep_customer = _post(client, "customer", {"name": "甲", "manager": "rep_a"})["id"]
    head_customer = _post(client, "customer", {"name": "乙", "manager": "dir_e"})["id"]
    t1 = _post(client, "ticket", {"subject": "一", "customer": rep_customer, "urgent": True})
    t2 = _post(client, "ticket", {"subject": "二", "customer": head_customer, "urgent": True})
    _post(client, "ticket", {"subject": "三", "customer": rep_customer, "urgent": False})
    with ctx.engine.connect() as conn:
        inbox = {(int(r.record_id), r.username) for r in conn.execute(
            select(notifications.c.record_id, notifications.c.username))}
        todo = {(int(r.record_id), r.assignee) for r in conn.execute(
            select(tasks.c.record_id, tasks.c.assignee))}
    # rep_a's head is dir_e; dir_e heads sales_east, so their head is sales' (boss)
    assert inbox == {(int(t1["id"]), "dir_e"), (int(t2["id"]), "boss")}
    # two levels up: rep_a → dir_e → boss; dir_e → boss → ceo
    assert todo == {(int(t1["id"]), "boss"), (int(t2["id"]), "ceo")}


def test_department_head_recipients_survive_a_job_payload(ctx: Context) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(insert(departments), [{"key": k, "name": {"zh": k, "en": k},
                                            "parent": p, "head": h}
                                           for k, p, h in DEPARTMENTS])
        for name, dept, roles in [*PEOPLE, ("ceo", "company", [])]:
            create_user(conn, username=name, password="secret-pass-1", now=ctx.clock.now(),
                        roles=roles, department=dept)
        wanted = [Recipient("department_head", "rep_b", 2),
                  Recipient("department_head", None, 1)]
        back = [recipient_of(recipient_json(r)) for r in wanted]
        assert back == wanted
        assert resolve_usernames(conn, back, RecordRef(initiator="rep_w")) == ["boss"]
        # no head in support_l2 nor support: the company's; the top head has nobody above
        assert resolve_usernames(conn, back[1:], RecordRef(initiator="agent_2")) == ["ceo"]
        assert resolve_usernames(conn, back[1:], RecordRef(initiator="ceo")) == []


# --------------------------------------------------------------------------- assign
def test_leads_are_assigned_round_robin_within_their_team(client: Any, ctx: Context) -> None:
    _install(client, ctx)
    got = []
    for i in range(7):
        lead = _post(client, "lead", {"company": f"公司{i}", "team": "east"})
        data = _get(client, "lead", lead["id"])
        assert data["status"] == "assigned" and data["assigned_at"]
        got.append(data["assigned_to"])
    # members in username order (not directory order), directors excluded
    assert got == ["rep_a", "rep_b", "rep_c", "rep_a", "rep_b", "rep_c", "rep_a"]
    west = _post(client, "lead", {"company": "西", "team": "west"})
    assert _get(client, "lead", west["id"])["assigned_to"] == "rep_w"
    nobody = _post(client, "lead", {"company": "无团队"})
    assert _get(client, "lead", nobody["id"])["status"] == "new"
    empty = _post(client, "lead", {"company": "空团队", "team": "north"})
    data = _get(client, "lead", empty["id"])
    assert data["status"] == "new" and not data.get("assigned_to")
    given = _post(client, "lead", {"company": "指定", "team": "east", "assigned_to": "rep_c"})
    assert _get(client, "lead", given["id"])["assigned_to"] == "rep_c"
    with ctx.engine.connect() as conn:
        cursors = {(r.rule, r.pool): r.value for r in conn.execute(select(rule_cursors))}
        runs = conn.execute(select(rule_runs.c.effects).where(
            rule_runs.c.rule == "lead_round_robin")).scalars().all()
    assert cursors == {("lead_round_robin", "role=rep|dept=sales_east"): 7,
                       ("lead_round_robin", "role=rep|dept=sales_west"): 1}
    assert runs[0][0]["type"] == "AssignInTurn"  # the run log shows what was asked
    r = client.post(f"/api/v1/apps/{APP}/rules/lead_round_robin/dry-run")
    assert r.status_code == 200, r.text
    firing = [i for i in r.json()["items"] if i["outcome"] == "fires"]
    assert {i["effects"][0]["department"] for i in firing} == {"sales_", "sales_north"}
    with ctx.engine.connect() as conn:  # a dry run takes no turn
        assert sum(conn.execute(select(rule_cursors.c.value)).scalars()) == 8


def test_round_robin_turns_are_atomic_under_concurrent_writes(
        client: Any, ctx: Context) -> None:
    _install(client, ctx)
    with ctx.engine.connect() as conn:
        admin = get_user(conn, "admin")
    errors: list[BaseException] = []
    per_thread = 6

    def work(n: int) -> None:
        try:
            for i in range(per_thread):
                with ctx.engine.begin() as conn:
                    record_service.create(conn, ctx, app=APP, form="lead", actor=admin,
                                          data={"company": f"{n}-{i}", "team": "east"})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    r = client.get(f"{FORMS}/lead/records", params={"limit": 100})
    owners = [item["data"]["assigned_to"] for item in r.json()["items"]]
    assert len(owners) == 3 * per_thread
    assert {o: owners.count(o) for o in set(owners)} == {"rep_a": 6, "rep_b": 6, "rep_c": 6}
    with ctx.engine.connect() as conn:
        assert conn.execute(select(rule_cursors.c.value)).scalar_one() == 3 * per_thread


def test_least_open_takes_the_least_loaded_member_of_a_department_tree(
        client: Any, ctx: Context) -> None:
    _install(client, ctx)
    for i in range(2):  # agent_1 already holds two open tickets, and a closed one
        _post(client, "ticket_queue", {"title": f"旧{i}", "agent": "agent_1"})
    _post(client, "ticket_queue", {"title": "已关", "agent": "agent_2", "status": "closed"})
    got = [_get(client, "ticket_queue", _post(client, "ticket_queue",
                                              {"title": f"新{i}"})["id"])["agent"]
           for i in range(4)]
    # agent_2 (sub-department) is emptier twice; then loads are level and turns rotate
    assert got[:2] == ["agent_2", "agent_2"]
    assert sorted(got[2:]) == ["agent_1", "agent_2"]


# ------------------------------------------------------------------------- target.x
def test_settled_promises_are_kept_or_kept_late_by_their_own_due_time(
        client: Any, ctx: Context) -> None:
    _install(client, ctx)
    inv = _post(client, "invoice", {"code": "INV-1", "status": "open"})["id"]
    early = _post(client, "promise", {"invoice": inv, "due_at": "2026-03-10T08:00:00Z"})["id"]
    late = _post(client, "promise", {"invoice": inv, "due_at": "2026-03-01T08:00:00Z"})["id"]
    done = _post(client, "promise", {"invoice": inv, "due_at": "2026-03-01T08:00:00Z",
                                     "status": "kept"})["id"]
    r = client.patch(f"{FORMS}/invoice/records/{inv}",
                     json={"status": "paid", "paid_date": "2026-03-05"})
    assert r.status_code == 200, r.text
    first, second = _get(client, "promise", early), _get(client, "promise", late)
    assert first["status"] == "kept" and second["status"] == "kept_late"
    assert first["note"].startswith("INV-1 due 2026-03-10")
    assert (first["earlier"], second["earlier"]) == (2, 0)  # 'late' and 'done' were due first
    assert first["fulfilled_at"] == second["fulfilled_at"]
    assert _get(client, "promise", done)["status"] == "kept"  # not open: untouched
    with ctx.engine.connect() as conn:
        outcomes = conn.execute(select(rule_runs.c.outcome).where(
            rule_runs.c.rule == "invoice_settled")).scalars().all()
    assert outcomes == ["ok"]


# ------------------------------------------------------------------ read-only fields
def test_rules_write_read_only_fields_that_people_cannot(client: Any, ctx: Context) -> None:
    _install(client, ctx)
    account = _post(client, "account", {"name": "ab", "score": 99})
    assert _get(client, "account", account["id"])["score"] == 0  # a person cannot set it
    r = client.patch(f"{FORMS}/account/records/{account['id']}", json={"name": "abcd"})
    assert r.status_code == 200, r.text
    assert _get(client, "account", account["id"])["score"] == 40  # the rule can
    r = client.patch(f"{FORMS}/account/records/{account['id']}", json={"score": 1})
    assert r.status_code == 200, r.text
    assert _get(client, "account", account["id"])["score"] == 40
