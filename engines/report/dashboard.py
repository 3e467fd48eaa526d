"""Dashboards: widgets (reports) on a grid, global filters, drill-down and linkage.

- A **global filter** restricts every widget whose source form can reach its field
  (directly or through a joined relation); widgets that cannot are left alone and
  say so in `skipped_filters`, as Metabase does for unconnected cards.
- **Drill-down** is per widget: the clicked values of its report's drill path.
- **Linkage**: a click on a value of dimension `key` in widget `w` filters every
  *other* linked widget by the same field (and date bucket) — the click's widget
  keeps showing everything so the viewer can click another bar. "The same field"
  means the same form's field once the path is resolved: a click on tickets'
  `created_at` month does not filter a widget over customers.
- **One scan per form**: `plan` fuses the widgets that read the same form into one
  statement (`engines.report.fuse`); each widget keeps its own statement, which is
  what runs when it cannot be fused or the fused grain turns out too large.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table

from engines.common import both
from engines.report.compile import CompiledReport, check_chart_override
from engines.report.fields import Problem, ReportDefinitionError
from engines.report.fuse import FusedQuery, fusable, fuse
from engines.report.params import resolve_params
from engines.report.projection import narrow_or_records
from engines.report.query import (
    CallPlan,
    FieldFilter,
    QueryError,
    ReportQuery,
    Sources,
    build_query,
    plan_query,
    query_of,
    statement_of,
)
from engines.report.spec import ChartSpec, DashboardFilter, DashboardSpec, Widget
from engines.report.sqlbuild import Dialect


@dataclass(frozen=True, slots=True)
class CompiledWidget:
    id: str
    spec: Widget
    report: CompiledReport
    chart: ChartSpec


@dataclass(frozen=True, slots=True)
class Link:
    """A click in widget `widget` on value `value` of its dimension `key`."""

    widget: str
    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class WidgetQuery:
    widget: CompiledWidget
    query: ReportQuery


@dataclass(frozen=True)
class DashboardPlan:
    """A view's statements: `queries[i]` answers one widget; each fused statement
    answers the widgets numbered by its members' `index` (positions in `queries`)."""

    queries: tuple[WidgetQuery, ...]
    fused: tuple[FusedQuery, ...] = ()


@dataclass(frozen=True)
class CompiledDashboard:
    spec: DashboardSpec
    widgets: tuple[CompiledWidget, ...]

    @property
    def key(self) -> str:
        return self.spec.key

    def widget(self, widget_id: str) -> CompiledWidget:
        for w in self.widgets:
            if w.id == widget_id:
                return w
        raise QueryError("unknown_widget", f"仪表盘没有组件：{widget_id}",
                         f"the dashboard has no widget: {widget_id}")

    def forms(self) -> frozenset[str]:
        return frozenset().union(*(w.report.forms() for w in self.widgets))

    def queries(self, *, app: str, dialect: Dialect, table: Table, now: datetime,
                filters: Mapping[str, Any] | None = None,
                drill: Mapping[str, Sequence[Any]] | None = None,
                link: Link | None = None, row_limit: int | None = None) -> list[WidgetQuery]:
        """One statement per widget for this view of the dashboard."""
        return list(self.plan(app=app, dialect=dialect, table=table, now=now, filters=filters,
                              drill=drill, link=link, row_limit=row_limit).queries)

    def plan(self, *, app: str, dialect: Dialect, table: Table, now: datetime,
             filters: Mapping[str, Any] | None = None,
             drill: Mapping[str, Sequence[Any]] | None = None,
             link: Link | None = None, row_limit: int | None = None,
             only: Collection[str] | None = None, fuse_max_rows: int = 0) -> DashboardPlan:
        """The statements for this view: one per widget (of `only`, when given), and with
        `fuse_max_rows` the widgets over the same form fused into one scan
        (`engines.report.fuse`) — each keeping its own statement as the fallback."""
        outside = self.filter_values(filters or {})
        drill = drill or {}
        for wid in drill:
            self.widget(wid)
        link_filter: FieldFilter | None = None
        if link is not None:
            link_filter = self._link_filter(link, app=app, dialect=dialect, table=table,
                                            now=now, drill=drill.get(link.widget, ()))
        out: list[WidgetQuery] = []
        candidates: dict[str, list[tuple[int, CompiledWidget, dict[str, Any]]]] = {}
        for w in self.widgets:
            if only is not None and w.id not in only:
                continue
            extra = list(outside)
            if link_filter is not None and w.id != link.widget and w.spec.linked:  # type: ignore[union-attr]
                extra.append(link_filter)
            kpi = w.chart.type in ("kpi", "gauge")
            call: dict[str, Any] = dict(
                app=app, dialect=dialect, table=table, now=now,
                params=resolve_params(w.report, w.spec.params, now=now),
                drill=drill.get(w.id, ()), filters=extra, row_limit=row_limit,
                totals=True if kpi else None)
            plain = plan_query(w.report, **call)
            out.append(WidgetQuery(w, query_of(plain, statement_of(plain))))
            if fuse_max_rows and fusable(plain):
                candidates.setdefault(w.report.source, []).append((len(out) - 1, w, call))
        fused: list[FusedQuery] = []
        for group in candidates.values():
            if len(group) < 2:
                continue
            calls = _shared_plans(group, out, app=app, table=table, dialect=dialect)
            fused.append(fuse(calls, max_rows=fuse_max_rows))
        return DashboardPlan(tuple(out), tuple(fused))

    def filter_values(self, values: Mapping[str, Any]) -> list[FieldFilter]:
        known = {f.key: f for f in self.spec.filters}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise QueryError("unknown_filter", f"仪表盘没有筛选：{', '.join(unknown)}",
                             f"the dashboard has no filter: {', '.join(unknown)}")
        out = []
        for key, spec in known.items():
            value = values.get(key, spec.default)
            if value is None or value in ([], ""):
                continue
            out.append(_global_filter(spec, value))
        return out

    def _link_filter(self, link: Link, *, app: str, dialect: Dialect, table: Table,
                     now: datetime, drill: Sequence[Any]) -> FieldFilter:
        source = self.widget(link.widget)
        params = resolve_params(source.report, source.spec.params, now=now)
        query = build_query(source.report, app=app, dialect=dialect, table=table,
                            params=params, now=now, drill=drill)
        dim = next((d for d in query.dimensions if d.key == link.key), None)
        if dim is None or dim.spec.field is None:
            raise QueryError("bad_link", f"组件 {link.widget} 不能按 {link.key} 联动",
                             f"widget {link.widget} cannot link on {link.key}")
        field = source.report.resolve(dim.spec.field)
        return FieldFilter(dim.spec.field, link.value, bucket=dim.spec.bucket,
                           form=field.form if field else None)


