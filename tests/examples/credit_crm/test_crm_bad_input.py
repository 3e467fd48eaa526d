"""The issue's bad input, through the HTTP API on SQLite and PostgreSQL: each refused
with a clear zh/en message and nothing written. Plus the credit-limit check."""

from __future__ import annotations

from typing import Any

import pytest
from crm_support import FORMS
from sqlalchemy import func, select

from runtime.context import Context
from runtime.store.tables import record_history, records

GOOD_CODE = "91310000MA1FL8XQ37"


def _count(ctx: Context, form: str | None = None) -> int:
    with ctx.engine.connect() as conn:
        stmt = select(func.count()).select_from(records)
        if form:
            stmt = stmt.where(records.c.form == form)
        return int(conn.execute(stmt).scalar_one())


def _history(ctx: Context) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(record_history)).scalar_one())


def _post(client: Any, form: str, body: dict[str, Any], lang: str = "zh") -> Any:
    return client.post(f"{FORMS}/{form}/records", json=body,
                       headers={"Accept-Language": lang})


def _customer(client: Any, **extra: Any) -> str:
    r = _post(client, "customer", {"name": "华东精密机械有限公司", "credit_code": GOOD_CODE,
                                   "region": "east", "credit_limit": "100000.00", **extra})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _refused(r: Any, field: str, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    err: dict[str, Any] = r.json()["error"]
    detail: dict[str, Any] = next(d for d in err["details"] if d["field"] == field)
    if code:
        assert detail["code"] == code
    return detail


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_contract_without_a_customer_is_refused(crm_client: Any, ctx: Context,
                                                lang: str) -> None:
    before, hist = _count(ctx), _history(ctx)
    r = _post(crm_client, "contract", {"title": "年度维保合同", "amount": "50000",
                                       "delivery_due": "2026-03-01"}, lang)
    detail = _refused(r, "customer", "required")
    assert detail["message"]
    assert (_count(ctx), _history(ctx)) == (before, hist)


def test_negative_amounts_are_refused(crm_client: Any, ctx: Context) -> None:
    cid = _customer(crm_client)
    before = _count(ctx)
    r = _post(crm_client, "contract", {"title": "年度维保合同", "customer": cid,
                                       "amount": "-100", "delivery_due": "2026-03-01"}, "en")
    _refused(r, "amount")
    r = _post(crm_client, "invoice", {"customer": cid, "amount": "-1",
                                      "due_date": "2026-03-01"})
    _refused(r, "amount")
    assert _count(ctx) == before


@pytest.mark.parametrize(("code", "error"), [("91310000MA1FL8XQ38", "uscc_checksum"),
                                             ("9131000", "uscc_format")])
def test_a_malformed_credit_code_is_refused(crm_client: Any, ctx: Context, code: str,
                                            error: str) -> None:
    r = _post(crm_client, "customer", {"name": "某某公司", "credit_code": code,
                                       "region": "east"}, "en")
    detail = _refused(r, "credit_code", error)
    assert "credit code" in detail["message"]
    r = _post(crm_client, "customer", {"name": "某某公司", "credit_code": code,
                                       "region": "east"}, "zh")
    assert "统一社会信用代码" in _refused(r, "credit_code")["message"]
    assert _count(ctx, "customer") == 0


def test_a_payment_larger_than_the_invoice_is_refused(crm_client: Any, ctx: Context) -> None:
    cid = _customer(crm_client)
    r = _post(crm_client, "invoice", {"customer": cid, "amount": "1000.00",
                                      "issue_date": "2026-01-01", "due_date": "2026-02-01"})
    assert r.status_code == 201, r.text
    invoice = r.json()["id"]
    before, hist = _count(ctx, "payment"), _history(ctx)
    r = _post(crm_client, "payment", {"invoice": invoice, "amount": "1000.01",
                                      "paid_on": "2026-01-20"}, "en")
    assert r.status_code == 422, r.text
    messages = [d["message"] for d in r.json()["error"]["details"]]
    assert any("larger than what is outstanding" in m for m in messages), messages
    r = _post(crm_client, "payment", {"invoice": invoice, "amount": "1000.01",
                                      "paid_on": "2026-01-20"}, "zh")
    assert any("回款金额大于" in d["message"] for d in r.json()["error"]["details"])
    assert (_count(ctx, "payment"), _history(ctx)) == (before, hist)
    r = _post(crm_client, "payment", {"invoice": invoice, "amount": "400.00",
                                      "paid_on": "2026-01-20"})
    assert r.status_code == 201, r.text
    # and an invoice cannot record more paid than its amount
    r = crm_client.patch(f"{FORMS}/invoice/records/{invoice}", json={"paid_amount": "1200"},
                         headers={"Accept-Language": "en"})
    assert r.status_code == 422, r.text


def test_an_order_over_the_credit_limit_is_refused(crm_client: Any, ctx: Context) -> None:
    cid = _customer(crm_client, credit_limit="10000.00")
    r = _post(crm_client, "invoice", {"customer": cid, "amount": "8000.00",
                                      "issue_date": "2026-01-01", "due_date": "2026-02-01"})
    assert r.status_code == 201, r.text
    line = {"item": "服务器", "qty": 1, "price": "2500.00"}
    r = _post(crm_client, "order", {"customer": cid, "order_date": "2026-01-05",
                                    "lines": [line]}, "en")
    assert r.status_code == 422, r.text
    messages = [d["message"] for d in r.json()["error"]["details"]]
    assert any("Credit limit exceeded" in m for m in messages), messages
    assert _count(ctx, "order") == 0
    r = _post(crm_client, "order", {"customer": cid, "order_date": "2026-01-05",
                                    "lines": [{**line, "price": "1500.00"}]})
    assert r.status_code == 201, r.text
    assert r.json()["data"]["amount"] == "1500.00"
