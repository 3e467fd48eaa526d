"""Dashboards fuse the widgets over one form into one scan: the data must be exactly
what one statement per widget gives, on SQLite and PostgreSQL, with filters, drill,
linkage, totals and ratios, and when the fused grain outgrows its cap."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from reports_fixtures import APP, CATALOG, NOW, Dataset, frame
from sqlalchemy import Engine, text

from engines.report.compile import CompiledReport, compile_report
from engines.report.dashboard import CompiledDashboard, Link, compile_dashboard
from engines.report.expressions import default_backend
from engines.report.spec import DashboardSpec, ReportSpec
from runtime.reports.cache import ReportCache
from runtime.reports.limits import Limits, execute
from runtime.reports.service import dashboard_json, run_dashboard
from runtime.store.tables import records

REPORTS = [
    {"key": "by_month", "name": "By month", "source": "ticket",
     "dimensions": [{"key": "month", "field": "created_at", "bucket": "month"},
                    {"key": "status", "field": "status"}],
     "measures": [{"key": "n", "agg": "count"},
                  {"key": "amount", "agg": "sum", "field": "amount"},
                  {"key": "qty", "agg": "sum", "field": "qty"},
                  {"key": "per", "agg": "ratio", "numerator": "amount", "denominator": "qty"},
                  {"key": "avg_qty", "agg": "avg", "field": "qty"},  # fused: sum / count
                  {"key": "avg_amount", "agg": "avg", "field": "amount",
                   "where": "status != 'open'"}],
     "subtotals": True, "totals": True, "chart": {"type": "bar", "x": "month"}},
    {"key": "open_kpi", "name": "Open", "source": "ticket",  # a filter on a grain key
     "filters": ["status == 'open'"],
     "dimensions": [{"key": "month", "field": "created_at", "bucket": "month"}],
     "measures": [{"key": "amount", "agg": "sum", "field": "amount"}],
     "chart": {"type": "kpi", "x": "month", "y": ["amount"]}},
    {"key": "urgent_by_week", "name": "Urgent", "source": "ticket",  # not a grain key
     "filters": ["urgent == True", "qty >= 2"],
     "dimensions": [{"key": "week", "field": "due_on", "bucket": "week"}],
     "measures": [{"key": "n", "agg": "count"},
                  {"key": "low", "agg": "min", "field": "score"},
                  {"key": "high", "agg": "max", "field": "score"},
                  {"key": "late", "agg": "count", "where": "due_at < NOW()"}]},
    {"key": "by_region", "name": "By region", "source": "ticket",
     "dimensions": [{"key": "region", "field": "customer.region"}],
     "measures": [{"key": "n", "agg": "count"}, {"key": "avg_score", "agg": "avg",
                                                "field": "score"}],
     "drill": ["customer.region", "customer.team"], "chart": {"type": "pie"}},
    {"key": "due_quarter", "name": "Due by quarter", "source": "ticket",  # a date's month
     "dimensions": [{"key": "q", "field": "due_on", "bucket": "quarter"}],  # text in the
     "measures": [{"key": "amount", "agg": "sum", "field": "amount"}]},  # grain
    {"key": "due_month", "name": "Due by month", "source": "ticket",
     "filters": ["status != 'open'"],
     "dimensions": [{"key": "m", "field": "due_on", "bucket": "month"},
                    {"key": "y", "field": "due_on", "bucket": "year"}],
     "measures": [{"key": "n", "agg": "count"}], "totals": True},
    {"key": "everything", "name": "All", "source": "ticket",
     "measures": [{"key": "n", "agg": "count"}, {"key": "first", "agg": "min",
                                                 "field": "due_on"}]},
    {"key": "owners", "name": "Owners", "source": "ticket",  # distinct count: alone
     "dimensions": [{"key": "status", "field": "status"}],
     "measures": [{"key": "owners", "agg": "distinct_count", "field": "owner"}]},
    {"key": "top", "name": "Top", "source": "ticket",  # top-N: alone
     "dimensions": [{"key": "subject", "field": "subject"}],
     "measures": [{"key": "amount", "agg": "sum", "field": "amount"}],
     "sort": [{"key": "amount", "desc": True}], "limit": 5},
]


def board() -> CompiledDashboard:
    reports: dict[str, CompiledReport] = {
        d["key"]: compile_report(ReportSpec.model_validate(d), CATALOG, backend=default_backend())
        for d in REPORTS}
    doc = {"key": "ops", "name": "Ops",
           "filters": [{"key": "region", "field": "customer.region"},
                       {"key": "due", "field": "due_on", "type": "date_range"}],
           "widgets": [{"id": r["key"], "report": r["key"]} for r in REPORTS]}
    return compile_dashboard(DashboardSpec.model_validate(doc), reports)


VIEWS: list[dict[str, Any]] = [
    {},
    {"filters": {"region": "华东"}},
    {"filters": {"due": ["2026-02-01", "2026-03-15"]}},
    {"drill": {"by_region": ["华北"]}},
    {"link": Link("by_month", "month", "2026-01")},
    {"link": Link("by_month", "status", "open")},
    {"link": Link("due_quarter", "q", "2026-Q1")},
]


def _data(engine: Engine, limits: Limits, **view: Any) -> dict[str, Any]:
    with engine.connect() as conn:
        return dashboard_json(run_dashboard(conn, board(), app=APP, version=1, now=NOW,
                                            limits=limits, **view))


def _floats_close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_floats_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_floats_close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_plan_fuses_the_decomposable_widgets_of_one_form() -> None:
    plan = board().plan(app=APP, dialect="postgresql", table=records, now=NOW,
                        fuse_max_rows=1000)
    assert len(plan.queries) == len(REPORTS)
    [fused] = plan.fused
    ids = [plan.queries[m.index].widget.id for m in fused.members]
    assert ids == ["by_month", "open_kpi", "urgent_by_week", "by_region", "due_quarter",
                   "due_month", "everything"]
    grain = str(fused.statement.compile()).split(" GROUP BY ")[0]  # the grain's keys
    assert grain.count("left(") == 1  # the three buckets of due_on share its month text
    assert "to_date(left(" not in grain
    assert "owners" not in ids and "top" not in ids
    assert not board().plan(app=APP, dialect="sqlite", table=records, now=NOW).fused


@pytest.mark.parametrize("view", VIEWS, ids=["plain", "region", "due", "drill", "link_month",
                                              "link_status", "link_quarter"])
def test_fused_data_equals_one_statement_per_widget(report_db: Engine, view: dict[str, Any],
                                                    dataset: Dataset) -> None:
    separate = _data(report_db, Limits(fuse_max_rows=0, parallel_statements=1), **view)
    fused = _data(report_db, Limits(), **view)
    if report_db.dialect.name == "postgresql":
        assert fused == separate  # exact sums: the same to the last digit
    else:  # money is REAL on SQLite: a sum of sums may differ in the 15th digit
        assert _floats_close(fused, separate)
    if not view:  # and both are right: the counts are pandas' counts
        df = frame(dataset)
        widgets = {w["id"]: w["data"] for w in fused["widgets"]}
        assert widgets["everything"]["rows"][0]["n"] == len(df)
        assert sum(r["n"] for r in widgets["by_month"]["rows"]) == len(df)
        assert widgets["by_month"]["total"]["n"] == len(df)
        quarters = {r["q"]: float(r["amount"] or 0) for r in widgets["due_quarter"]["rows"]}
        due = pd.to_datetime(df["due_on"])
        expected = df.groupby(due.dt.year.astype(str) + "-Q" + due.dt.quarter.astype(str))[
            "amount"].sum()
        assert quarters == pytest.approx({k: float(v) for k, v in expected.items()})
        assert widgets["due_month"]["total"]["n"] == int((df["status"] != "open").sum())
        opened = df[df["status"] == "open"]["amount"].sum()
        assert sum(float(r["amount"] or 0) for r in widgets["open_kpi"]["rows"]) == \
            pytest.approx(float(opened))


def test_a_grain_past_its_cap_falls_back_to_one_statement_per_widget(
        report_db: Engine) -> None:
    b = board()
    dialect = "postgresql" if report_db.dialect.name == "postgresql" else "sqlite"
    plan = b.plan(app=APP, dialect=dialect, table=records, now=NOW, fuse_max_rows=3)
    with report_db.connect() as conn:
        rows = execute(conn, plan.fused[0].statement, 10_000)
    assert plan.fused[0].split(rows) is None  # the grain has more than 3 rows
    separate = _data(report_db, Limits(fuse_max_rows=0))
    assert _data(report_db, Limits(fuse_max_rows=3)) == separate  # the same statements ran


def test_cached_widgets_are_not_planned_again(report_db: Engine) -> None:
    cache = ReportCache()
    with report_db.connect() as conn:
        run_dashboard(conn, board(), app=APP, version=1, now=NOW, cache=cache)
        assert cache.stats() == {"hits": 0, "misses": len(REPORTS), "entries": len(REPORTS)}
        run_dashboard(conn, board(), app=APP, version=1, now=NOW, cache=cache)
        assert cache.stats()["hits"] == len(REPORTS)
        cache.invalidate(APP, "ticket")
        again = run_dashboard(conn, board(), app=APP, version=1, now=NOW, cache=cache)
    assert cache.stats()["misses"] == 2 * len(REPORTS)
    assert len(again.widgets) == len(REPORTS)


@pytest.mark.parametrize("report_db", ["postgresql"], indirect=True)
def test_planner_settings_end_with_the_statement(report_db: Engine) -> None:
    show = text("SELECT current_setting('jit'), current_setting('hash_mem_multiplier'),"
                " current_setting('statement_timeout'), current_setting('random_page_cost'),"
                " current_setting('enable_indexscan'),"
                " pg_size_bytes(current_setting('work_mem')) AS work_mem")
    with report_db.connect() as conn:
        before = conn.execute(show).one()
        inside = execute(conn, show, 5000, hash_mem_mb=64, sort_mem_mb=32,
                         random_page_cost=1.5)[0]
        assert conn.execute(show).one() == before
    jit, multiplier, timeout, page_cost, indexscan, work_mem = inside.values()
    assert (jit, timeout, page_cost, indexscan) == ("off", "5s", "1.5", "off")
    assert before[4] == "on"
    assert work_mem == max(32 * 2**20, conn_work_mem(report_db))  # a sort may hold 32 MB
    assert float(multiplier) * work_mem >= 64 * 2**20  # a hash may hold 64 MB
    assert float(multiplier) * work_mem < 65 * 2**20 or float(multiplier) == float(before[1])
    workers = text("SELECT current_setting('max_parallel_workers_per_gather') AS w")
    with report_db.connect() as conn:
        server = conn.execute(workers).scalar_one()
        assert execute(conn, workers, 5000)[0]["w"] == server
        assert execute(conn, workers, 5000, parallel_workers=0)[0]["w"] == "0"
        assert conn.execute(workers).scalar_one() == server


def conn_work_mem(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_size_bytes(current_setting('work_mem'))"))
                   .scalar_one())
