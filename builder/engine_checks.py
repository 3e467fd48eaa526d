"""Each engine's compile step, run over a bundle, its errors as located Problems.

Forms first (expressions, formula cycles, settings), then flows (graph, conditions),
rules (conditions, fields, cycles between rules) and reports (fields, measures). The
builder only adapts each engine's own issues to `Problem`; the checking lives with the
engines, so the API, the CLI and the designer refuse exactly the same definitions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from builder.bundle import Bundle
from builder.problems import Problem


def _forms(bundle: Bundle) -> dict[str, Any]:
    return dict(bundle.of("forms"))


@dataclass(frozen=True)
class CompiledForms:
    """Every form of the bundle compiled once per check: flows take their scopes and
    reports their field kinds from here instead of compiling the forms again."""

    compiled: dict[str, Any]  # key → CompiledForm, for the forms that compile
    issues: dict[str, list[Any]]  # key → DefinitionIssue, for the forms that do not

    @classmethod
    def of(cls, bundle: Bundle) -> CompiledForms:
        from engines.form.compile import compile_form
        from engines.form.issues import FormDefinitionError

        forms = _forms(bundle)
        compiled: dict[str, Any] = {}
        issues: dict[str, list[Any]] = {}
        for key, spec in forms.items():
            try:
                compiled[key] = compile_form(spec, forms=forms)
            except FormDefinitionError as err:
                issues[key] = list(err.issues)
        return cls(compiled, issues)


def check_forms(bundle: Bundle, forms: CompiledForms) -> Iterator[Problem]:
    for key, issues in forms.issues.items():
        for issue in issues:
            yield Problem(f"forms/{key}.json", issue.path, issue.code, dict(issue.message))


def check_flows(bundle: Bundle, forms: CompiledForms) -> Iterator[Problem]:
    from engines.flow.compile import validate_flow
    from engines.flow.conditions import expr_conditions

    for key, spec in bundle.of("flows").items():
        form = forms.compiled.get(getattr(spec, "form", ""))
        if form is None:
            continue  # unknown form (cross-reference check) or its own problems (forms)
        for issue in validate_flow(cast(Any, spec), expr_conditions(form.scope)):
            path = issue.path or (f"nodes[{issue.node}]" if issue.node else "")
            yield Problem(f"flows/{key}.json", path, issue.code, dict(issue.message))


def check_rules(bundle: Bundle, forms: CompiledForms) -> Iterator[Problem]:
    from engines.rule.compile import compile_rules
    from engines.rule.problems import RuleInvalidError

    rules = list(bundle.of("rules").values())
    if not rules:
        return
    try:
        compile_rules(cast(Any, rules), _forms(bundle), flows=set(bundle.of("flows")))
    except RuleInvalidError as err:
        for p in err.problems:
            yield Problem(p.file, p.path, p.code, dict(p.message))


def check_reports(bundle: Bundle, forms: CompiledForms) -> Iterator[Problem]:
    """Reports against the forms' field kinds, then dashboards against the reports."""
    from engines.report.compile import compile_report
    from engines.report.dashboard import compile_dashboard
    from engines.report.expressions import default_backend
    from engines.report.fields import ReportDefinitionError, catalog_entry

    if not bundle.of("reports") and not bundle.of("dashboards"):
        return
    if forms.issues:
        return  # the forms' own problems come first (check_forms)
    catalog = {k: catalog_entry(f.plans) for k, f in forms.compiled.items()}
    compiled = {}
    for key, spec in bundle.of("reports").items():
        try:
            compiled[key] = compile_report(cast(Any, spec), catalog, backend=default_backend())
        except ReportDefinitionError as err:
            for p in err.problems:
                yield Problem(f"reports/{key}.json", p.path, p.code, dict(p.message))
    for key, spec in bundle.of("dashboards").items():
        if any(w.report not in compiled for w in cast(Any, spec).widgets):
            continue  # the report's own problems are reported above
        try:
            compile_dashboard(cast(Any, spec), compiled)
        except ReportDefinitionError as err:
            for p in err.problems:
                yield Problem(f"dashboards/{key}.json", p.path, p.code, dict(p.message))


ENGINE_CHECKS: list[Callable[[Bundle, CompiledForms], Iterator[Problem]]] = [
    check_forms, check_flows, check_rules, check_reports]
