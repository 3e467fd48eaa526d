"""The reports and dashboards shipped in bundles compile against their forms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engines.form.compile import compile_form
from engines.form.spec import FormSpec
from engines.report.compile import compile_report
from engines.report.dashboard import compile_dashboard
from engines.report.expressions import default_backend
from engines.report.fields import catalog_entry
from engines.report.spec import DashboardSpec, ReportSpec

ROOT = Path(__file__).resolve().parents[3]
BUNDLES = [ROOT / "examples" / "credit_crm",
           ROOT / "tests" / "fixtures" / "bundles" / "service_desk"]


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.name)
def test_bundle_reports_and_dashboards_compile(bundle: Path) -> None:
    def load(kind: str) -> list[dict[str, object]]:
        return [json.loads(p.read_text(encoding="utf-8"))
                for p in sorted((bundle / kind).glob("*.json"))]

    forms = {d["key"]: FormSpec.model_validate(d) for d in load("forms")}
    catalog = {k: catalog_entry(compile_form(s, forms=forms).plans) for k, s in forms.items()}
    reports = {}
    for doc in load("reports"):
        report = compile_report(ReportSpec.model_validate(doc), catalog,
                                backend=default_backend())
        reports[report.key] = report
    boards = [compile_dashboard(DashboardSpec.model_validate(d), reports)
              for d in load("dashboards")]
    assert reports and boards
