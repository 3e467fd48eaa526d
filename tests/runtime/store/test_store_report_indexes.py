"""What publishing makes for reports. SQLite: each report's covering index
(runtime.store.indexes.report_index), chosen by SQLite for the report's statement
without a sort for its grouping, giving the rows the table gives. PostgreSQL: no such
index, but statistics on the values report filters compare (runtime.store.statistics),
which the planner uses to estimate how many records a filter keeps."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from builder.bundle import load
from engines.report.query import build_query
from runtime.apps import service as apps_service
from runtime.apps.registry import CompiledApp
from runtime.auth.models import SYSTEM
from runtime.context import Context
from runtime.records import service as records_service
from runtime.reports.provider import AppReports
from runtime.reports.service import run_report
from runtime.store.indexes import app_prefix, existing_indexes, report_index
from runtime.store.statistics import app_prefix as statistics_prefix
from runtime.store.statistics import ensure_statistics, existing_statistics
from runtime.store.tables import records

BUNDLE = Path(__file__).parents[2] / "fixtures" / "bundles" / "crm_lite"
REPORT = {
    "schema_version": 1, "key": "open_by_month", "name": {"zh": "按月应收", "en": "By month"},
    "source": "invoice",
    "filters": ["amount > 0"],
    "dimensions": [{"key": "status", "field": "status"},
                   {"key": "month", "field": "due_date", "bucket": "month"}],
    "measures": [{"key": "n", "agg": "count"},
                 {"key": "amount", "agg": "sum", "field": "amount"},
                 {"key": "big", "agg": "count", "where": "amount >= 500"},
                 {"key": "big_share", "expr": "big / n"}],
    "chart": {"type": "table"},
}
OPEN = {"schema_version": 1, "key": "open_invoices", "name": "Open", "source": "invoice",
        "filters": ['status == "open"'], "measures": [{"key": "n", "agg": "count"}],
        "chart": {"type": "kpi", "y": ["n"]}}


@pytest.fixture
def app_ctx(ctx: Context, tmp_path: Path) -> Context:
    bundle = tmp_path / "crm_lite"
    shutil.copytree(BUNDLE, bundle)
    (bundle / "reports").mkdir()
    (bundle / "reports" / "open_by_month.json").write_text(json.dumps(REPORT))
    (bundle / "reports" / "open_invoices.json").write_text(json.dumps(OPEN))
    with ctx.engine.begin() as conn:
        apps_service.install(conn, ctx, load(bundle), actor=SYSTEM)
        customer = records_service.create(conn, ctx, app="crm_lite", form="customer",
                                          data={"name": "索引客户", "region": "north"},
                                          actor=SYSTEM)
        records_service.create_many(conn, ctx, app="crm_lite", form="invoice", actor=SYSTEM, rows=[
            {"customer": customer["id"], "amount": f"{(i * 137) % 900 + 0.25:.2f}",
             "due_date": date(2026, 1 + i % 6, 1 + i % 27).isoformat(),
             "status": "paid" if i % 3 else "open"} for i in range(60)])
    return ctx


def _rows(ctx: Context) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        report, version = AppReports(ctx).report(conn, "crm_lite", "open_by_month")
        return run_report(conn, report, app="crm_lite", version=version,
                          now=ctx.clock.now()).rows


def test_sqlite_serves_the_report_from_its_index_and_gets_the_same_rows(
        app_ctx: Context) -> None:
    ctx = app_ctx
    with ctx.engine.begin() as conn:
        report, _version = AppReports(ctx).report(conn, "crm_lite", "open_by_month")
        found = report_index(conn, "crm_lite", report)
        if conn.dialect.name == "postgresql":
            assert found is None
            assert not [n for n in existing_indexes(conn) if n.startswith(app_prefix(
                "crm_lite")) and "report" in n]
            return
        assert found is not None
        name, _index = found
        assert name in existing_indexes(conn)  # made by publishing
        statement = build_query(report, app="crm_lite", dialect="sqlite", table=records,
                                params={}, now=ctx.clock.now()).statement
        compiled = statement.compile(dialect=conn.dialect,
                                     compile_kwargs={"render_postcompile": True})
        bound = tuple(compiled.params[k] for k in compiled.positiontup or ())
        plan = " | ".join(str(r[3]) for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + str(compiled), bound))
    assert name in plan and "B-TREE FOR GROUP BY" not in plan, plan
    with_index = _rows(ctx)
    assert sum(r["n"] for r in with_index) == 60
    with ctx.engine.begin() as conn:
        conn.execute(text(f'DROP INDEX "{name}"'))
    assert _rows(ctx) == with_index  # from the table: the same rows


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_keeps_statistics_on_the_filtered_values(app_ctx: Context) -> None:
    ctx = app_ctx
    with ctx.engine.begin() as conn:
        names = [n for n in existing_statistics(conn)
                 if n.startswith(statistics_prefix("crm_lite"))]
        expressions = conn.execute(text(
            "SELECT pg_get_statisticsobjdef_expressions(oid)::text FROM pg_statistic_ext "
            "WHERE stxname = ANY(:names)"), {"names": names}).scalars().all()
        conn.execute(text("ANALYZE records"))  # as autovacuum would after the writes
        report, _version = AppReports(ctx).report(conn, "crm_lite", "open_invoices")
        statement = build_query(report, app="crm_lite", dialect="postgresql", table=records,
                                params={}, now=ctx.clock.now()).statement
        sql = str(statement.compile(dialect=conn.dialect,
                                    compile_kwargs={"literal_binds": True}))
        plan = conn.execute(text("EXPLAIN (FORMAT JSON) " + sql)).scalar_one()
    # one object for `status` (open_invoices) and one for `amount` (open_by_month)
    assert len(names) == 2, names
    assert any("'status'" in e for e in expressions) and any("'amount'" in e
                                                             for e in expressions)
    scan = _scan_rows(plan[0]["Plan"])
    assert 12 <= scan <= 40, scan  # 20 of the 60 invoices are open; unknown: ~1
    with ctx.engine.begin() as conn:  # a version without the reports: theirs are dropped
        assert ensure_statistics(conn, CompiledApp("crm_lite", 2, load(BUNDLE)), ctx.tz) == []
        assert not set(names) & existing_statistics(conn)


def _scan_rows(node: dict[str, Any]) -> float:
    """The estimated rows of the statement's scan of the records."""
    if node.get("Relation Name") == "records":
        return float(node["Plan Rows"])
    return max((_scan_rows(child) for child in node.get("Plans", [])), default=0.0)
