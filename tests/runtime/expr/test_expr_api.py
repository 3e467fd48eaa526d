"""The /expr router on a bare FastAPI app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from engines.expr import Field, FixedEnv, Scope, T
from runtime.expr.api import get_expr_env, get_scope_resolver, router

TICKET = Scope({"amount": Field(T.MONEY), "status": Field(T.TEXT), "due": Field(T.DATE)})


def _resolver(app: str, form: str) -> Scope:
    if (app, form) != ("desk", "ticket"):
        raise LookupError(form)
    return TICKET


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    app.dependency_overrides[get_scope_resolver] = lambda: _resolver
    app.dependency_overrides[get_expr_env] = lambda: FixedEnv(
        at=datetime(2026, 1, 1, tzinfo=UTC))
    with TestClient(app) as c:
        yield c


def test_functions_are_listed(client: TestClient) -> None:
    res = client.get("/api/v1/expr/functions")
    assert res.status_code == 200
    names = {f["name"] for f in res.json()["functions"]}
    assert {"IF", "SUM", "RMBUPPER", "WORKDAYS", "COUNT"} <= names
    fn = next(f for f in res.json()["functions"] if f["name"] == "ROUND")
    assert fn["description"]["zh"] and fn["examples"]


def test_check_ok_with_a_form(client: TestClient) -> None:
    res = client.post("/api/v1/expr/check", json={
        "expression": 'amount > 1000 and status == "open"', "app": "desk", "form": "ticket"})
    assert res.status_code == 200
    assert res.json() == {"ok": True, "type": "boolean", "names": ["amount", "status"]}


def test_check_refusal_in_the_requested_language(client: TestClient) -> None:
    body = {"expression": 'amount > "x"', "app": "desk", "form": "ticket"}
    zh = client.post("/api/v1/expr/check", json=body)
    en = client.post("/api/v1/expr/check", json=body, headers={"Accept-Language": "en-US"})
    assert zh.status_code == en.status_code == 422
    assert zh.json()["error"]["code"] == "type_mismatch"
    assert "不能比较" in zh.json()["error"]["message"]
    detail = en.json()["error"]["details"][0]
    assert detail["field"] == "expression" and detail["column"] == 1 and detail["line"] == 1
    assert "cannot compare" in detail["message"]


def test_check_unknown_form_is_404(client: TestClient) -> None:
    res = client.post("/api/v1/expr/check", json={"expression": "1", "app": "x", "form": "y"})
    assert res.status_code == 404
    assert res.json()["error"]["code"] == "not_found"


def test_check_without_form_takes_names_loosely(client: TestClient) -> None:
    res = client.post("/api/v1/expr/check", json={"expression": "ROUND(x, 2)"})
    assert res.status_code == 200
    bad = client.post("/api/v1/expr/check", json={"expression": "x.__class__"})
    assert bad.status_code == 422


def test_eval_on_sample_values(client: TestClient) -> None:
    res = client.post("/api/v1/expr/eval", json={
        "expression": "amount * 2", "values": {"amount": "600.25"},
        "app": "desk", "form": "ticket"})
    assert res.status_code == 200
    assert res.json() == {"value": "1200.50", "type": "money"}
    days = client.post("/api/v1/expr/eval", json={
        "expression": "DAYS(TODAY(), due)", "values": {"due": "2025-12-01"},
        "app": "desk", "form": "ticket"})
    assert days.json()["value"] == 31
    loose = client.post("/api/v1/expr/eval", json={
        "expression": 'CONCAT(name, "-", n + 1)', "values": {"name": "a", "n": 1}})
    assert loose.json()["value"] == "a-2"


def test_eval_bounds_and_bad_values(client: TestClient) -> None:
    big = client.post("/api/v1/expr/eval", json={"expression": "POWER(n, 100000)",
                                                  "values": {"n": 9}})
    assert big.status_code == 422
    assert big.json()["error"]["code"] == "number_too_large"
    bad = client.post("/api/v1/expr/eval", json={
        "expression": "amount > 1", "values": {"amount": "lots"}, "app": "desk",
        "form": "ticket"}, headers={"Accept-Language": "en"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "bad_value"


def test_request_shape_is_strict(client: TestClient) -> None:
    res = client.post("/api/v1/expr/check", json={"expression": "1", "extra": 1})
    assert res.status_code == 422
