"""Shared by the flow runtime tests: an app with the contract, complaint, sign and vote
flows, its people, and small helpers that read the store."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from builder.bundle import Bundle, parse_files
from runtime.apps import service as apps_service
from runtime.auth.models import SYSTEM, Actor
from runtime.auth.service import issue_token
from runtime.context import Context
from runtime.store.tables import departments, flow_instances, tasks, users

APP = "approvals"
ROLES = ["sales_director", "gm", "finance", "legal", "supervisor", "qa", "voter", "signer"]
VOTERS = [f"voter{i:02d}" for i in range(20)]
PEOPLE: dict[str, tuple[list[str], str | None]] = {
    "alice": ([], "sales"), "sam": (["sales_director"], "sales"), "grace": (["gm"], "board"),
    "fay": (["finance"], "finance"), "leo": (["legal"], "legal"),
    "sue": (["supervisor"], "service"), "olga": ([], "service"), "quinn": (["qa"], "service"),
    "mallory": ([], None), "ann": (["signer"], None), "ben": (["signer"], None),
    "carl": ([], None), "dora": ([], None),
    **{v: (["voter"], None) for v in VOTERS},
}


def _form(key: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schema_version": 1, "key": key, "name": key, "fields": fields}


def _flow(key: str, form: str, nodes: list[dict[str, Any]], edges: list[Any],
          on: list[str] | None = None) -> dict[str, Any]:
    return {"schema_version": 1, "key": key, "name": {"zh": key, "en": key}, "form": form,
            "start": {"on": on or ["manual"]},
            "nodes": nodes,
            "edges": [e if isinstance(e, dict) else {"from": e[0], "to": e[1]} for e in edges]}


CONTRACT_FLOW = _flow("contract_approval", "contract", [
    {"id": "start", "type": "start"},
    {"id": "sales", "type": "approval", "name": {"zh": "销售总监", "en": "Sales director"},
     "assignees": [{"kind": "role", "role": "sales_director"}],
     "fields": {"editable": ["note"]}},
    {"id": "big", "type": "condition"},
    {"id": "gm", "type": "approval", "name": {"zh": "总经理", "en": "General manager"},
     "assignees": [{"kind": "role", "role": "gm"}]},
    {"id": "sign", "type": "approval", "name": {"zh": "财务法务会签", "en": "Countersign"},
     "mode": "countersign",
     "assignees": [{"kind": "role", "role": "finance"}, {"kind": "role", "role": "legal"}]},
    {"id": "tell", "type": "notify", "to": [{"kind": "initiator"}],
     "message": {"zh": "合同 {title} 已批准", "en": "Contract {title} approved"}},
    {"id": "end", "type": "end"},
], [{"from": "start", "to": "sales"}, {"from": "sales", "to": "big"},
    {"from": "big", "to": "gm", "when": "amount > 1000000"},
    {"from": "big", "to": "sign", "default": True},
    {"from": "gm", "to": "sign"}, {"from": "sign", "to": "tell"}, {"from": "tell", "to": "end"}])

COMPLAINT_FLOW = _flow("complaint_flow", "complaint", [
    {"id": "start", "type": "start"},
    {"id": "assign", "type": "handle", "name": {"zh": "分派", "en": "Assign"},
     "assignees": [{"kind": "role", "role": "supervisor"}],
     "fields": {"editable": ["handler"], "required": ["handler"]}},
    {"id": "contact", "type": "handle", "name": {"zh": "联系客户", "en": "Contact"},
     "assignees": [{"kind": "field", "field": "handler"}],
     "sla": {"due": "PT30M", "remind_before": "PT10M", "on_timeout": "escalate",
             "escalate_to": [{"kind": "role", "role": "supervisor"}]}},
    {"id": "solve", "type": "handle", "name": {"zh": "解决", "en": "Solve"},
     "assignees": [{"kind": "field", "field": "handler"}],
     "fields": {"editable": ["solution"], "required": ["solution"]},
     "sla": {"due": "P1D", "remind_before": "PT2H", "on_timeout": "remind"}},
    {"id": "follow_up", "type": "handle", "name": {"zh": "满意度回访", "en": "Follow-up"},
     "assignees": [{"kind": "role", "role": "qa"}],
     "sla": {"due": "P3D", "on_timeout": "approve"}},
    {"id": "end", "type": "end"},
], [("start", "assign"), ("assign", "contact"), ("contact", "solve"), ("solve", "follow_up"),
    ("follow_up", "end")], on=["created", "manual"])

SIGN_FLOW = _flow("sign_flow", "contract", [
    {"id": "start", "type": "start"},
    {"id": "draft", "type": "approval", "assignees": [{"kind": "user", "user": "carl"}]},
    {"id": "board", "type": "approval", "mode": "countersign",
     "assignees": [{"kind": "role", "role": "signer"}]},
    {"id": "end", "type": "end"},
], [("start", "draft"), ("draft", "board"), ("board", "end")])

VOTE_FLOW = _flow("vote_flow", "contract", [
    {"id": "start", "type": "start"},
    {"id": "vote", "type": "approval", "mode": "countersign",
     "assignees": [{"kind": "role", "role": "voter"}]},
    {"id": "end", "type": "end"},
], [("start", "vote"), ("vote", "end")])


def files(version: str = "1.0.0") -> dict[str, Any]:
    return copy.deepcopy({
        "app.json": {"schema_version": 1, "key": APP, "name": {"zh": "审批", "en": "Approvals"},
                     "version": version,
                     "roles": [{"key": r, "name": r} for r in ROLES]},
        "forms/contract.json": _form("contract", [
            {"key": "title", "type": "text", "label": "Title", "required": True},
            {"key": "amount", "type": "money", "label": "Amount", "currency": "CNY"},
            {"key": "note", "type": "textarea", "label": "Note"}]),
        "forms/complaint.json": _form("complaint", [
            {"key": "subject", "type": "text", "label": "Subject", "required": True},
            {"key": "handler", "type": "user", "label": "Handler"},
            {"key": "solution", "type": "textarea", "label": "Solution"}]),
        "flows/contract_approval.json": CONTRACT_FLOW,
        "flows/complaint_flow.json": COMPLAINT_FLOW,
        "flows/sign_flow.json": SIGN_FLOW,
        "flows/vote_flow.json": VOTE_FLOW,
    })


def bundle(doc: dict[str, Any] | None = None) -> Bundle:
    return parse_files(doc or files())


def setup(ctx: Context, doc: dict[str, Any] | None = None) -> None:
    """People, departments and the app, installed with flow hooks."""
    from runtime.flows.hooks import install_flow_hooks

    install_flow_hooks(ctx)
    now = ctx.clock.now()
    with ctx.engine.begin() as conn:
        conn.execute(insert(departments), [
            {"key": "board", "name": "Board", "parent": None, "head": "grace"},
            {"key": "sales", "name": "Sales", "parent": "board", "head": "sam"},
            {"key": "service", "name": "Service", "parent": "board", "head": "sue"},
        ])
        conn.execute(insert(users), [
            {"username": name, "display_name": name, "password_hash": "-", "roles": roles,
             "department": dept, "is_admin": False, "active": True, "created_at": now}
            for name, (roles, dept) in PEOPLE.items()])
        apps_service.install(conn, ctx, bundle(doc), actor=SYSTEM)


def actor(name: str) -> Actor:
    roles, dept = PEOPLE[name]
    return Actor(name, name, dept, tuple(roles))


def token(ctx: Context, name: str) -> dict[str, str]:
    with ctx.engine.begin() as conn:
        value = issue_token(conn, username=name, now=ctx.clock.now(), ttl=timedelta(days=1))
    return {"Authorization": f"Bearer {value}"}


def open_task(ctx: Context, instance: str | int, user: str, node: str | None = None) -> str:
    """The id of the user's open task on the instance (at `node` if given)."""
    with ctx.engine.connect() as conn:
        stmt = select(tasks.c.id).where(tasks.c.flow_instance_id == int(instance),
                                        tasks.c.assignee == user, tasks.c.status == "open",
                                        tasks.c.kind != "cc")
        if node is not None:
            stmt = stmt.where(tasks.c.node_id == node)
        ids = conn.execute(stmt).scalars().all()
    assert len(ids) == 1, (user, node, ids)
    return str(ids[0])


def holders(ctx: Context, instance: str | int) -> dict[str, list[str]]:
    """Open task rows by node → sorted assignees (the task centre's view)."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(tasks.c.node_id, tasks.c.assignee).where(
            tasks.c.flow_instance_id == int(instance), tasks.c.status == "open",
            tasks.c.kind != "cc")).all()
    out: dict[str, list[str]] = {}
    for node, user in rows:
        out.setdefault(node, []).append(user)
    return {k: sorted(v) for k, v in out.items()}


def instance_row(ctx: Context, instance: str | int) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(select(flow_instances).where(
            flow_instances.c.id == int(instance))).one()


def snapshot(ctx: Context, instance: str | int) -> tuple[Any, ...]:
    """Everything a refused action must leave unchanged."""
    row = instance_row(ctx, instance)
    with ctx.engine.connect() as conn:
        task_rows = conn.execute(select(tasks).where(
            tasks.c.flow_instance_id == int(instance)).order_by(tasks.c.id)).all()
    return (row.version, row.status, row.state, [tuple(t) for t in task_rows])
