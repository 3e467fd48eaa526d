"""Dashboards joining the narrow copies of related records (engines.report.projection)
give exactly the data they give joining the records, in every view, on both databases;
the copies follow writes (runtime.store.projections)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from reports_fixtures import APP, NOW, Dataset
from sqlalchemy import Engine, select, update
from sqlalchemy.schema import CreateIndex, CreateTable
from test_reports_fuse import REPORTS, VIEWS, board

from engines.report.dashboard import CompiledDashboard, compile_dashboard
from engines.report.projection import Projection, projected_fields
from runtime.reports.limits import Limits
from runtime.reports.service import dashboard_json, run_dashboard
from runtime.store import projections
from runtime.store.tables import projection_builds, record_projections, records


def narrow_board() -> CompiledDashboard:
    plain = board()
    reports = {w.report.key: w.report for w in plain.widgets}
    fields = projected_fields(reports.values(), [(plain.spec, reports)])
    proj = Projection(record_projections, fields)
    return compile_dashboard(plain.spec, {k: replace(r, projection=proj)
                                          for k, r in reports.items()})


@pytest.fixture(scope="module")
def copies(report_db: Engine) -> Iterator[Engine]:
    """The seeded database with its copies made, as publishing makes them."""
    with report_db.begin() as conn:
        for table in (record_projections, projection_builds):
            conn.execute(CreateTable(table, if_not_exists=True))
        for ix in record_projections.indexes:
            conn.execute(CreateIndex(ix, if_not_exists=True))
        reports = {w.report.key: w.report for w in board().widgets}
        projections.rebuild(conn, app=APP, version=1, now=NOW, fields=projected_fields(
            reports.values(), [(board().spec, reports)]))
    yield report_db


def _data(engine: Engine, dashboard: CompiledDashboard, **view: Any) -> dict[str, Any]:
    with engine.connect() as conn:
        return dashboard_json(run_dashboard(conn, dashboard, app=APP, version=1, now=NOW,
                                            limits=Limits(), **view))


def test_the_copies_hold_the_related_fields_the_dashboard_reads(copies: Engine,
                                                               dataset: Dataset) -> None:
    fields = projected_fields([w.report for w in board().widgets], [])
    assert fields == {"customer": frozenset({"region", "team"})}
    with copies.connect() as conn:
        held = {r.id: r.data for r in conn.execute(select(record_projections))}
    if copies.dialect.name == "sqlite":
        assert held == {}  # SQLite joins by key and keeps none
        return
    live = {c["id"]: c["data"] for c in dataset.customers if c["deleted_at"] is None}
    assert held == {i: {k: v for k, v in d.items() if k in ("region", "team")}
                    for i, d in live.items()}


@pytest.mark.parametrize("view", VIEWS, ids=["plain", "region", "due", "drill", "link_month",
                                              "link_status", "link_quarter"])
def test_the_copies_give_the_data_the_records_give(copies: Engine,
                                                   view: dict[str, Any]) -> None:
    assert _data(copies, narrow_board(), **view) == _data(copies, board(), **view)


def test_the_plan_joins_the_copy_on_postgresql_only() -> None:
    for dialect, expected in (("postgresql", True), ("sqlite", False)):
        plan = narrow_board().plan(app=APP, dialect=dialect, table=records, now=NOW,
                                   fuse_max_rows=1000)
        by_region = next(q for q in plan.queries if q.widget.id == "by_region")
        assert ("record_projections" in str(by_region.query.statement)) is expected
    assert len(REPORTS) == len(narrow_board().widgets)


def test_a_written_customer_moves_in_the_copy_too(copies: Engine) -> None:
    """An update and a soft delete, each followed by `sync` as the write path does."""
    def regions() -> dict[str | None, int]:
        widget = next(w for w in _data(copies, narrow_board())["widgets"]
                      if w["id"] == "by_region")
        return {r["region"]: r["n"] for r in widget["data"]["rows"] if r.get("_level", 0) == 0}

    fields = {"customer": frozenset({"region", "team"})}
    before = regions()
    with copies.begin() as conn:
        data = conn.execute(select(records.c.data).where(records.c.id == 1)).scalar_one()
        conn.execute(update(records).where(records.c.id == 1).values(
            data={**data, "region": "西北"}))
        projections.sync(conn, app=APP, form="customer", ids=[1], fields=fields)
    after = regions()
    assert after == _regions_of(copies, "by_region") != before
    if copies.dialect.name == "postgresql":
        assert after.get("西北", 0) > 0
    with copies.begin() as conn:
        conn.execute(update(records).where(records.c.id == 1).values(deleted_at=NOW))
        projections.sync(conn, app=APP, form="customer", ids=[1], fields=fields)
    assert regions() == _regions_of(copies, "by_region")
    assert "西北" not in regions()


def _regions_of(engine: Engine, widget_id: str) -> dict[str | None, int]:
    """The same widget from the records themselves."""
    widget = next(w for w in _data(engine, board())["widgets"] if w["id"] == widget_id)
    return {r["region"]: r["n"] for r in widget["data"]["rows"] if r.get("_level", 0) == 0}
