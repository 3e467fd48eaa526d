"""Reports and dashboards over HTTP (mounted under /api/v1 by the app factory).

- `GET /apps/{app}/reports/{report}/data?params=&drill=&filters=&chart=`
- `GET /apps/{app}/reports/{report}/export?format=xlsx|csv` (same query)
- `GET /apps/{app}/dashboards/{key}?filters=&drill=&link=`

Query values are JSON: `params={"since":"2026-01-01"}`, `drill=["华东"]`,
`filters=[{"field":"customer.region","value":"华东"}]`; for dashboards
`filters={"region":"华东"}`, `drill={"w0":["华东"]}`,
`link={"widget":"w0","key":"month","value":"2026-01"}`.

Where compiled definitions come from is the app's business: the router asks a
`ReportProvider` found at `request.app.state.report_provider` (or override the
`get_report_provider` dependency).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import Connection

from engines.common import Lang, text_of
from engines.report.compile import CompiledReport
from engines.report.dashboard import CompiledDashboard, Link
from engines.report.query import FieldFilter
from engines.report.spec import ChartType
from runtime.api.deps import CtxDep, LangDep, unit_of_work
from runtime.api.schemas import errors
from runtime.errors import ValidationFailed
from runtime.reports import export, service
from runtime.reports.cache import DEFAULT_CACHE, ReportCache
from runtime.reports.limits import Limits

router = APIRouter(tags=["reports"])


class ReportProvider(Protocol):
    """What the router needs from the app registry (the lead's code implements it)."""

    def report(self, conn: Connection, app: str, key: str) -> tuple[CompiledReport, int]:
        """The compiled report of the app's current version and that version's number;
        raises runtime.errors.NotFound for an unknown app or report."""
        ...

    def dashboard(self, conn: Connection, app: str, key: str) -> tuple[CompiledDashboard, int]:
        ...


def get_report_provider(request: Request) -> ReportProvider:
    provider: ReportProvider = request.app.state.report_provider
    return provider


def get_limits(request: Request) -> Limits:
    return getattr(request.app.state, "report_limits", None) or Limits()


def get_cache(request: Request) -> ReportCache:
    return getattr(request.app.state, "report_cache", None) or DEFAULT_CACHE


ProviderDep = Annotated[ReportProvider, Depends(get_report_provider)]
LimitsDep = Annotated[Limits, Depends(get_limits)]
CacheDep = Annotated[ReportCache, Depends(get_cache)]


class ReportData(BaseModel):
    columns: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    subtotals: list[dict[str, Any]]
    total: dict[str, Any] | None
    chart: dict[str, Any]
    drill: dict[str, Any] | None
    skipped_filters: list[str]


class WidgetData(BaseModel):
    id: str
    report: str
    title: str
    layout: dict[str, int]
    data: ReportData


class DashboardData(BaseModel):
    key: str
    name: str
    filters: list[dict[str, Any]]
    widgets: list[WidgetData]


def _json(name: str, text: str | None, kind: type) -> Any:
    if text is None or text == "":
        return kind()
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValidationFailed(f"参数 {name} 不是有效的 JSON", f"{name} is not valid JSON",
                               code="bad_query") from exc
    if not isinstance(value, kind):
        raise ValidationFailed(f"参数 {name} 应为 {kind.__name__}",
                               f"{name} must be a JSON {kind.__name__}", code="bad_query")
    return value


def _field_filters(text: str | None) -> list[FieldFilter]:
    out = []
    for item in _json("filters", text, list):
        if not isinstance(item, dict) or not isinstance(item.get("field"), str) or (
                set(item) - {"field", "value", "op", "bucket"}) or item.get("op", "eq") not in (
                "eq", "in", "range"):
            raise ValidationFailed("筛选应为 {field, value, op, bucket}",
                                   "a filter is {field, value, op, bucket}", code="bad_query")
        value = item.get("value")
        out.append(FieldFilter(item["field"], tuple(value) if isinstance(value, list) and
                               item.get("op") == "range" else value,
                               item.get("op", "eq"), item.get("bucket")))
    return out


ParamsQ = Annotated[str | None, Query(description='JSON object, e.g. {"since":"2026-01-01"}')]
DrillQ = Annotated[str | None, Query(description='JSON array of clicked values, e.g. ["华东"]')]
FiltersQ = Annotated[str | None, Query(
    description='JSON array of {"field","value","op":"eq|in|range","bucket"}')]
ChartQ = Annotated[ChartType | None, Query(description="draw as this chart type instead")]


def _run(conn: Connection, provider: ReportProvider, ctx: Any, *, app: str, report: str,
         params: str | None, drill: str | None, filters: str | None, chart: str | None,
         lang: Lang, limits: Limits, cache: ReportCache) -> tuple[CompiledReport, Any]:
    compiled, version = provider.report(conn, app, report)
    chart_spec = compiled.spec.chart.model_copy(update={"type": chart}) if chart else None
    result = service.run_report(
        conn, compiled, app=app, version=version, now=ctx.clock.now(),
        params=_json("params", params, dict), drill=_json("drill", drill, list),
        filters=_field_filters(filters), chart=chart_spec, lang=lang, limits=limits,
        cache=cache)
    return compiled, result


@router.get("/apps/{app}/reports/{report}/data", response_model=ReportData,
            responses=errors(404, 422, 503))
def report_data(app: str, report: str, *, ctx: CtxDep, lang: LangDep, provider: ProviderDep,
                limits: LimitsDep, cache: CacheDep, params: ParamsQ = None,
                drill: DrillQ = None, filters: FiltersQ = None,
                chart: ChartQ = None) -> dict[str, Any]:
    """A report's data: rows, subtotals, total, and the chart shaped for ECharts."""
    with unit_of_work(ctx) as conn:
        _, result = _run(conn, provider, ctx, app=app, report=report, params=params,
                         drill=drill, filters=filters, chart=chart, lang=_lang(lang),
                         limits=limits, cache=cache)
        return service.result_json(result)


@router.get("/apps/{app}/reports/{report}/export", response_class=Response,
            responses={**errors(404, 422, 503), 200: {"description": "The file", "content": {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                "text/csv": {}}}})
def report_export(app: str, report: str, *, ctx: CtxDep, lang: LangDep, provider: ProviderDep,
                  limits: LimitsDep, cache: CacheDep,
                  format: Literal["xlsx", "csv"] = "xlsx",
                  params: ParamsQ = None, drill: DrillQ = None,
                  filters: FiltersQ = None) -> Response:
    """The report as an XLSX workbook (formatted, with totals) or a CSV file."""
    with unit_of_work(ctx) as conn:
        compiled, result = _run(conn, provider, ctx, app=app, report=report, params=params,
                                drill=drill, filters=filters, chart=None, lang=_lang(lang),
                                limits=limits, cache=cache)
    title = text_of(compiled.spec.name, _lang(lang)) or compiled.key
    filename = f"{compiled.key}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "csv":
        return Response(export.to_csv(result, lang=_lang(lang)), headers=headers,
                        media_type="text/csv; charset=utf-8")
    return Response(export.to_xlsx(result, title=title, lang=_lang(lang)), headers=headers,
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.get("/apps/{app}/dashboards/{key}", response_model=DashboardData,
            responses=errors(404, 422, 503))
def dashboard_data(app: str, key: str, *, ctx: CtxDep, lang: LangDep, provider: ProviderDep,
                   limits: LimitsDep, cache: CacheDep,
                   filters: Annotated[str | None, Query(
                       description='JSON object of global filter values, e.g. {"region":"华东"}'
                   )] = None,
                   drill: Annotated[str | None, Query(
                       description='JSON object: widget id → clicked values'
                   )] = None,
                   link: Annotated[str | None, Query(
                       description='JSON {"widget","key","value"}: a click that filters the '
                                   'other widgets')] = None) -> dict[str, Any]:
    """Every widget's data, with global filters, drill-down and linkage applied."""
    link_doc = _json("link", link, dict)
    link_obj = None
    if link_doc:
        if set(link_doc) != {"widget", "key", "value"}:
            raise ValidationFailed("联动应为 {widget, key, value}",
                                   "link is {widget, key, value}", code="bad_query")
        link_obj = Link(str(link_doc["widget"]), str(link_doc["key"]), link_doc["value"])
    drill_doc = _json("drill", drill, dict)
    if not all(isinstance(v, list) for v in drill_doc.values()):
        raise ValidationFailed("下钻应为 组件 → 值列表", "drill maps a widget to a list of values",
                               code="bad_query")
    with unit_of_work(ctx) as conn:
        compiled, version = provider.dashboard(conn, app, key)
        result = service.run_dashboard(
            conn, compiled, app=app, version=version, now=ctx.clock.now(),
            filters=_json("filters", filters, dict), drill=drill_doc, link=link_obj,
            lang=_lang(lang), limits=limits, cache=cache)
        return service.dashboard_json(result, _lang(lang))


def _lang(lang: str) -> Lang:
    return "en" if lang == "en" else "zh"
