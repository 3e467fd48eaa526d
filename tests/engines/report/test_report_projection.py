"""Which related fields a report's projection keeps, and that a statement joins the
narrow copy only when every field it reads is there (else the records themselves)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, MetaData, String, Table
from sqlalchemy.dialects import postgresql

from engines.report.compile import CompiledReport, compile_report
from engines.report.dashboard import compile_dashboard
from engines.report.expressions import default_backend
from engines.report.projection import Projection, projected_fields, report_reads
from engines.report.query import FieldFilter, build_query
from engines.report.spec import DashboardSpec, ReportSpec
from tests.engines.report.conftest import CATALOG, TABLE

NOW = datetime(2026, 3, 15, tzinfo=UTC)
COPIES = Table(
    "record_projections", MetaData(),
    Column("id", BigInteger, primary_key=True), Column("app", String), Column("form", String),
    Column("data", JSON), Column("owner", String), Column("department", String),
    Column("created_by", String), Column("updated_by", String), Column("version", Integer),
    *(Column(c, DateTime(timezone=True)) for c in ("created_at", "updated_at", "deleted_at")))


def report(doc: dict[str, Any]) -> CompiledReport:
    return compile_report(ReportSpec.model_validate({"name": doc["key"], **doc}), CATALOG,
                          backend=default_backend())


BY_REGION = {"key": "by_region", "source": "ticket",
             "dimensions": [{"key": "region", "field": "customer.region"}],
             "measures": [{"key": "n", "agg": "count"}]}
NAMED = {"key": "named", "source": "ticket",
         "filters": ["customer.name != 'x'"],
         "params": [{"key": "team", "filter": "customer.team == team"}],
         "measures": [{"key": "n", "agg": "count", "where": "customer.region != ''"}],
         "drill": ["status", "customer.owner"]}
PLAIN = {"key": "plain", "source": "ticket", "dimensions": [{"key": "s", "field": "status"}],
         "measures": [{"key": "amount", "agg": "sum", "field": "amount"}]}


def test_a_report_reads_its_related_fields_from_every_part_of_its_definition() -> None:
    assert report_reads(report(BY_REGION)) == {"customer": {"region"}}
    assert report_reads(report(NAMED)) == {"customer": {"name", "team", "region", "owner"}}
    assert report_reads(report(PLAIN)) == {}


def test_a_dashboard_adds_its_filters_and_what_a_click_filters_by() -> None:
    reports = {r.key: r for r in (report(BY_REGION), report(PLAIN))}
    board = DashboardSpec.model_validate({
        "key": "b", "name": "B", "filters": [{"key": "t", "field": "customer.team"}],
        "widgets": [{"report": "by_region"}, {"report": "plain"}]})
    assert projected_fields([reports["plain"]], []) == {}
    assert projected_fields(reports.values(), [(board, reports)]) == {
        "customer": frozenset({"region", "team"})}


def _sql(r: CompiledReport, **call: Any) -> str:
    query = build_query(r, app="desk", dialect="postgresql", table=TABLE, params={}, now=NOW,
                        **call)
    return str(query.statement.compile(dialect=postgresql.dialect()))


def test_joins_read_the_copy_unless_a_call_reaches_past_it() -> None:
    fields = {"customer": frozenset({"region", "team"})}
    narrow = replace(report(BY_REGION), projection=Projection(COPIES, fields))
    sql = _sql(narrow)
    assert "FROM record_projections AS r_customer" in sql
    assert " AS name" not in sql and " AS team" in sql  # only the kept fields projected
    assert _sql(narrow, filters=[FieldFilter("customer.team", "t1")]).count(
        "record_projections") == 1
    past = _sql(narrow, filters=[FieldFilter("customer.name", "Acme")])
    assert "record_projections" not in past and "FROM records AS r_customer" in past
    assert "record_projections" not in _sql(report(BY_REGION))  # no projection: records
    sqlite = build_query(narrow, app="desk", dialect="sqlite", table=TABLE, params={},
                         now=NOW).statement
    assert "record_projections" not in str(sqlite.compile())  # SQLite joins by key


def test_a_fused_dashboard_falls_back_together() -> None:
    fields = {"customer": frozenset({"region"})}
    proj = Projection(COPIES, fields)
    reports = {k: replace(report(d), projection=proj) for k, d in
               (("by_region", BY_REGION), ("plain", PLAIN))}
    board = compile_dashboard(DashboardSpec.model_validate({
        "key": "b", "name": "B", "filters": [{"key": "t", "field": "customer.team"}],
        "widgets": [{"report": "by_region"}, {"report": "plain"}]}), reports)
    plain = board.plan(app="desk", dialect="postgresql", table=TABLE, now=NOW,
                       fuse_max_rows=1000)
    [fused] = plain.fused
    assert "record_projections" in str(fused.statement.compile(dialect=postgresql.dialect()))
    past = board.plan(app="desk", dialect="postgresql", table=TABLE, now=NOW,
                      filters={"t": "t1"}, fuse_max_rows=1000)
    [fused] = past.fused
    text = str(fused.statement.compile(dialect=postgresql.dialect()))
    assert "record_projections" not in text and "j_customer.team" in text
