"""A seeded records table on SQLite and on PostgreSQL, shared by a test module.

Each PostgreSQL run creates its own database (`loom_test_report_<random>`) with
the records table and drops it at the end; when PostgreSQL is unreachable the
PostgreSQL cases fail under CI=true and skip otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from reports_fixtures import IN_CI, PG_ADMIN_URL, Dataset, make_dataset
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex, CreateTable

from runtime.store.engine import make_engine
from runtime.store.tables import records


def _pg_unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required in CI and is unreachable: {reason}")
    pytest.skip(f"PostgreSQL unreachable: {reason}")


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
    name = f"loom_test_report_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        _pg_unavailable(str(exc).splitlines()[0])
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        _seed(engine, dataset)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
