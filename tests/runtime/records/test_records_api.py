"""Records through the HTTP API on SQLite and PostgreSQL: the lifecycle, ETag/If-Match,
history, uniqueness, numbering, and every kind of bad input."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from builder.bundle import load
from builder.export import to_zip
from runtime.store.tables import record_history, records

FIXTURE = Path(__file__).parents[2] / "fixtures" / "bundles" / "crm_lite"
BASE = "/api/v1/apps/crm_lite/forms"


@pytest.fixture
def app_client(client: Any) -> Any:
    r = client.post("/api/v1/apps", content=to_zip(load(FIXTURE)),
                    headers={"Content-Type": "application/zip"})
    assert r.status_code == 201, r.text
    return client


def _customer(client: Any, **data: Any) -> dict[str, Any]:
    body = {"name": "华南电子", "region": "south", "credit_limit": "1000.50", **data}
    r = client.post(f"{BASE}/customer/records", json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def test_create_get_patch_delete_with_history(app_client: Any) -> None:
    c = app_client
    rec = _customer(c)
    assert rec["data"]["credit_limit"] == "1000.50"
    assert rec["version"] == 1 and rec["owner"] == "admin" and rec["form"] == "customer"
    assert isinstance(rec["id"], str)
    r = c.get(f"{BASE}/customer/records/{rec['id']}")
    assert r.status_code == 200 and r.headers["ETag"] == '"1"'
    r = c.patch(f"{BASE}/customer/records/{rec['id']}", json={"score": 90},
                headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["data"]["score"] == 90
    assert r.headers["ETag"] == '"2"'
    r = c.patch(f"{BASE}/customer/records/{rec['id']}", json={"score": 10},
                headers={"If-Match": '"1"'})
    assert r.status_code == 412
    assert r.json()["error"]["code"] == "stale_version"
    assert c.get(f"{BASE}/customer/records/{rec['id']}").json()["data"]["score"] == 90
    r = c.delete(f"{BASE}/customer/records/{rec['id']}", headers={"If-Match": '"2"'})
    assert r.status_code == 204
    assert c.get(f"{BASE}/customer/records/{rec['id']}").status_code == 404
    h = c.get(f"{BASE}/customer/records/{rec['id']}/history").json()
    assert [e["action"] for e in h["entries"]] == ["create", "update", "delete"]
    assert h["entries"][1]["diff"] == {"score": [None, 90]}
    assert h["verified"] is True


def test_tampered_history_is_reported(app_client: Any, ctx: Any) -> None:
    rec = _customer(app_client)
    app_client.patch(f"{BASE}/customer/records/{rec['id']}", json={"score": 1})
    with ctx.engine.begin() as conn:
        conn.execute(record_history.update()
                     .where(record_history.c.record_id == int(rec["id"]),
                            record_history.c.seq == 1)
                     .values(actor="mallory"))
    h = app_client.get(f"{BASE}/customer/records/{rec['id']}/history").json()
    assert h["verified"] is False and h["problem"] == "entry_altered" and h["at_seq"] == 1


def test_autonumber_and_unique(app_client: Any) -> None:
    a = _customer(app_client, name="甲")
    b = _customer(app_client, name="乙")
    # the seed customer took C-2026-0001
    assert (a["data"]["code"], b["data"]["code"]) == ("C-2026-0002", "C-2026-0003")
    r = app_client.post(f"{BASE}/customer/records", json={"name": "甲"})
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "duplicate_value" and err["details"][0]["field"] == "name"
    # a soft-deleted record gives its unique value back
    app_client.delete(f"{BASE}/customer/records/{a['id']}")
    assert app_client.post(f"{BASE}/customer/records", json={"name": "甲"}).status_code == 201


def test_validation_reports_every_error_in_the_callers_language(app_client: Any) -> None:
    body = {"region": "mars", "credit_limit": "-5", "score": "high"}
    r = app_client.post(f"{BASE}/customer/records", json=body,
                        headers={"Accept-Language": "en"})
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert {"name", "region", "credit_limit", "score"} <= fields
    r = app_client.post(f"{BASE}/customer/records", json=body)
    assert r.status_code == 422
    assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["error"]["message"])


def test_not_found_and_bad_input(app_client: Any) -> None:
    c = app_client
    assert c.get("/api/v1/apps/nope/forms/customer/records").status_code == 404
    assert c.get(f"{BASE}/nope/records").status_code == 404
    assert c.get(f"{BASE}/customer/records/999999").status_code == 404
    assert c.get(f"{BASE}/customer/records/abc").status_code == 404
    assert c.get(f"{BASE}/customer/records/99999999999999999999999").status_code == 404
    r = c.post(f"{BASE}/customer/records", content=b"{not json",
               headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_request"
    r = c.post(f"{BASE}/customer/records", json=[1, 2])
    assert r.status_code == 422
    r = c.patch(f"{BASE}/customer/records/1", json={"score": 1}, headers={"If-Match": "x"})
    assert r.status_code == 400
    big = {"name": "x" * (2 * 1024 * 1024)}
    r = c.post(f"{BASE}/customer/records", json=big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_every_route_but_health_and_token_needs_a_token(app_client: Any) -> None:
    c = app_client
    token = c.headers.pop("Authorization")
    assert c.get("/api/v1/health").json()["status"] == "ok"
    for method, url in [("get", "/api/v1/apps"), ("get", f"{BASE}/customer/records"),
                        ("post", f"{BASE}/customer/records")]:
        r = getattr(c, method)(url)
        assert r.status_code == 401, url
        assert r.json()["error"]["code"] == "unauthorized"
    c.headers["Authorization"] = "Bearer not-a-token"
    assert c.get("/api/v1/apps").status_code == 401
    c.headers["Authorization"] = token
    r = c.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong-pass"})
    assert r.status_code == 401


def test_invalid_bundle_changes_nothing(app_client: Any) -> None:
    doc = load(FIXTURE).to_json()
    doc["forms"]["invoice"]["fields"][0]["form"] = "client"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.json", json.dumps(doc["app"]))
        for key, raw in doc["forms"].items():
            zf.writestr(f"forms/{key}.json", json.dumps(raw))
    r = app_client.post("/api/v1/apps", content=buf.getvalue(),
                        headers={"Content-Type": "application/zip"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "forms/invoice.json:fields[0].form"
    assert app_client.get("/api/v1/apps/crm_lite").json()["version"] == 1


def test_install_export_install_is_identical(app_client: Any) -> None:
    exported = app_client.get("/api/v1/apps/crm_lite/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "application/zip"
    r = app_client.post("/api/v1/apps", content=exported.content,
                        headers={"Content-Type": "application/zip"})
    assert r.status_code == 201 and r.json()["version"] == 2
    again = app_client.get("/api/v1/apps/crm_lite/export").content
    from builder.bundle import load_zip

    assert load_zip(again).to_json() == load_zip(exported.content).to_json()


def test_records_keep_their_form_version(app_client: Any, ctx: Any) -> None:
    rec = _customer(app_client)
    assert rec["form_version"] == 1
    r = app_client.post("/api/v1/apps/crm_lite/publish")
    assert r.json()["version"] == 2
    with ctx.engine.connect() as conn:
        version = conn.execute(select(records.c.form_version)
                               .where(records.c.id == int(rec["id"]))).scalar_one()
    assert version == 1
    new = _customer(app_client, name="另一家")
    assert new["form_version"] == 2
