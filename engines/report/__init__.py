"""The report engine: report and dashboard definitions → one SQL statement per widget
→ results shaped as rows, pivots and ECharts data.

    spec = ReportSpec.model_validate(json_doc)                  # shape only
    report = compile_report(spec, catalog, backend=default_backend())  # all problems at once
    params = resolve_params(report, {"since": "2026-01-01"}, now=now)
    query = build_query(report, app="crm", dialect="postgresql", table=records,
                        params=params, now=now, drill=["华东"], row_limit=10_000)
    result = shape_result(report, query, rows)                  # rows from the database

The engine builds statements and never executes them (runtime.reports does).
Names are imported lazily (PEP 562): the bundle loader imports `engines.report.spec`
to parse files and should not pay for SQLAlchemy statement building or pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "CompiledReport": "compile", "compile_report": "compile",
    "CompiledDashboard": "dashboard", "Link": "dashboard", "compile_dashboard": "dashboard",
    "ExprBackend": "expressions", "default_backend": "expressions",
    "FieldInfo": "fields", "FormCatalog": "fields", "Problem": "fields",
    "ReportDefinitionError": "fields",
    "resolve_params": "params",
    "FieldFilter": "query", "QueryError": "query", "ReportQuery": "query",
    "build_query": "query",
    "ReportResult": "shape", "shape_result": "shape",
    "DashboardSpec": "spec", "ReportSpec": "spec",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'engines.report' has no attribute {name!r}")
    return getattr(importlib.import_module(f"engines.report.{module}"), name)


__all__ = [
    "CompiledDashboard",
    "CompiledReport",
    "DashboardSpec",
    "ExprBackend",
    "FieldFilter",
    "FieldInfo",
    "FormCatalog",
    "Link",
    "Problem",
    "QueryError",
    "ReportDefinitionError",
    "ReportQuery",
    "ReportResult",
    "ReportSpec",
    "build_query",
    "compile_dashboard",
    "compile_report",
    "default_backend",
    "resolve_params",
    "shape_result",
]
