"""Run reports and dashboards: build the statement (engine), execute it with limits,
shape the result (engine), cache it.

Functions take a SQLAlchemy `Connection` and compiled definitions and never commit:
the caller (the request, a job) owns the transaction. Engine errors become domain
errors here: a bad parameter, filter or drill is a 422 with its code.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Connection
from sqlalchemy.sql import Executable

from engines.common import Lang
from engines.expr import ExprError
from engines.report.compile import CompiledReport
from engines.report.dashboard import CompiledDashboard, DashboardPlan, Link
from engines.report.params import resolve_params
from engines.report.query import FieldFilter, QueryError, ReportQuery, build_query
from engines.report.shape import ReportResult, shape_result
from engines.report.spec import ChartSpec
from engines.report.sqlbuild import Dialect
from runtime.errors import ValidationFailed
from runtime.reports.cache import ReportCache, call_key
from runtime.reports.limits import Limits, TooManyRowsError, execute
from runtime.reports.parallel import run_statements
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
    rows = execute(conn, query.statement, limits.timeout_ms, hash_mem_mb=limits.hash_mem_mb,
                   sort_mem_mb=limits.sort_mem_mb, random_page_cost=limits.random_page_cost)
    return _shape(report, query, rows, chart=chart, lang=lang, limits=limits)


def _shape(report: CompiledReport, query: ReportQuery, rows: Sequence[Mapping[str, Any]], *,
           chart: ChartSpec | None, lang: Lang, limits: Limits) -> ReportResult:
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
    """Every widget's data for one view: global filters, per-widget drill, linkage.

    Widgets missing from the cache are planned together. On PostgreSQL those over the
    same form are fused into one scan (`engines.report.fuse`) and the statements left
    run at the same time on connections of their own (`Limits.parallel_statements`).
    SQLite runs one statement per widget: each report reads its own covering index
    (`runtime.store.indexes.report_index`), and a fused scan would parse every record's
    JSON instead — the six-widget dashboard of bench/reports.py over a million records
    took 5.8-7.2 s fused against 1.7 s for the widgets one after the other."""
    limits = limits or Limits()
    keys: dict[str, Any] = {}
    results: dict[str, ReportResult] = {}
    for w in dashboard.widgets:
        keys[w.id] = (app, f"{dashboard.key}/{w.id}", version, call_key(
            filters=dict(filters or {}), drill=list((drill or {}).get(w.id, ())),
            link=repr(link) if link and link.widget != w.id and w.spec.linked else None,
            lang=lang, rows=limits.row_limit, day=now.date().isoformat()))
        hit = cache.get(keys[w.id], app, w.report.forms()) if cache is not None else None
        if hit is not None:
            results[w.id] = cast(ReportResult, hit)
    missing = [w.id for w in dashboard.widgets if w.id not in results]
    if missing:
        try:
            plan = dashboard.plan(app=app, dialect=_dialect(conn), table=records, now=now,
                                  filters=filters, drill=drill, link=link,
                                  row_limit=limits.row_limit, only=set(missing),
                                  fuse_max_rows=limits.fuse_max_rows
                                  if conn.dialect.name == "postgresql" else 0)
        except QueryError as exc:
            raise bad_call(exc) from exc
        except ExprError as exc:
            raise ValidationFailed(f"报表表达式无法执行：{exc.message['zh']}",
                                   f"a report expression cannot run: {exc.message['en']}",
                                   code=exc.code) from exc
        fetched = _widget_rows(conn, plan, limits, app, dashboard.key)
        for wq, rows in zip(plan.queries, fetched, strict=True):
            w = wq.widget
            result = _shape(w.report, wq.query, rows, chart=w.chart, lang=lang, limits=limits)
            if cache is not None:
                cache.put(keys[w.id], app, w.report.forms(), result)
            results[w.id] = result
    out = [WidgetResult(w.id, w.report.key, w.spec.title or w.report.spec.name,
                        {"x": w.spec.x, "y": w.spec.y, "w": w.spec.w, "h": w.spec.h},
                        results[w.id]) for w in dashboard.widgets]
    spec = dashboard.spec
    return DashboardResult(spec.key, spec.name, [f.model_dump() for f in spec.filters], out)


def _widget_rows(conn: Connection, plan: DashboardPlan, limits: Limits,
                 app: str, dashboard: str) -> list[Sequence[Mapping[str, Any]]]:
    """Each planned widget's result rows: the fused statements and the other widgets'
    own statements together, then the own statements of the members of any fused
    grain that outgrew its cap."""
    in_fused = {m.index for f in plan.fused for m in f.members}
    alone = [i for i in range(len(plan.queries)) if i not in in_fused]

    def key(*indexes: int) -> tuple[str, str, tuple[str, ...]]:
        return app, dashboard, tuple(plan.queries[i].widget.id for i in indexes)

    fetched = _execute_all(
        conn, [*(f.statement for f in plan.fused),
               *(plan.queries[i].query.statement for i in alone)], limits,
        [*(key(*(m.index for m in f.members)) for f in plan.fused),
         *(key(i) for i in alone)])
    rows: dict[int, Sequence[Mapping[str, Any]]] = dict(
        zip(alone, fetched[len(plan.fused):], strict=True))
    for fused, got in zip(plan.fused, fetched, strict=False):
        split = fused.split(got)
        if split is not None:
            rows.update(split)
    rest = [i for i in range(len(plan.queries)) if i not in rows]
    rows.update(zip(rest, _execute_all(
        conn, [plan.queries[i].query.statement for i in rest], limits,
        [key(i) for i in rest]), strict=True))
    return [rows[i] for i in range(len(plan.queries))]


def _execute_all(conn: Connection, statements: Sequence[Executable], limits: Limits,
                 keys: Sequence[Hashable]) -> list[Sequence[Mapping[str, Any]]]:
    """Run statements, at the same time on PostgreSQL, longest first
    (`runtime.reports.parallel`)."""
    # more statements than the connections running them at once: every connection (and
    # so CPU) stays busy, and parallel workers would only take turns with the other
    # statements (limits.py)
    busy = 1 < limits.parallel_statements < len(statements)
    workers = 0 if busy else None

    def run(c: Connection, statement: Executable) -> Sequence[Mapping[str, Any]]:
        return execute(c, statement, limits.timeout_ms, hash_mem_mb=limits.hash_mem_mb,
                       sort_mem_mb=limits.sort_mem_mb, random_page_cost=limits.random_page_cost,
                       parallel_workers=workers)

    return run_statements(conn, statements, workers=limits.parallel_statements, run=run,
                          keys=keys)


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
