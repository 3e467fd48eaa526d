"""Checking a bundle as a whole: cross references between definitions, then each
engine's own compile step (expressions, graphs, formula cycles), every problem at once.

Each definition kind contributes a checker; a checker gets the whole bundle because
most mistakes are between files (a relation to a form that does not exist, a flow
bound to a missing form, a dashboard showing a missing report).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from builder.bundle import Bundle
from builder.kinds import SINGULAR
from builder.problems import Problem

Checker = Callable[[Bundle], Iterator[Problem]]


def _missing(file: str, path: str, kind: str, key: str) -> Problem:
    zh_kind = {"form": "表单", "flow": "流程", "rule": "规则", "report": "报表",
               "dashboard": "仪表盘", "field": "字段", "role": "角色"}.get(kind, kind)
    return Problem(file, path, f"unknown_{kind}", {
        "zh": f"引用了不存在的{zh_kind}：{key}", "en": f"Unknown {kind}: {key}"})


def check_menu(bundle: Bundle) -> Iterator[Problem]:
    for i, item in enumerate(bundle.app.menu):
        kind, key = item.target
        if key not in bundle.of(kind + "s"):
            yield _missing("app.json", f"menu[{i}].{kind}", kind, key)


def check_form_references(bundle: Bundle) -> Iterator[Problem]:
    forms = bundle.of("forms")
    for key, form in forms.items():
        file = f"forms/{key}.json"
        fields = {f.key: f for f in getattr(form, "fields", [])}
        for i, f in enumerate(getattr(form, "fields", [])):
            ftype = getattr(f, "type", None)
            if ftype == "relation" and getattr(f, "form", None) not in forms:
                yield _missing(file, f"fields[{i}].form", "form", str(getattr(f, "form", "")))
            if ftype == "lookup":
                through = fields.get(getattr(f, "through", ""))
                if through is None or getattr(through, "type", None) != "relation":
                    yield Problem(file, f"fields[{i}].through", "bad_lookup", {
                        "zh": "through 必须是本表单的关联字段",
                        "en": "`through` must name a relation field of this form"})
                    continue
                target = forms.get(getattr(through, "form", ""))
                target_keys = {g.key for g in getattr(target, "fields", [])}
                if target is not None and getattr(f, "field", None) not in target_keys:
                    yield _missing(file, f"fields[{i}].field", "field", str(f.field))


def check_bound_forms(bundle: Bundle) -> Iterator[Problem]:
    """flows and rules name a `form`; reports name a `source`."""
    forms = bundle.of("forms")
    for kind, attr in (("flows", "form"), ("rules", "form"), ("reports", "source")):
        for key, spec in bundle.of(kind).items():
            target = getattr(spec, attr, None)
            if target is not None and target not in forms:
                yield _missing(f"{kind}/{key}.json", attr, "form", str(target))


def check_dashboards(bundle: Bundle) -> Iterator[Problem]:
    reports = bundle.of("reports")
    for key, dash in bundle.of("dashboards").items():
        for i, w in enumerate(getattr(dash, "widgets", [])):
            report = getattr(w, "report", None)
            if report is not None and report not in reports:
                yield _missing(f"dashboards/{key}.json", f"widgets[{i}].report", "report",
                               str(report))


def check_seed_data(bundle: Bundle) -> Iterator[Problem]:
    for form in bundle.data:
        if form not in bundle.of("forms"):
            yield _missing(f"data/{form}.json", "", "form", form)


CROSS_CHECKS: list[Checker] = [check_menu, check_form_references, check_bound_forms,
                               check_dashboards, check_seed_data]


def check_bundle(bundle: Bundle) -> list[Problem]:
    """Every problem of the bundle; an empty list means it can be published."""
    problems: list[Problem] = []
    for checker in CROSS_CHECKS:
        problems.extend(checker(bundle))
    if problems:
        # Engine checks assume references resolve; report those first.
        return problems
    from builder.engine_checks import ENGINE_CHECKS, CompiledForms

    forms = CompiledForms.of(bundle)
    for engine_check in ENGINE_CHECKS:
        problems.extend(engine_check(bundle, forms))
    return problems


def kind_label(kind: str) -> str:
    return SINGULAR.get(kind, kind)


def as_dict(problems: list[Problem], lang: str = "en") -> list[dict[str, Any]]:
    return [p.as_json(lang) for p in problems]
