"""Compiled reports and dashboards of an app's current version, for the report router.

Compiled once per (app, version) and kept on the `CompiledApp`, like compiled forms:
the catalog of field kinds comes from the compiled forms of the same version.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from sqlalchemy import Connection

from engines.report.compile import CompiledReport, compile_report
from engines.report.dashboard import CompiledDashboard, compile_dashboard
from engines.report.expressions import default_backend
from engines.report.fields import catalog_entry
from engines.report.projection import Projection, projected_fields
from engines.report.spec import DashboardSpec, ReportSpec
from runtime.apps.registry import CompiledApp
from runtime.context import Context
from runtime.errors import not_found
from runtime.store.tables import record_projections


def catalog(capp: CompiledApp) -> dict[str, Any]:
    return {key: catalog_entry(capp.form(key).plans) for key in capp.forms}


def _plain_report(capp: CompiledApp, key: str, tz: Any) -> CompiledReport:
    def build() -> CompiledReport:
        spec = capp.bundle.of("reports").get(key)
        if spec is None:
            raise not_found("报表", "Report", f"{capp.key}/{key}")
        return compile_report(cast(ReportSpec, spec), capp.memo("report_catalog",
                                                                 lambda: catalog(capp)),
                              backend=default_backend(), tz=tz)
    report: CompiledReport = capp.memo(f"report_plain:{key}", build)
    return report


def projected_fields_of(capp: CompiledApp, tz: Any) -> dict[str, frozenset[str]]:
    """What the app version's reports read through relations, by related form: the
    fields `runtime.store.projections` copies (`engines.report.projection`)."""
    def build() -> dict[str, frozenset[str]]:
        reports = {key: _plain_report(capp, key, tz) for key in capp.bundle.of("reports")}
        boards = [cast(DashboardSpec, spec) for spec in capp.bundle.of("dashboards").values()]
        return projected_fields(reports.values(), [(board, reports) for board in boards])
    fields: dict[str, frozenset[str]] = capp.memo("projected_fields", build)
    return fields


def compiled_report(capp: CompiledApp, key: str, tz: Any) -> CompiledReport:
    """The report with the app version's projection (read on PostgreSQL only)."""
    def build() -> CompiledReport:
        projection: Projection = capp.memo("projection", lambda: Projection(
            record_projections, projected_fields_of(capp, tz)))
        return replace(_plain_report(capp, key, tz), projection=projection)
    report: CompiledReport = capp.memo(f"report:{key}", build)
    return report


def compiled_dashboard(capp: CompiledApp, key: str, tz: Any) -> CompiledDashboard:
    def build() -> CompiledDashboard:
        spec = capp.bundle.of("dashboards").get(key)
        if spec is None:
            raise not_found("仪表盘", "Dashboard", f"{capp.key}/{key}")
        board = cast(DashboardSpec, spec)
        reports = {w.report: compiled_report(capp, w.report, tz) for w in board.widgets}
        return compile_dashboard(board, reports)
    dashboard: CompiledDashboard = capp.memo(f"dashboard:{key}", build)
    return dashboard


class AppReports:
    """`runtime.reports.api.ReportProvider` over the app registry."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def report(self, conn: Connection, app: str, key: str) -> tuple[CompiledReport, int]:
        capp = self.ctx.apps.current(conn, app)
        return compiled_report(capp, key, self.ctx.tz), capp.version

    def dashboard(self, conn: Connection, app: str,
                  key: str) -> tuple[CompiledDashboard, int]:
        capp = self.ctx.apps.current(conn, app)
        return compiled_dashboard(capp, key, self.ctx.tz), capp.version
