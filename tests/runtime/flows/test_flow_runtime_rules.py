"""Rules hear how a flow ended: a rule with a `flow` trigger fires when the contract
approval finishes, in the transaction of the last approval."""

from __future__ import annotations

from typing import Any

from flow_runtime_kit import APP, actor, files, open_task, setup
from sqlalchemy import select

from runtime.context import Context
from runtime.flows import service
from runtime.rules import install_rule_hooks
from runtime.store.tables import records

APPROVED_RULE = {
    "schema_version": 1, "key": "mark_approved", "name": "Mark approved", "form": "contract",
    "trigger": {"kind": "flow", "flow": "contract_approval", "event": "approved"},
    "actions": [{"kind": "set_fields", "values": {"note": "'approved by the flow'"}}],
}


def test_flow_end_fires_flow_rules(ctx: Context) -> None:
    doc: dict[str, Any] = files()
    doc["rules/mark_approved.json"] = APPROVED_RULE
    setup(ctx, doc)
    install_rule_hooks(ctx)
    with ctx.engine.begin() as conn:
        out = service.start(conn, ctx, app=APP, flow="contract_approval", actor=actor("alice"),
                            data={"title": "小合同", "amount": "1000.00"})
    instance = str(out["id"])
    for user in ("sam", "fay", "leo"):
        task = open_task(ctx, instance, user)
        with ctx.engine.begin() as conn:
            service.act(conn, ctx, task_id=task, actor=actor(user), action="approve")
    with ctx.engine.connect() as conn:
        data = conn.execute(select(records.c.data).where(records.c.form == "contract")
                            ).scalar_one()
    assert data["note"] == "approved by the flow"
