"""Compile a bundle's reports and dashboards the way the runtime will, so the template's
reports are checked now (`loom app validate` does not run the report engine yet).

The `FormCatalog` is derived from the form specs: formula fields report their declared
result type, lookups the type of the field they copy.
"""

from __future__ import annotations

from typing import Any

from builder.bundle import Bundle
from engines.report.compile import CompiledReport, compile_report
from engines.report.dashboard import CompiledDashboard, compile_dashboard
from engines.report.expressions import default_backend
from engines.report.fields import FieldInfo, FormCatalog


def _info(forms: dict[str, Any], form: str, field: Any, depth: int = 0) -> FieldInfo:
    ftype = field.type
    if ftype == "relation":
        return FieldInfo("relation", field.form)
    if ftype == "formula":
        return FieldInfo(field.result or "text")
    if ftype == "lookup" and depth < 5:
        through = forms[form].field(field.through)
        target_form = through.form
        target = forms[target_form].field(field.field)
        return _info(forms, target_form, target, depth + 1)
    return FieldInfo(ftype)


def catalog(bundle: Bundle) -> FormCatalog:
    forms = dict(bundle.of("forms"))
    return {key: {f.key: _info(forms, key, f) for f in spec.fields}  # type: ignore[attr-defined]
            for key, spec in forms.items()}


def compile_reports(bundle: Bundle) -> dict[str, CompiledReport]:
    cat = catalog(bundle)
    backend = default_backend()
    return {key: compile_report(spec, cat, backend=backend)  # type: ignore[arg-type]
            for key, spec in bundle.of("reports").items()}


def compile_dashboards(bundle: Bundle) -> dict[str, CompiledDashboard]:
    reports = compile_reports(bundle)
    return {key: compile_dashboard(spec, reports)  # type: ignore[arg-type]
            for key, spec in bundle.of("dashboards").items()}
