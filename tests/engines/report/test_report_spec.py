"""The definition files parse as FORMATS.md writes them, and shape errors are refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from engines.report.spec import ChartOverride, DashboardSpec, ReportSpec

DASHBOARD = {
    "schema_version": 1,
    "key": "overview",
    "name": {"zh": "服务总览", "en": "Service overview"},
    "filters": [{"key": "region", "field": "customer.region", "type": "select"}],
    "widgets": [
        {"report": "tickets_by_month", "x": 0, "y": 0, "w": 8, "h": 4},
        {"report": "tickets_by_month", "chart": {"type": "kpi", "y": ["late_rate"]},
         "x": 8, "y": 0, "w": 4, "h": 4},
    ],
}


def test_formats_examples_parse(report_doc: dict[str, Any]) -> None:
    """The report and dashboard of FORMATS.md, key for key."""
    report = ReportSpec.model_validate(report_doc)
    dashboard = DashboardSpec.model_validate(DASHBOARD)
    assert [m.key for m in report.measures] == ["tickets", "amount", "late", "late_rate"]
    assert report.measures[3].is_formula
    assert dashboard.widget_ids() == ["w0", "w1"]
    override = dashboard.widgets[1].chart
    assert override is not None
    chart = override.apply(report.chart)
    assert (chart.type, chart.x, chart.y) == ("kpi", "month", ["late_rate"])


def test_formats_report_example_parses_inline(report_doc: dict[str, Any]) -> None:
    spec = ReportSpec.model_validate(report_doc)
    assert spec.dimensions[0].bucket == "month"
    assert spec.params[0].default_expr == "TODAY() - DAYS(365)"


@pytest.mark.parametrize(("patch", "needle"), [
    ({"colour": "red"}, "colour"),
    ({"measures": []}, "measures"),
    ({"dimensions": [{"key": "d", "field": "a", "expr": "a"}]}, "exactly one"),
    ({"dimensions": [{"key": "d", "expr": "a", "bucket": "month"}]}, "bucket"),
    ({"measures": [{"key": "m", "agg": "sum"}]}, "needs a field"),
    ({"measures": [{"key": "m", "agg": "ratio", "numerator": "a"}]}, "numerator"),
    ({"measures": [{"key": "m", "agg": "count", "expr": "a"}]}, "exactly one"),
    ({"measures": [{"key": "m", "expr": "a / b", "where": "x > 1"}]}, "formula"),
    ({"dimensions": [{"key": "Bad-Key", "field": "a"}]}, "pattern"),
    ({"limit": 0}, "limit"),
    ({"chart": {"type": "radar"}}, "chart"),
])
def test_shape_errors_are_refused(report_doc: dict[str, Any], patch: dict[str, Any],
                                  needle: str) -> None:
    report_doc.update(patch)
    with pytest.raises(ValidationError) as info:
        ReportSpec.model_validate(report_doc)
    assert needle in str(info.value)


def test_dashboard_widget_ids_must_be_unique() -> None:
    doc = {"key": "d", "name": "D", "widgets": [{"id": "a", "report": "r"},
                                                {"id": "a", "report": "r"}]}
    with pytest.raises(ValidationError, match="unique"):
        DashboardSpec.model_validate(doc)


def test_chart_override_keeps_unset_keys() -> None:
    base = ReportSpec.model_validate({
        "key": "r", "name": "R", "source": "f", "measures": [{"key": "n", "agg": "count"}],
        "chart": {"type": "bar", "x": "d", "series": "s", "y": ["n"], "stacked": True}}).chart
    out = ChartOverride(type="line").apply(base)
    assert (out.type, out.x, out.series, out.y, out.stacked) == ("line", "d", "s", ["n"], True)


def test_json_schema_accepts_the_examples_and_refuses_unknown_keys(
        report_doc: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.validate(report_doc, ReportSpec.model_json_schema())
    jsonschema.validate(DASHBOARD, DashboardSpec.model_json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**report_doc, "colour": "red"}, ReportSpec.model_json_schema())
