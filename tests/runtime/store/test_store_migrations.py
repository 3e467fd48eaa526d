"""The migrations build exactly the tables `runtime.store.tables` declares, on both
databases: a column, index or table added to one and not the other fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pg import scratch_database

from runtime.store.engine import make_engine
from runtime.store.migrate import upgrade
from runtime.store.tables import metadata


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_migrations_match_the_declared_tables(dialect: str, tmp_path: Path) -> None:
    def differences(url: str) -> list[object]:
        engine = make_engine(url)
        try:
            upgrade(engine)
            with engine.connect() as conn:
                return list(compare_metadata(MigrationContext.configure(conn), metadata))
        finally:
            engine.dispose()

    if dialect == "sqlite":
        assert differences(f"sqlite:///{tmp_path / 'm.db'}") == []
        return
    with scratch_database("loom_test_migrations") as url:
        assert differences(url) == []
