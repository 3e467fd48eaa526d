"""Shared fixtures: a database per test on SQLite and on PostgreSQL, a context with a
clock the test controls, and an HTTP client logged in as the admin.

PostgreSQL: one database per test session (`loom_test_<random>`), created and migrated
once and dropped at the end; tables are emptied between tests. When PostgreSQL cannot
be reached the PostgreSQL tests skip locally but FAIL under CI=true, so CI can never go
green without them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from runtime.clock import FixedClock
from runtime.config import Settings
from runtime.context import Context
from runtime.store.engine import make_engine
from runtime.store.migrate import upgrade
from runtime.store.tables import metadata

PG_ADMIN_URL = os.environ.get("LOOM_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
ADMIN_PASSWORD = "admin-pass-123"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Asia/Shanghai


def _pg_unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required in CI and is unreachable: {reason}")
    pytest.skip(f"PostgreSQL unreachable: {reason}")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    name = f"loom_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        _pg_unavailable(str(exc).splitlines()[0])
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _empty_pg(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        # expression indexes made by earlier tests' publishes
        rows = conn.execute(text(
            "SELECT indexname FROM pg_indexes WHERE starts_with(indexname, 'ix_rec_')")).all()
        for (ix,) in rows:
            conn.execute(text(f'DROP INDEX IF EXISTS "{ix}"'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "loom.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    _empty_pg(engine)
    engine.dispose()
    yield url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def ctx(db_url: str, clock: FixedClock, tmp_path: Path) -> Iterator[Context]:
    settings = Settings(database_url=db_url, admin_password=ADMIN_PASSWORD,
                        var_dir=tmp_path / "var", jobs_in_process=False)
    context = Context(settings=settings, engine=make_engine(db_url), clock=clock)
    from runtime.auth.service import ensure_admin

    with context.engine.begin() as conn:
        ensure_admin(conn, password=ADMIN_PASSWORD, var_dir=settings.var_dir,
                     now=clock.now())
    yield context
    context.engine.dispose()


@pytest.fixture
def client(ctx: Context) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from runtime.api.app import create_app

    with TestClient(create_app(ctx=ctx)) as c:
        r = c.post("/api/v1/auth/token", json={"username": "admin",
                                                "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield c
