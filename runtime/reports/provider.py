"""Compiled reports and dashboards of an app's current version, for the report router.

Compiled once per (app, version) and kept on the `CompiledApp`, like compiled forms:
the catalog of field kinds comes from the compiled forms of the same version.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, select

from engines.report.compile import CompiledReport, compile_report
from engines.report.dashboard import CompiledDashboard, compile_dashboard
from engines.report.expressions import default_backend
from engines.report.fields import catalog_entry
from engines.report.projection import Projection, projected_fields
from engines.report.spec import DashboardSpec, ReportSpec
from runtime.apps.registry import CompiledApp
from runtime.context import Context
from runtime.errors import not_found
from runtime.store import projections
from runtime.store.tables import apps, record_projections


def catalog(capp: CompiledApp) -> dict[str, Any]:
    return {key: catalog_entry(capp.form(key).plans) for key in capp.forms}


def compiled_report(capp: CompiledApp, key: str, tz: Any, *,
                    narrow: bool = False) -> CompiledReport:
    """The report; `narrow`: joining the app version's projection (PostgreSQL, once
    `runtime.store.projections` has built it for this version)."""
    def build() -> CompiledReport:
        spec = capp.bundle.of("reports").get(key)
        if spec is None:
            raise not_found("报表", "Report", f"{capp.key}/{key}")
        return compile_report(cast(ReportSpec, spec), capp.memo("report_catalog",
                                                                 lambda: catalog(capp)),
                              backend=default_backend(), tz=tz)

    def with_projection() -> CompiledReport:
        projection: Projection = capp.memo("projection", lambda: Projection(
            record_projections, projected_fields_of(capp, tz)))
        return replace(compiled_report(capp, key, tz), projection=projection)
    report: CompiledReport = (capp.memo(f"report_narrow:{key}", with_projection) if narrow
                              else capp.memo(f"report:{key}", build))
    return report


def projected_fields_of(capp: CompiledApp, tz: Any) -> dict[str, frozenset[str]]:
    """What the app version's reports read through relations, by related form: the
    fields `runtime.store.projections` copies (`engines.report.projection`)."""
    def build() -> dict[str, frozenset[str]]:
        reports = {key: compiled_report(capp, key, tz) for key in capp.bundle.of("reports")}
        boards = [cast(DashboardSpec, spec) for spec in capp.bundle.of("dashboards").values()]
        return projected_fields(reports.values(), [(board, reports) for board in boards])
    fields: dict[str, frozenset[str]] = capp.memo("projected_fields", build)
    return fields


def compiled_dashboard(capp: CompiledApp, key: str, tz: Any, *,
                       narrow: bool = False) -> CompiledDashboard:
    def build() -> CompiledDashboard:
        spec = capp.bundle.of("dashboards").get(key)
        if spec is None:
            raise not_found("仪表盘", "Dashboard", f"{capp.key}/{key}")
        board = cast(DashboardSpec, spec)
        reports = {w.report: compiled_report(capp, w.report, tz, narrow=narrow)
                   for w in board.widgets}
        return compile_dashboard(board, reports)
    dashboard: CompiledDashboard = capp.memo(
        f"dashboard{'_narrow' if narrow else ''}:{key}", build)
    return dashboard


def build_projection(conn: Connection, capp: CompiledApp, tz: Any, now: datetime) -> None:
    """Fill the copies the version's reports join (PostgreSQL): on publish, and at start
    for an app whose copies were built for another version or never."""
    projections.rebuild(conn, app=capp.key, version=capp.version,
                        fields=projected_fields_of(capp, tz), now=now)


def ensure_projections(ctx: Context) -> list[str]:
    """Build the copies of every app whose copies do not belong to its current version
    (a database just upgraded to them); the apps built."""
    if ctx.engine.dialect.name != "postgresql":
        return []
    built = []
    with ctx.engine.begin() as conn:
        for app in conn.execute(select(apps.c.key).where(
                apps.c.current_version.is_not(None))).scalars():
            capp = ctx.apps.current(conn, app)
            if projections.built_version(conn, app) != capp.version:
                build_projection(conn, capp, ctx.tz, ctx.clock.now())
                built.append(app)
    return built


def _projection_built(conn: Connection, capp: CompiledApp) -> bool:
    """Whether the copies in the database were built for this very version (checked
    once per version and process): a database upgraded to the projections' migration
    holds none until the app is next published or the platform next starts
    (`runtime.bootstrap`), and until then its reports read the records themselves."""
    if conn.dialect.name != "postgresql":
        return False
    built: bool = capp.memo("projection_built", lambda: projections.built_version(
        conn, capp.key) == capp.version)
    return built


class AppReports:
    """`runtime.reports.api.ReportProvider` over the app registry."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def report(self, conn: Connection, app: str, key: str) -> tuple[CompiledReport, int]:
        capp = self.ctx.apps.current(conn, app)
        return (compiled_report(capp, key, self.ctx.tz,
                                narrow=_projection_built(conn, capp)), capp.version)

    def dashboard(self, conn: Connection, app: str,
                  key: str) -> tuple[CompiledDashboard, int]:
        capp = self.ctx.apps.current(conn, app)
        return (compiled_dashboard(capp, key, self.ctx.tz,
                                   narrow=_projection_built(conn, capp)), capp.version)
