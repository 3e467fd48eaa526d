"""The expression endpoints as mounted in the platform: behind a token, with the
scope of a real published form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from builder.bundle import load
from builder.export import to_zip

FIXTURE = Path(__file__).parents[2] / "fixtures" / "bundles" / "crm_lite"


def test_check_and_eval_use_the_published_form(client: Any) -> None:
    assert client.post("/api/v1/apps", content=to_zip(load(FIXTURE)),
                       headers={"Content-Type": "application/zip"}).status_code == 201
    r = client.post("/api/v1/expr/check", json={
        "expression": "credit_limit > 1000 and region == 'east'", "app": "crm_lite",
        "form": "customer"})
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "boolean"
    r = client.post("/api/v1/expr/check", json={
        "expression": "nope > 1", "app": "crm_lite", "form": "customer"},
        headers={"Accept-Language": "en"})
    assert r.status_code == 422 and "nope" in r.json()["error"]["message"]
    r = client.post("/api/v1/expr/eval", json={
        "expression": "IF(score >= 80, 'A', 'B')", "app": "crm_lite", "form": "customer",
        "values": {"score": 85}})
    assert r.status_code == 200 and r.json()["value"] == "A"
    r = client.post("/api/v1/expr/check", json={"expression": "1", "app": "crm_lite",
                                                "form": "nope"})
    assert r.status_code == 404
    client.headers.pop("Authorization")
    assert client.get("/api/v1/expr/functions").status_code == 401