def _shared_plans(group: Sequence[tuple[int, CompiledWidget, dict[str, Any]]],
                  queries: Sequence[WidgetQuery], *, app: str, table: Table,
                  dialect: Dialect) -> list[tuple[int, CallPlan, ReportQuery]]:
    """The plans of widgets over one form, sharing one FROM clause (to be fused):
    joined through the projection, or from the records when a widget reads past it."""
    def plans(narrow: bool) -> list[tuple[int, CallPlan, ReportQuery]]:
        shared = Sources(group[0][1].report, app, table, dialect, narrow=narrow)
        return [(i, plan_query(w.report, **call, sources=shared), queries[i].query)
                for i, w, call in group]
    return narrow_or_records(plans)


def _global_filter(spec: DashboardFilter, value: Any) -> FieldFilter:
    if spec.type == "date_range":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise QueryError("bad_filter_value", f"日期范围需要两个值：{spec.key}",
                             f"a date range takes two values: {spec.key}")
        return FieldFilter(spec.field, (value[0], value[1]), op="range", bucket=spec.bucket)
    if isinstance(value, list | tuple):
        return FieldFilter(spec.field, list(value), op="in", bucket=spec.bucket)
    return FieldFilter(spec.field, value, bucket=spec.bucket)


def compile_dashboard(spec: DashboardSpec,
                      reports: Mapping[str, CompiledReport]) -> CompiledDashboard:
    """Check the dashboard against its (compiled) reports; raises ReportDefinitionError with
    every problem."""
    problems: list[Problem] = []
    widgets: list[CompiledWidget] = []
    for i, (wid, w) in enumerate(zip(spec.widget_ids(), spec.widgets, strict=True)):
        report = reports.get(w.report)
        if report is None:
            problems.append(Problem(f"widgets[{i}].report", "unknown_report", both(
                f"报表不存在：{w.report}", f"report not found: {w.report}")))
            continue
        chart = report.spec.chart
        if w.chart is not None:
            problems += check_chart_override(report, w.chart, f"widgets[{i}].chart")
            chart = w.chart.apply(chart)
        known = {p.key for p in report.spec.params}
        for name in sorted(set(w.params) - known):
            problems.append(Problem(f"widgets[{i}].params.{name}", "unknown_param", both(
                f"报表 {w.report} 没有参数 {name}", f"report {w.report} has no parameter {name}")))
        widgets.append(CompiledWidget(wid, w, report, chart))
    for i, f in enumerate(spec.filters):
        if widgets and not any(w.report.resolve(f.field) for w in widgets):
            problems.append(Problem(f"filters[{i}].field", "filter_reaches_no_widget", both(
                f"没有组件的数据源包含字段 {f.field}",
                f"no widget's source has the field {f.field}")))
    if problems:
        raise ReportDefinitionError(problems)
    return CompiledDashboard(spec, tuple(widgets))
