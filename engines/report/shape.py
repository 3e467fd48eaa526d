"""Turn the rows a report statement returned into what a viewer sees.

`shape_result` normalises values (the two databases return different Python types
for the same SQL: PostgreSQL `Decimal` sums, SQLite floats and 0/1 booleans), splits
detail rows from subtotals and the total (`_level`), and draws the chart data in the
shapes ECharts takes: `categories` plus `series` for bar/line/area, name/value pairs
for pie and funnel, a single value (with the change against the previous period) for
KPI cards and gauges, and a pandas pivot for pivot tables.

Money is a `Decimal` rounded to cents (exact on PostgreSQL, rounded on SQLite, as
DESIGN §10 says); other non-integer numbers are floats rounded to 10 decimal places,
so both databases give equal results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engines.common import Lang, text_of
from engines.report.compile import CompiledDimension, CompiledMeasure, CompiledReport
from engines.report.pivot import pivot_table
from engines.report.query import LEVEL, ReportQuery
from engines.report.spec import ChartSpec

CENT = Decimal("0.01")
FLOAT_DECIMALS = 10


@dataclass(frozen=True)
class ReportResult:
    """One report call's answer: columns, detail rows, subtotals, total and chart."""

    columns: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    subtotals: list[dict[str, Any]] = field(default_factory=list)
    total: dict[str, Any] | None = None
    chart: dict[str, Any] = field(default_factory=dict)
    drill: dict[str, Any] | None = None
    truncated: bool = False
    skipped_filters: list[str] = field(default_factory=list)


