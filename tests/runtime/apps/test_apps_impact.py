"""Publish impact on SQLite and PostgreSQL: a draft that removes a field, narrows a
range, adds a required field or removes an option lists the existing records it
touches (counted in SQL, with a sample); publishing it needs `migration: keep`, after
which the records keep their version and stay readable."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from builder.bundle import load
from builder.export import to_zip
from runtime.apps import service
from runtime.auth.models import SYSTEM
from runtime.errors import BadRequest, Conflict
from runtime.store.tables import records

FIXTURE = Path(__file__).parents[2] / "fixtures" / "bundles" / "crm_lite"
BASE = "/api/v1/apps/crm_lite"
DEF = f"{BASE}/forms/customer/definition"


@pytest.fixture
def crm(client: Any) -> Any:
    r = client.post("/api/v1/apps", content=to_zip(load(FIXTURE)),
                    headers={"Content-Type": "application/zip"})
    assert r.status_code == 201, r.text
    for name, region, score, vip in (("甲", "south", 90, True), ("乙", "south", 40, None),
                                     ("丙", "east", 80, False), ("丁", "north", None, None)):
        body: dict[str, Any] = {"name": name, "region": region}
        if score is not None:
            body["score"] = score
        if vip is not None:
            body["vip"] = vip
        assert client.post(f"{BASE}/forms/customer/records", json=body).status_code == 201
    return client


def _breaking_draft(c: Any) -> None:
    form = copy.deepcopy(c.get(DEF).json())
    fields = {f["key"]: f for f in form["fields"]}
    fields["score"]["max"] = 50
    fields["region"]["options"] = [o for o in fields["region"]["options"]
                                   if o["value"] != "south"]
    form["fields"] = [f for f in form["fields"] if f["key"] != "vip"]
    form["fields"].append({"key": "contact", "type": "text", "label": "联系人",
                           "required": True})
    r = c.put(DEF, json=form)
    assert r.status_code == 200, r.text


def test_impact_counts_the_records_each_change_touches(crm: Any, ctx: Any) -> None:
    # the bundle's seed customer (east, score 82) plus the four above
    with ctx.engine.connect() as conn:
        datas = conn.execute(select(records.c.data)).scalars().all()
    assert len(datas) == 5
    with_vip = sum(1 for d in datas if d.get("vip") is not None)
    _breaking_draft(crm)
    body = crm.get(f"{BASE}/publish/impact").json()
    assert body["needs_choice"] is True and body["choices"] == ["keep"]
    by_kind = {(i["kind"], i["field"]): i for i in body["impacts"]}
    assert by_kind[("field_removed", "vip")]["affected"] == with_vip
    assert by_kind[("range_narrowed", "score")]["affected"] == 3  # 90, 80, 82 > 50
    assert by_kind[("option_removed", "region")]["affected"] == 2
    assert by_kind[("required_field_added", "contact")]["affected"] == 5
    sample = by_kind[("option_removed", "region")]["sample"]
    assert len(sample) == 2 and all(s.isdigit() for s in sample)
    assert all(i["exact"] for i in body["impacts"])


def test_publish_without_a_choice_is_409_and_keep_publishes(crm: Any, ctx: Any) -> None:
    _breaking_draft(crm)
    r = crm.post(f"{BASE}/publish")
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "needs_migration_choice"
    fields = {d["field"] for d in error["details"]}
    assert fields == {"customer.vip", "customer.score", "customer.region", "customer.contact"}
    assert crm.get(f"{BASE}").json()["version"] == 1
    with ctx.engine.begin() as conn, pytest.raises(BadRequest):
        service.publish(conn, "crm_lite", actor=SYSTEM, now=ctx.clock.now(),
                        migration="drop")
    with ctx.engine.begin() as conn:
        assert service.publish(conn, "crm_lite", actor=SYSTEM, now=ctx.clock.now(),
                               migration="keep") == 2
    # the records keep their version and stay readable with their old values
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(records.c.id, records.c.form_version, records.c.data)
                            .order_by(records.c.id)).all()
    assert {r.form_version for r in rows} == {1}
    first = crm.get(f"{BASE}/forms/customer/records/{rows[1].id}").json()
    assert first["data"]["vip"] is True and first["form_version"] == 1
    assert first["data"]["region"] == "south"
    listed = crm.get(f"{BASE}/forms/customer/records").json()["items"]
    assert len(listed) == 5


def test_a_widening_draft_publishes_without_a_choice(crm: Any) -> None:
    form = copy.deepcopy(crm.get(DEF).json())
    for f in form["fields"]:
        if f["key"] == "score":
            f["max"] = 1000
    form["fields"].append({"key": "memo", "type": "textarea", "label": "备注"})
    assert crm.put(DEF, json=form).status_code == 200
    body = crm.get(f"{BASE}/publish/impact").json()
    assert body["needs_choice"] is False and body["impacts"] == []
    assert crm.post(f"{BASE}/publish").json()["version"] == 2


def test_a_breaking_change_touching_no_record_needs_no_choice(client: Any, ctx: Any) -> None:
    assert client.post("/api/v1/apps", content=to_zip(load(FIXTURE)),
                       headers={"Content-Type": "application/zip"}).status_code == 201
    form = copy.deepcopy(client.get(DEF).json())
    form["fields"] = [f for f in form["fields"] if f["key"] != "vip"]
    assert client.put(DEF, json=form).status_code == 200
    body = client.get(f"{BASE}/publish/impact").json()
    assert body["needs_choice"] is False  # the seed customer has no vip value
    assert [(i["kind"], i["affected"]) for i in body["impacts"]] == [("field_removed", 0)]
    assert client.post(f"{BASE}/publish").status_code == 200


def test_impact_of_an_unknown_app_is_404(client: Any) -> None:
    assert client.get("/api/v1/apps/ghost/publish/impact").status_code == 404


def test_conflict_carries_every_impact(crm: Any, ctx: Any) -> None:
    _breaking_draft(crm)
    from runtime.apps.impact import require_choice

    with ctx.engine.begin() as conn, pytest.raises(Conflict) as info:
        require_choice(conn, "crm_lite", service.draft_bundle(conn, "crm_lite"),
                       now=ctx.clock.now(), migration=None)
    assert len(info.value.details) == 4
    assert "2" in info.value.details[0].message["en"]
