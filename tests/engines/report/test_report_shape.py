"""Shaping rows for viewers: value normalisation, ECharts series, pie/funnel, KPI,
gauge, pivot — pure, from statements built by the engine and rows written here."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from engines.report.compile import CompiledReport, compile_report
from engines.report.expressions import default_backend
from engines.report.fields import FieldInfo
from engines.report.query import LEVEL, ReportQuery, build_query
from engines.report.shape import normalise, shape_result
from engines.report.spec import ChartSpec, ReportSpec
from tests.engines.report.conftest import TABLE

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _report(catalog: dict[str, dict[str, FieldInfo]], **doc: Any) -> CompiledReport:
    base = {"key": "r", "name": {"zh": "报表", "en": "Report"}, "source": "ticket",
            "dimensions": [{"key": "month", "field": "created_at", "bucket": "month",
                            "label": {"zh": "月份", "en": "Month"}},
                           {"key": "region", "field": "customer.region"}],
            "measures": [{"key": "n", "agg": "count", "label": {"zh": "数量", "en": "Count"}},
                         {"key": "amount", "agg": "sum", "field": "amount"},
                         {"key": "share", "expr": "n / 10", "format": "percent"}]}
    return compile_report(ReportSpec.model_validate({**base, **doc}), catalog,
                          backend=default_backend())


def _query(report: CompiledReport, **kw: Any) -> ReportQuery:
    return build_query(report, app="a", dialect="sqlite", table=TABLE, params={}, now=NOW, **kw)


ROWS = [
    {"month": "2026-01", "region": "华东", "n": 3, "amount": 10.005, "share": 0.3},
    {"month": "2026-01", "region": "华北", "n": 1, "amount": None, "share": 0.1},
    {"month": "2026-02", "region": "华东", "n": 6, "amount": Decimal("7.1"), "share": 0.6},
]


@pytest.mark.parametrize(("value", "kind", "expected"), [
    (10.005, "money", Decimal("10.01")),
    (Decimal("3.14159"), "money", Decimal("3.14")),
    (Decimal("5"), "integer", 5),
    (1 / 3, "number", 0.3333333333),
    (1, "boolean", True),
    (None, "money", None),
    ("2026-01", "text", "2026-01"),
])
def test_normalise(value: Any, kind: str, expected: Any) -> None:
    got = normalise(value, kind)
    assert got == expected and type(got) is type(expected)


def test_bar_chart_series_by_dimension(catalog: Any) -> None:
    report = _report(catalog, chart={"type": "stacked_bar", "x": "month", "series": "region",
                                     "y": ["n"]})
    result = shape_result(report, _query(report), ROWS, lang="en")
    chart = result.chart
    assert chart["categories"] == ["2026-01", "2026-02"]
    assert [(s["name"], s["data"], s["stack"]) for s in chart["series"]] == [
        ("华东", [3, 6], "n"), ("华北", [1, None], "n")]
    assert result.rows[0]["amount"] == Decimal("10.01")
    assert result.columns[0]["label"] == "Month" and result.columns[2]["label"] == "Count"
    assert result.columns[4]["format"] == "percent"


def test_line_and_area_without_series_draw_one_line_per_measure(catalog: Any) -> None:
    report = _report(catalog, dimensions=[{"key": "month", "field": "created_at",
                                           "bucket": "month"}],
                     chart={"type": "area", "y": ["n", "amount"]})
    rows = [{"month": "2026-01", "n": 2, "amount": 1.5, "share": 0.2},
            {"month": "2026-02", "n": 4, "amount": None, "share": 0.4}]
    chart = shape_result(report, _query(report), rows, lang="zh").chart
    assert chart["x"] == "month" and chart["series_by"] is None
    assert [(s["name"], s["type"], s["data"]) for s in chart["series"]] == [
        ("数量", "line", [2, 4]), ("amount", "line", [1.5, None])]
    assert all(s["areaStyle"] == {} for s in chart["series"])


def test_pie_and_funnel(catalog: Any) -> None:
    report = _report(catalog, dimensions=[{"key": "region", "field": "customer.region"}],
                     chart={"type": "pie", "y": ["amount"]})
    rows = [{"region": "华东", "n": 1, "amount": Decimal("2.50"), "share": 0.1},
            {"region": None, "n": 1, "amount": 1, "share": 0.1}]
    chart = shape_result(report, _query(report), rows).chart
    assert chart["series"][0]["data"] == [{"name": "华东", "value": 2.5},
                                          {"name": None, "value": 1.0}]
    funnel = shape_result(report, _query(report), rows, chart=ChartSpec(type="funnel")).chart
    assert funnel["type"] == "funnel" and funnel["series"][0]["type"] == "funnel"


def test_kpi_without_a_time_dimension_uses_the_total(catalog: Any) -> None:
    report = _report(catalog, dimensions=[{"key": "region", "field": "customer.region"}],
                     chart={"type": "gauge", "y": ["share"], "max": 2})
    query = _query(report, totals=True)
    assert query.with_levels
    rows = [{"region": "华东", "n": 3, "amount": 1, "share": 0.3, LEVEL: 0},
            {"region": None, "n": 5, "amount": 2, "share": 0.5, LEVEL: 2}]
    result = shape_result(report, query, rows)
    assert result.total == {"region": None, "n": 5, "amount": Decimal("2.00"), "share": 0.5}
    assert result.chart == {"type": "gauge", "measure": "share", "value": 0.5, "previous": None,
                            "change": None, "change_ratio": None, "period": None,
                            "previous_period": None, "format": "percent", "min": 0, "max": 2}


def test_kpi_change_against_previous_period(catalog: Any) -> None:
    report = _report(catalog, dimensions=[{"key": "month", "field": "created_at",
                                           "bucket": "month"}],
                     chart={"type": "kpi", "y": ["n"]})
    rows = [{"month": "2026-02", "n": 6, "amount": 1, "share": 0.6},
            {"month": "2026-01", "n": 4, "amount": 1, "share": 0.4}]
    chart = shape_result(report, _query(report), rows).chart
    assert (chart["value"], chart["previous"], chart["change"], chart["change_ratio"]) == (
        6, 4, 2, 0.5)
    assert (chart["period"], chart["previous_period"]) == ("2026-02", "2026-01")


def test_pivot_with_row_totals_from_subtotals(catalog: Any) -> None:
    report = _report(catalog, chart={"type": "pivot", "series": "region", "y": ["n"]},
                     subtotals=True)
    query = _query(report)
    rows = [{**r, LEVEL: 0} for r in ROWS] + [
        {"month": "2026-01", "region": None, "n": 4, "amount": 1, "share": 0.4, LEVEL: 1},
        {"month": "2026-02", "region": None, "n": 6, "amount": 1, "share": 0.6, LEVEL: 1},
        {"month": None, "region": None, "n": 10, "amount": 2, "share": 1.0, LEVEL: 2}]
    chart = shape_result(report, query, rows).chart
    assert chart["index"] == ["month"] and chart["columns"] == ["华东", "华北"]
    assert chart["rows"] == [
        {"key": ["2026-01"], "cells": {"华东": {"n": 3}, "华北": {"n": 1}}, "total": {"n": 4}},
        {"key": ["2026-02"], "cells": {"华东": {"n": 6}, "华北": {"n": None}},
         "total": {"n": 6}}]
    assert chart["total"] == {"n": 10} and chart["column_totals"] is None


def test_pivot_with_the_first_dimension_as_columns(catalog: Any) -> None:
    report = _report(catalog, chart={"type": "pivot", "series": "month", "y": ["n"]},
                     subtotals=True)
    rows = [{**r, LEVEL: 0} for r in ROWS] + [
        {"month": "2026-01", "region": None, "n": 4, "amount": 1, "share": 0.4, LEVEL: 1},
        {"month": "2026-02", "region": None, "n": 6, "amount": 1, "share": 0.6, LEVEL: 1}]
    chart = shape_result(report, _query(report), rows).chart
    assert chart["index"] == ["region"] and chart["columns"] == ["2026-01", "2026-02"]
    assert chart["rows"][0] == {"key": ["华东"], "cells": {"2026-01": {"n": 3},
                                                          "2026-02": {"n": 6}}}
    assert chart["column_totals"] == {"2026-01": {"n": 4}, "2026-02": {"n": 6}}


def test_row_limit_marks_the_result_truncated(catalog: Any) -> None:
    report = _report(catalog)
    query = _query(report, row_limit=2)
    assert query.row_limit == 2
    result = shape_result(report, query, ROWS)
    assert result.truncated and len(result.rows) == 2
