"""The first admin, passwords and tokens."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from runtime.auth import service
from runtime.context import Context
from runtime.errors import Conflict, Unauthorized, ValidationFailed


def test_random_admin_password_is_written_with_mode_600(ctx: Context, tmp_path: Path) -> None:
    from runtime.store.tables import users

    with ctx.engine.begin() as conn:
        conn.execute(users.delete())
        generated = service.ensure_admin(conn, password=None, var_dir=tmp_path,
                                         now=ctx.clock.now())
        assert generated is not None and len(generated) >= 12
        # a second start creates nothing and prints nothing
        assert service.ensure_admin(conn, password=None, var_dir=tmp_path,
                                    now=ctx.clock.now()) is None
    path = tmp_path / "initial-admin-password"
    assert path.read_text().strip() == generated
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with ctx.engine.begin() as conn:
        token = service.login(conn, username="admin", password=generated,
                              now=ctx.clock.now(), ttl=timedelta(hours=1))
        assert service.actor_for_token(conn, token, ctx.clock.now()).is_admin


def test_tokens_expire_and_wrong_passwords_fail(ctx: Context, clock: Any) -> None:
    with ctx.engine.begin() as conn:
        service.create_user(conn, username="bob", password="bob-password", now=clock.now(),
                            roles=["sales"], department="east")
        token = service.login(conn, username="bob", password="bob-password",
                              now=clock.now(), ttl=timedelta(hours=1))
        actor = service.actor_for_token(conn, token, clock.now())
        assert (actor.username, actor.roles, actor.department) == ("bob", ("sales",), "east")
        with pytest.raises(Unauthorized):
            service.actor_for_token(conn, token, clock.now() + timedelta(hours=2))
        with pytest.raises(Unauthorized):
            service.login(conn, username="bob", password="nope-nope", now=clock.now(),
                          ttl=None)
        with pytest.raises(Unauthorized):
            service.login(conn, username="ghost", password="whatever1", now=clock.now(),
                          ttl=None)
        with pytest.raises(Conflict):
            service.create_user(conn, username="bob", password="another-pass",
                                now=clock.now())
        with pytest.raises(ValidationFailed):
            service.create_user(conn, username="carol", password="short", now=clock.now())


def test_health_reports_the_database(client: Any, ctx: Context) -> None:
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok" and body["database"] == ctx.dialect


def test_openapi_documents_error_responses(client: Any) -> None:
    doc = client.get("/openapi.json").json()
    post = doc["paths"]["/api/v1/apps/{app}/forms/{form}/records"]["post"]
    assert {"201", "401", "404", "409", "413", "422"} <= set(post["responses"])
    patch = doc["paths"]["/api/v1/apps/{app}/forms/{form}/records/{record_id}"]["patch"]
    assert "412" in patch["responses"]
