"""A rule can refuse the write that fired it: 422 with its message, nothing written —
on every write path, because it runs in the record service's transaction."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from builder.bundle import parse_files
from builder.check import check_bundle
from builder.export import to_zip
from runtime.store.tables import record_history, records

FORM = {"schema_version": 1, "key": "order", "name": "订单", "fields": [
    {"key": "title", "type": "text", "label": "标题", "required": True},
    {"key": "amount", "type": "money", "label": "金额"}]}
RULE = {"schema_version": 1, "key": "too_big", "name": "金额上限", "form": "order",
        "trigger": {"kind": "created"}, "when": "amount > 1000",
        "actions": [{"kind": "reject", "message": {
            "zh": "订单 {title} 金额 {amount} 超过上限",
            "en": "Order {title}: {amount} is over the limit"}}]}


def _files(rule: dict[str, Any]) -> dict[str, Any]:
    return {"app.json": {"schema_version": 1, "key": "shop", "name": "Shop", "version": "1.0.0"},
            "forms/order.json": FORM, "rules/too_big.json": rule}


def test_reject_refuses_the_write_with_its_message(client: Any, ctx: Any) -> None:
    r = client.post("/api/v1/apps", content=to_zip(parse_files(_files(RULE))),
                    headers={"Content-Type": "application/zip"})
    assert r.status_code == 201, r.text
    url = "/api/v1/apps/shop/forms/order/records"
    r = client.post(url, json={"title": "大单", "amount": "5000"},
                    headers={"Accept-Language": "en"})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "rule_rejected"
    assert err["message"] == "Order 大单: 5000.00 is over the limit"
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(records)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(record_history)).scalar_one() == 0
    assert client.post(url, json={"title": "小单", "amount": "50"}).status_code == 201


@pytest.mark.parametrize("trigger", [{"kind": "schedule", "cron": "0 9 * * *"},
                                     {"kind": "date", "field": "amount", "offset": "P1D"}])
def test_reject_is_only_for_record_events(trigger: dict[str, Any]) -> None:
    rule = json.loads(json.dumps(RULE))
    rule["trigger"] = trigger
    codes = {p.code for p in check_bundle(parse_files(_files(rule)))}
    assert "reject_needs_write" in codes
