"""Dashboards: global filters, per-widget drill, linkage; the result cache and its
invalidation; the statement timeout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from reports_fixtures import APP, CATALOG, NOW, Dataset, frame
from sqlalchemy import Engine, insert, text

from engines.report.compile import CompiledReport, compile_report
from engines.report.dashboard import CompiledDashboard, Link, compile_dashboard
from engines.report.expressions import default_backend
from engines.report.fields import ReportDefinitionError
from engines.report.spec import DashboardSpec, ReportSpec
from runtime.errors import ValidationFailed
from runtime.reports.cache import ReportCache
from runtime.reports.limits import ReportTimeoutError, execute
from runtime.reports.service import dashboard_json, run_dashboard, run_report
from runtime.store.tables import records

BY_REGION = {
    "key": "by_region", "name": "By region", "source": "ticket",
    "dimensions": [{"key": "region", "field": "customer.region"}],
    "measures": [{"key": "n", "agg": "count"}],
    "drill": ["customer.region", "customer.team"],
    "chart": {"type": "pie", "x": "region", "y": ["n"]},
}
BY_MONTH = {
    "key": "by_month", "name": "By month", "source": "ticket",
    "dimensions": [{"key": "month", "field": "created_at", "bucket": "month"}],
    "measures": [{"key": "n", "agg": "count"},
                 {"key": "amount", "agg": "sum", "field": "amount"}],
    "chart": {"type": "line", "x": "month", "y": ["n", "amount"]},
}
BY_STATUS = {
    "key": "by_status", "name": "By status", "source": "ticket",
    "dimensions": [{"key": "status", "field": "status"}],
    "measures": [{"key": "n", "agg": "count"}],
}
NOTES = {"key": "notes", "name": "Notes", "source": "customer",
         "measures": [{"key": "n", "agg": "count"}]}


def reports() -> dict[str, CompiledReport]:
    return {d["key"]: compile_report(ReportSpec.model_validate(d), CATALOG,
                                     backend=default_backend())
            for d in (BY_REGION, BY_MONTH, BY_STATUS, NOTES)}


def dashboard(**extra: Any) -> CompiledDashboard:
    doc = {"key": "overview", "name": {"zh": "总览", "en": "Overview"},
           "filters": [{"key": "region", "field": "customer.region"},
                       {"key": "due", "field": "due_on", "type": "date_range"}],
           "widgets": [{"id": "regions", "report": "by_region"},
                       {"id": "months", "report": "by_month"},
                       {"id": "kpi", "report": "by_month", "chart": {"type": "kpi", "y": ["n"]}},
                       {"id": "statuses", "report": "by_status", "linked": False},
                       {"id": "customers", "report": "notes"}],
           **extra}
    return compile_dashboard(DashboardSpec.model_validate(doc), reports())


def _n(result: Any) -> int:
    return sum(r["n"] for r in result.rows)


def test_dashboard_definition_problems_are_located() -> None:
    doc = {"key": "d", "name": "D", "filters": [{"key": "f", "field": "nowhere"}],
           "widgets": [{"report": "missing"},
                       {"report": "by_month", "chart": {"x": "region", "y": ["zz"]},
                        "params": {"p": 1}}]}
    with pytest.raises(ReportDefinitionError) as info:
        compile_dashboard(DashboardSpec.model_validate(doc), reports())
    assert {p.path: p.code for p in info.value.problems} == {
        "widgets[0].report": "unknown_report",
        "widgets[1].chart.x": "unknown_dimension",
        "widgets[1].chart.y[0]": "unknown_measure",
        "widgets[1].params.p": "unknown_param",
        "filters[0].field": "filter_reaches_no_widget",
    }


def test_global_filters_drill_and_linkage(report_db: Engine, dataset: Dataset) -> None:
    board = dashboard()
    df = frame(dataset)
    with report_db.connect() as conn:
        plain = run_dashboard(conn, board, app=APP, version=1, now=NOW)
        east = run_dashboard(conn, board, app=APP, version=1, now=NOW,
                             filters={"region": "华东", "due": ["2026-02-01", None]})
        drilled = run_dashboard(conn, board, app=APP, version=1, now=NOW,
                                drill={"regions": ["华北"]})
        linked = run_dashboard(conn, board, app=APP, version=1, now=NOW,
                               link=Link("months", "month", "2026-01"))
        with pytest.raises(ValidationFailed):
            run_dashboard(conn, board, app=APP, version=1, now=NOW, filters={"nope": 1})
        with pytest.raises(ValidationFailed):
            run_dashboard(conn, board, app=APP, version=1, now=NOW, drill={"zz": ["x"]})
    w = {x.id: x.result for x in plain.widgets}
    assert _n(w["regions"]) == _n(w["months"]) == _n(w["statuses"]) == len(df)
    assert w["kpi"].chart["type"] == "kpi" and w["kpi"].chart["value"] is not None
    assert w["customers"].rows[0]["n"] == 7  # live customers, other apps excluded

    e = {x.id: x.result for x in east.widgets}
    expected = df[(df["region"] == "华东") & (df["due_on"] >= "2026-02-01")]
    assert _n(e["regions"]) == _n(e["months"]) == _n(e["statuses"]) == len(expected)
    assert e["customers"].skipped_filters == ["customer.region", "due_on"]

    d = {x.id: x.result for x in drilled.widgets}
    assert {r["region"] for r in d["regions"].rows} <= {"a", "b", None}
    assert _n(d["regions"]) == len(df[df["region"] == "华北"])
    assert _n(d["months"]) == len(df)  # drill is per widget

    lk = {x.id: x.result for x in linked.widgets}
    january = df[df["local"].dt.strftime("%Y-%m") == "2026-01"]
    assert _n(lk["regions"]) == len(january)
    assert _n(lk["months"]) == len(df)  # the clicked widget keeps showing everything
    assert _n(lk["statuses"]) == len(df)  # not linked
    # customers' own created_at is another field than the tickets' one clicked
    assert lk["customers"].rows[0]["n"] == 7
    assert lk["customers"].skipped_filters == ["created_at"]

    doc = dashboard_json(plain, "en")
    assert doc["name"] == "Overview"
    assert [x["id"] for x in doc["widgets"]] == ["regions", "months", "kpi", "statuses",
                                                "customers"]
    pie = doc["widgets"][0]["data"]["chart"]
    assert pie["type"] == "pie" and sum(p["value"] for p in pie["series"][0]["data"]) == len(df)


def test_cache_hits_until_a_source_form_changes(report_db: Engine, dataset: Dataset) -> None:
    cache = ReportCache()
    report = reports()["by_region"]
    with report_db.connect() as conn:
        first = run_report(conn, report, app=APP, version=1, now=NOW, cache=cache)
        again = run_report(conn, report, app=APP, version=1, now=NOW, cache=cache)
        assert again is first and cache.hits == 1
        other = run_report(conn, report, app=APP, version=2, now=NOW, cache=cache)
        assert other is not first  # a new version is a new key
        cache.invalidate(APP, "note")  # a form this report does not read
        assert run_report(conn, report, app=APP, version=1, now=NOW, cache=cache) is first
        row = dict(dataset.tickets[1], id=99_999, deleted_at=None)
        nested = conn.begin_nested()
        conn.execute(insert(records), [row])
        cache.invalidate(APP, "customer")  # joined forms count too
        fresh = run_report(conn, report, app=APP, version=1, now=NOW, cache=cache)
        nested.rollback()
        assert fresh is not first
        assert _n(fresh) == _n(first) + 1


def test_cache_entries_expire() -> None:
    cache = ReportCache(ttl_seconds=0.0)
    cache.put("k", APP, ["f"], 1)
    assert cache.get("k", APP, ["f"]) is None


def test_a_slow_query_is_stopped_and_the_connection_stays_usable(report_db: Engine) -> None:
    if report_db.dialect.name == "postgresql":
        slow = text("SELECT pg_sleep(5)")
    else:
        slow = text("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                    "WHERE x < 100000000) SELECT count(*) FROM c")
    with report_db.connect() as conn:
        with pytest.raises(ReportTimeoutError) as info:
            execute(conn, slow, timeout_ms=200)
        assert info.value.status == 503
        assert "0.2" in info.value.message["en"]
        assert conn.execute(text("SELECT 1")).scalar() == 1
        assert execute(conn, text("SELECT 2 AS x"), timeout_ms=1000)[0]["x"] == 2


def test_now_moves_the_cache_key_by_day(report_db: Engine) -> None:
    cache = ReportCache()
    report = reports()["by_status"]
    with report_db.connect() as conn:
        first = run_report(conn, report, app=APP, version=1, now=NOW, cache=cache)
        later = run_report(conn, report, app=APP, version=1, now=NOW + timedelta(days=1),
                           cache=cache)
    assert later is not first and later.rows == first.rows
