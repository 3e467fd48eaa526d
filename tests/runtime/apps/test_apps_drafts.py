"""Draft definitions: saved only when the whole draft bundle still checks, refused with
file, JSON path and the expression's position; publishing freezes a new version."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from builder.bundle import load
from builder.export import to_zip

FIXTURE = Path(__file__).parents[2] / "fixtures" / "bundles" / "crm_lite"
DEF = "/api/v1/apps/crm_lite/forms/customer/definition"


@pytest.fixture
def installed(client: Any) -> Any:
    assert client.post("/api/v1/apps", content=to_zip(load(FIXTURE)),
                       headers={"Content-Type": "application/zip"}).status_code == 201
    return client


def test_get_put_and_publish_a_draft(installed: Any) -> None:
    c = installed
    form = c.get(DEF).json()
    assert form["key"] == "customer"
    changed = copy.deepcopy(form)
    changed["fields"].append({"key": "note", "type": "textarea", "label": "备注"})
    r = c.put(DEF, json=changed)
    assert r.status_code == 200, r.text
    assert c.get(DEF).json()["fields"][-1]["key"] == "note"
    # the published version is untouched until publish
    assert "note" not in {f["key"] for f in c.get("/api/v1/apps/crm_lite/forms/customer")
                          .json()["fields"]}
    assert c.post("/api/v1/apps/crm_lite/publish").json()["version"] == 2
    assert "note" in {f["key"] for f in c.get("/api/v1/apps/crm_lite/forms/customer")
                      .json()["fields"]}


def test_broken_expression_is_refused_with_its_location(installed: Any) -> None:
    c = installed
    form = c.get(DEF).json()
    bad = copy.deepcopy(form)
    bad["fields"][1]["visible_when"] = "score > 'high'"
    bad["fields"][2]["required_when"] = "nope == 1"
    r = c.put(DEF, json=bad, headers={"Accept-Language": "en"})
    assert r.status_code == 422, r.text
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert "forms/customer.json:fields[1].visible_when" in fields
    assert "forms/customer.json:fields[2].required_when" in fields
    # nothing was saved
    assert c.get(DEF).json() == form


def test_a_change_that_breaks_another_file_is_refused(installed: Any) -> None:
    c = installed
    form = c.get(DEF).json()
    assert c.put("/api/v1/apps/crm_lite/forms/customer/definition",
                 json={**form, "key": "client"}).status_code == 422
    r = c.put("/api/v1/apps/crm_lite/forms/invoice/definition",
              json={**c.get("/api/v1/apps/crm_lite/forms/invoice/definition").json(),
                    "fields": [{"key": "customer", "type": "relation", "label": "客户",
                                "form": "client"}]})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "forms/invoice.json:fields[0].form"


def test_unknown_kinds_and_keys(installed: Any) -> None:
    c = installed
    assert c.get("/api/v1/apps/crm_lite/widgets/x/definition").status_code == 404
    assert c.get("/api/v1/apps/crm_lite/forms/nope/definition").status_code == 404
    assert c.get("/api/v1/apps/nope/forms/customer/definition").status_code == 404
    r = c.put("/api/v1/apps/crm_lite/forms/customer/definition", json={"key": "customer"})
    assert r.status_code == 422
