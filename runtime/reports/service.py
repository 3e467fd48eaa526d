"""Run reports and dashboards: build the statement (engine), execute it with limits,
shape the result (engine), cache it.

Functions take a SQLAlchemy `Connection` and compiled definitions and never commit:
the caller (the request, a job) owns the transaction. Engine errors become domain
errors here: a bad parameter, filter or drill is a 422 with its code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Connection

from engines.common import Lang
from engines.expr import ExprError
from engines.report.compile import CompiledReport
from engines.report.dashboard import CompiledDashboard, Link
from engines.report.params import resolve_params
from engines.report.query import FieldFilter, QueryError, ReportQuery, build_query
from engines.report.shape import ReportResult, shape_result
from engines.report.spec import ChartSpec
from engines.report.sqlbuild import Dialect
from runtime.errors import ValidationFailed
from runtime.reports.cache import ReportCache, call_key
from runtime.reports.limits import Limits, TooManyRowsError, execute
from runtime.store.tables import records


@dataclass(frozen=True)
class WidgetResult:
    id: str
    report: str
    title: Any
    layout: dict[str, int]
    result: ReportResult


@dataclass(frozen=True)
class DashboardResult:
    key: str
    name: Any
    filters: list[dict[str, Any]]
    widgets: list[WidgetResult] = field(default_factory=list)


def bad_call(exc: QueryError) -> ValidationFailed:
    return ValidationFailed(exc.message["zh"], exc.message["en"], code=exc.code)


def _dialect(conn: Connection) -> Dialect:
    return "postgresql" if conn.dialect.name == "postgresql" else "sqlite"


def _run_query(conn: Connection, report: CompiledReport, query: ReportQuery, *,
               chart: ChartSpec | None, lang: Lang, limits: Limits) -> ReportResult:
    rows = execute(conn, query.statement, limits.timeout_ms)
    result = shape_result(report, query, rows, chart=chart, lang=lang)
    if result.truncated:
        raise TooManyRowsError(
            f"报表结果超过 {limits.row_limit} 行，请增加筛选条件或减少维度",
            f"the report has more than {limits.row_limit} rows; add filters or remove "
            "a dimension")
    return result


def run_report(conn: Connection, report: CompiledReport, *, app: str, version: int,
               now: datetime, params: Mapping[str, Any] | None = None,
               drill: Sequence[Any] = (), filters: Sequence[FieldFilter] = (),
               chart: ChartSpec | None = None, lang: Lang = "zh",
               limits: Limits | None = None, cache: ReportCache | None = None) -> ReportResult:
    """One report call; cached per (app, report, version, call) when `cache` is given."""
    limits = limits or Limits()
    key = (app, report.key, version, call_key(
        params=dict(params or {}), drill=list(drill), filters=[repr(f) for f in filters],
        chart=chart.model_dump() if chart else None, lang=lang, rows=limits.row_limit,
        day=now.date().isoformat()))
    forms = report.forms()
    if cache is not None:
        hit = cache.get(key, app, forms)
        if hit is not None:
            return cast(ReportResult, hit)
    try:
        values = resolve_params(report, params or {}, now=now)
        kpi = (chart or report.spec.chart).type in ("kpi", "gauge")
        query = build_query(report, app=app, dialect=_dialect(conn), table=records,
                            params=values, now=now, drill=drill, filters=filters,
                            row_limit=limits.row_limit, totals=True if kpi else None)
    except QueryError as exc:
        raise bad_call(exc) from exc
    except ExprError as exc:  # a definition compiled before a stricter check existed
        raise ValidationFailed(f"报表表达式无法执行：{exc.message['zh']}",
                               f"a report expression cannot run: {exc.message['en']}",
                               code=exc.code) from exc
    result = _run_query(conn, report, query, chart=chart, lang=lang, limits=limits)
    if cache is not None:
        cache.put(key, app, forms, result)
    return result


def run_dashboard(conn: Connection, dashboard: CompiledDashboard, *, app: str, version: int,
                  now: datetime, filters: Mapping[str, Any] | None = None,
                  drill: Mapping[str, Sequence[Any]] | None = None, link: Link | None = None,
                  lang: Lang = "zh", limits: Limits | None = None,
                  cache: ReportCache | None = None) -> DashboardResult:
    """Every widget's data for one view: global filters, per-widget drill, linkage."""
    limits = limits or Limits()
    try:
        queries = dashboard.queries(app=app, dialect=_dialect(conn), table=records, now=now,
                                    filters=filters, drill=drill, link=link,
                                    row_limit=limits.row_limit)
    except QueryError as exc:
        raise bad_call(exc) from exc
    except ExprError as exc:
        raise ValidationFailed(f"报表表达式无法执行：{exc.message['zh']}",
                               f"a report expression cannot run: {exc.message['en']}",
                               code=exc.code) from exc
    out: list[WidgetResult] = []
    for wq in queries:
        w = wq.widget
        key = (app, f"{dashboard.key}/{w.id}", version, call_key(
            filters=dict(filters or {}), drill=list((drill or {}).get(w.id, ())),
            link=repr(link) if link and link.widget != w.id and w.spec.linked else None,
            lang=lang, rows=limits.row_limit, day=now.date().isoformat()))
        forms = w.report.forms()
        result = cast(ReportResult | None, cache.get(key, app, forms) if cache else None)
        if result is None:
            result = _run_query(conn, w.report, wq.query, chart=w.chart, lang=lang,
                                limits=limits)
            if cache is not None:
                cache.put(key, app, forms, result)
        layout = {"x": w.spec.x, "y": w.spec.y, "w": w.spec.w, "h": w.spec.h}
        out.append(WidgetResult(w.id, w.report.key, w.spec.title or w.report.spec.name,
                                layout, result))
    spec = dashboard.spec
    return DashboardResult(spec.key, spec.name, [f.model_dump() for f in spec.filters], out)


def jsonable(value: Any) -> Any:
    """Results as JSON: money (Decimal) as a decimal string, as the API returns it."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def result_json(result: ReportResult) -> dict[str, Any]:
    out: dict[str, Any] = jsonable({
        "columns": result.columns, "rows": result.rows, "subtotals": result.subtotals,
        "total": result.total, "chart": result.chart, "drill": result.drill,
        "skipped_filters": result.skipped_filters})
    return out


def dashboard_json(result: DashboardResult, lang: Lang = "zh") -> dict[str, Any]:
    from engines.common import text_of

    return {"key": result.key, "name": text_of(result.name, lang), "filters": result.filters,
            "widgets": [{"id": w.id, "report": w.report, "title": text_of(w.title, lang),
                         "layout": w.layout, "data": result_json(w.result)}
                        for w in result.widgets]}