def normalise(value: Any, kind: str) -> Any:
    """One Python value per kind, whichever database produced it."""
    if value is None:
        return None
    if kind == "money":
        return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    if kind in ("integer", "id") and not isinstance(value, str):
        return int(value)
    if kind == "number":
        return round(float(value), FLOAT_DECIMALS)
    if kind == "boolean":
        return bool(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(raw: Mapping[str, Any], dims: Sequence[CompiledDimension],
         measures: Sequence[CompiledMeasure]) -> dict[str, Any]:
    out = {d.key: normalise(raw[d.key], d.kind) for d in dims}
    for m in measures:
        value = normalise(raw[m.key], m.kind)
        if value is None and m.spec.agg in ("count", "distinct_count"):
            value = 0
        out[m.key] = value
    return out


def columns_of(report: CompiledReport, query: ReportQuery,
               lang: Lang = "zh") -> list[dict[str, Any]]:
    cols: list[dict[str, Any]] = [
        {"key": d.key, "label": text_of(d.spec.label, lang) or d.key, "role": "dimension",
         "kind": d.kind, "field": d.spec.field, "bucket": d.spec.bucket}
        for d in query.dimensions]
    cols += [{"key": m.key, "label": text_of(m.spec.label, lang) or m.key, "role": "measure",
              "kind": m.kind, "format": m.spec.format or _default_format(m.kind)}
             for m in query.measures]
    return cols


def _default_format(kind: str) -> str:
    return kind if kind in ("money", "integer") else "number"


def shape_result(report: CompiledReport, query: ReportQuery, raw_rows: Sequence[Mapping[str, Any]],
                 *, chart: ChartSpec | None = None, lang: Lang = "zh") -> ReportResult:
    dims, measures = query.dimensions, query.measures
    detail: list[dict[str, Any]] = []
    subtotals: list[dict[str, Any]] = []
    total: dict[str, Any] | None = None
    for raw in raw_rows:
        row = _row(raw, dims, measures)
        level = raw[LEVEL] if query.with_levels else 0
        if level == 0:
            detail.append(row)
        elif level == 1:
            subtotals.append(row)
        else:
            total = row
    truncated = False
    if query.row_limit is not None and len(detail) > query.row_limit:
        detail, truncated = detail[:query.row_limit], True
    chart_spec = chart or report.spec.chart
    cols = columns_of(report, query, lang)
    drawn = draw_chart(report, query, chart_spec, rows=detail, subtotals=subtotals,
                       total=total, cols=cols)
    drill = None
    if report.spec.drill:
        drill = {"path": list(report.spec.drill), "level": query.drill_level,
                 "values": list(query.drill_values), "can_drill": query.can_drill,
                 "field": report.spec.drill[query.drill_level]}
    return ReportResult(cols, detail, subtotals, total, drawn, drill, truncated,
                        list(query.skipped_filters))


def _x_and_series(query: ReportQuery, chart: ChartSpec) -> tuple[str | None, str | None]:
    keys = [d.key for d in query.dimensions]
    wanted_series = chart.series if chart.series in keys else None
    others = [k for k in keys if k != wanted_series] or keys
    x = chart.x if chart.x in keys else (others[0] if others else None)
    series = wanted_series if wanted_series != x else None
    return x, series


def draw_chart(report: CompiledReport, query: ReportQuery, chart: ChartSpec, *,
               rows: list[dict[str, Any]], subtotals: list[dict[str, Any]],
               total: dict[str, Any] | None, cols: list[dict[str, Any]]) -> dict[str, Any]:
    labels = {c["key"]: c["label"] for c in cols}
    y = [k for k in chart.y if k in labels] or [m.key for m in query.measures]
    x, series_key = _x_and_series(query, chart)
    kind = chart.type
    if kind in ("kpi", "gauge"):
        return _kpi(report, query, chart, rows=rows, total=total, measure=y[0], x=x)
    if kind == "table":
        return {"type": "table", "columns": cols}
    if kind == "pivot":
        index = [d.key for d in query.dimensions if d.key != series_key]
        first = query.dimensions[0].key if query.dimensions else None
        table = pivot_table(rows, index, series_key, y, subtotals=subtotals,
                            subtotal_key=first, total=total)
        return {"type": "pivot", **table}
    categories = _unique([r[x] for r in rows]) if x else [None]
    if kind in ("pie", "funnel"):
        m = y[0]
        return {"type": kind, "series": [{"name": labels[m], "type": kind, "data": [
            {"name": r[x] if x else labels[m], "value": _jsonable(r[m])} for r in rows]}]}
    echarts_type = {"stacked_bar": "bar", "area": "line"}.get(kind, kind)
    stacked = kind == "stacked_bar" or chart.stacked
    out_series: list[dict[str, Any]] = []
    groups = _unique([r[series_key] for r in rows]) if series_key else [None]
    for group in groups:
        for m in y:
            cells = {r[x] if x else None: r[m] for r in rows
                     if series_key is None or r[series_key] == group}
            name = labels[m] if series_key is None else (
                str(group) if len(y) == 1 else f"{group} · {labels[m]}")
            item: dict[str, Any] = {"name": name, "type": echarts_type, "measure": m,
                                    "data": [_jsonable(cells.get(c)) for c in categories]}
            if series_key is not None:
                item["group"] = group
            if stacked:
                item["stack"] = m
            if kind == "area":
                item["areaStyle"] = {}
            out_series.append(item)
    return {"type": kind, "x": x, "series_by": series_key, "categories": categories,
            "series": out_series}


def _kpi(report: CompiledReport, query: ReportQuery, chart: ChartSpec, *,
         rows: list[dict[str, Any]], total: dict[str, Any] | None, measure: str,
         x: str | None) -> dict[str, Any]:
    """A KPI's value and its change against the previous period: with a date-bucketed
    dimension the last bucket against the one before; otherwise the total."""
    timed = next((d for d in query.dimensions if d.key == x and d.spec.bucket), None)
    value = previous = None
    period = previous_period = None
    if timed is not None and rows:
        ordered = sorted((r for r in rows if r[timed.key] is not None),
                         key=lambda r: r[timed.key])
        if ordered:
            value, period = ordered[-1][measure], ordered[-1][timed.key]
        if len(ordered) > 1 and chart.compare == "previous_period":
            previous, previous_period = ordered[-2][measure], ordered[-2][timed.key]
    elif total is not None:
        value = total[measure]
    elif rows:
        value = rows[0][measure]
    change = change_ratio = None
    if value is not None and previous is not None:
        change = value - previous
        change_ratio = None if previous == 0 else round(float(change) / float(previous), 10)
    out: dict[str, Any] = {
        "type": chart.type, "measure": measure, "value": _jsonable(value),
        "previous": _jsonable(previous), "change": _jsonable(change),
        "change_ratio": change_ratio, "period": period, "previous_period": previous_period,
        "format": report.measure(measure).spec.format}
    if chart.type == "gauge":
        out["min"] = chart.min if chart.min is not None else 0
        out["max"] = chart.max if chart.max is not None else (
            1 if report.measure(measure).spec.format == "percent" else None)
    return out


def _unique(values: Sequence[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _jsonable(value: Any) -> Any:
    """Chart data are plotted numbers: money becomes a float there (rows keep the
    exact Decimal)."""
    return float(value) if isinstance(value, Decimal) else value
