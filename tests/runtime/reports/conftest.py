"""A seeded records table on SQLite and on PostgreSQL, shared by a test module.

Each PostgreSQL run creates its own database (`loom_test_report_<random>`) with
the records table and drops it at the end; when PostgreSQL is unreachable the
PostgreSQL cases fail under CI=true and skip otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pg import scratch_database
from reports_fixtures import Dataset, make_dataset
from sqlalchemy import Engine, insert
from sqlalchemy.schema import CreateIndex, CreateTable

from runtime.store.engine import make_engine
from runtime.store.tables import records


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return make_dataset()


def _create_records_table(engine: Engine) -> None:
    """The records table and its own index only. Not `metadata.create_all`: publishing
    an app in another test attaches dialect-specific expression indexes to the shared
    `records` Table (runtime/store/indexes.py), which create_all would then replay."""
    own = next(ix for ix in records.indexes if ix.name == "ix_records_app_form_id")
    with engine.begin() as conn:
        conn.execute(CreateTable(records, if_not_exists=True))
        conn.execute(CreateIndex(own, if_not_exists=True))


def _seed(engine: Engine, data: Dataset) -> None:
    _create_records_table(engine)
    with engine.begin() as conn:
        conn.execute(insert(records), data.customers + data.tickets)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def report_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
              dataset: Dataset) -> Iterator[Engine]:
    """A seeded database of each kind (module scope: seeded once, read by many tests)."""
    if request.param == "sqlite":
        path = Path(tmp_path_factory.mktemp("reports")) / "reports.db"
        engine = make_engine(f"sqlite:///{path}")
        _seed(engine, dataset)
        yield engine
        engine.dispose()
        return
    with scratch_database("loom_test_report") as url:
        engine = make_engine(url)
        try:
            _seed(engine, dataset)
            yield engine
        finally:
            engine.dispose()
