"""Record calls through the HTTP API for scenario tests: each asserts its status and
returns the JSON, so a scenario reads as the steps a user takes. Bind `forms` (the
app's `/api/v1/apps/<app>/forms` URL) once per module with functools.partial."""

from __future__ import annotations

from typing import Any


def post_record(client: Any, form: str, body: dict[str, Any], *,
                forms: str) -> dict[str, Any]:
    r = client.post(f"{forms}/{form}/records", json=body)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def patch_record(client: Any, form: str, rid: Any, body: dict[str, Any], *,
                 forms: str) -> dict[str, Any]:
    r = client.patch(f"{forms}/{form}/records/{rid}", json=body)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def record_data(client: Any, form: str, rid: Any, *, forms: str) -> dict[str, Any]:
    r = client.get(f"{forms}/{form}/records/{rid}")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data
