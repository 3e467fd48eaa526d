"""Databases for the expression SQL tests: SQLite in a file and a PostgreSQL database
of their own (`loom_test_expr_<random>`), migrated once per module and dropped after.
PostgreSQL being unreachable fails under CI=true and skips otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg import scratch_database
from sqlalchemy import Engine, create_engine

from runtime.store.migrate import upgrade

sys.path.insert(0, str(Path(__file__).parents[2] / "engines" / "expr"))


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
    with scratch_database("loom_test_expr") as url:
        engine = create_engine(url)
        upgrade(engine)  # the migrations: tables and PostgreSQL's loom_date/loom_instant
        yield engine
        engine.dispose()
