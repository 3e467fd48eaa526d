"""Databases for the expression SQL tests: SQLite in a file and a PostgreSQL database
of their own (`loom_test_expr_<random>`), migrated once per module and dropped after.
PostgreSQL being unreachable fails under CI=true and skips otherwise."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from runtime.store.migrate import upgrade

sys.path.insert(0, str(Path(__file__).parents[2] / "engines" / "expr"))

PG_ADMIN = os.environ.get("LOOM_TEST_PG_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def expr_engine(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("expr") / "expr.db"
        engine = create_engine(f"sqlite:///{path}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    name = f"loom_test_expr_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any driver error means "unreachable" here
        admin.dispose()
        reason = str(exc).splitlines()[0]
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required in CI and is unreachable: {reason}")
        pytest.skip(f"PostgreSQL unreachable: {reason}")
    engine = create_engine(make_url(PG_ADMIN).set(database=name))
    upgrade(engine)  # the migrations: tables and PostgreSQL's loom_date/loom_instant
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
