"""Schemathesis against the OpenAPI document: whatever a client sends, the server never
answers with a 5xx, and every response matches what the document says.

Runs on SQLite with the crm_lite app installed (plus a few records), so routes that
take an app, form or record id hit real data as well as unknown ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder.bundle import load
from builder.export import to_zip
from runtime.api.app import create_app
from runtime.auth.service import ensure_admin
from runtime.clock import FixedClock
from runtime.config import Settings
from runtime.context import Context
from runtime.store.engine import make_engine
from runtime.store.migrate import upgrade

FIXTURE = Path(__file__).parents[2] / "fixtures" / "bundles" / "crm_lite"
# Bundle uploads are zip bodies: generate arbitrary bytes (mostly not a valid zip).
schemathesis.openapi.media_type("application/zip", st.binary(max_size=4096))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    tmp = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{tmp}/fuzz.db"
    engine = make_engine(url)
    upgrade(engine)
    ctx = Context(settings=Settings(database_url=url, var_dir=tmp, jobs_in_process=False),
                  engine=engine, clock=FixedClock())
    with engine.begin() as conn:
        ensure_admin(conn, password="fuzz-pass-123", var_dir=tmp, now=ctx.clock.now())
    app = create_app(ctx=ctx)
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/token", json={
            "username": "admin", "password": "fuzz-pass-123"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        r = client.post("/api/v1/apps", content=to_zip(load(FIXTURE)),
                        headers={**headers, "Content-Type": "application/zip"})
        assert r.status_code == 201, r.text
        yield app, token
    engine.dispose()


def test_no_server_errors(fuzz_app: tuple[Any, str]) -> None:
    """Every operation of the document, 25 generated requests each."""
    app, token = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            # Aim at real data so bodies and filters reach validation, not just a 404.
            params = case.path_parameters or {}
            if "app" in params:
                params["app"] = "crm_lite"
            if "form" in params:
                params["form"] = "customer"
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            assert response.status_code < 500, (case.method, case.formatted_path,
                                                response.text)
            content_type = " ".join(response.headers.get("content-type") or [])
            if response.status_code >= 400 and "application/json" in content_type:
                body = response.json()
                assert set(body) == {"error"}
                assert {"code", "message", "details"} <= set(body["error"])

        run()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) >= 12, checked
