"""Every report shipped in the credit CRM template runs on both databases (its SQL is
valid there), and its dashboards load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reports_fixtures import NOW
from sqlalchemy import Engine

from engines.form.compile import compile_form
from engines.form.spec import FormSpec
from engines.report.compile import compile_report
from engines.report.dashboard import compile_dashboard
from engines.report.expressions import default_backend
from engines.report.fields import catalog_entry
from engines.report.spec import DashboardSpec, ReportSpec
from runtime.reports.service import run_dashboard, run_report

BUNDLE = Path(__file__).resolve().parents[3] / "examples" / "credit_crm"


def _load(kind: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((BUNDLE / kind).glob("*.json"))]


def test_template_reports_run(report_db: Engine) -> None:
    forms = {d["key"]: FormSpec.model_validate(d) for d in _load("forms")}
    catalog = {k: catalog_entry(compile_form(s, forms=forms).plans) for k, s in forms.items()}
    reports = {}
    for doc in _load("reports"):
        report = compile_report(ReportSpec.model_validate(doc), catalog,
                                backend=default_backend())
        reports[report.key] = report
    with report_db.connect() as conn:
        for report in reports.values():
            result = run_report(conn, report, app="credit_crm", version=1, now=NOW)
            assert result.columns, report.key
        for doc in _load("dashboards"):
            board = compile_dashboard(DashboardSpec.model_validate(doc), reports)
            shown = run_dashboard(conn, board, app="credit_crm", version=1, now=NOW)
            assert len(shown.widgets) == len(board.widgets)
