"""Compiling a report against the forms: every problem at once, each located by JSON
path, with a message in zh and en."""

from __future__ import annotations

from typing import Any

import pytest

from engines.report.compile import compile_report
from engines.report.expressions import default_backend
from engines.report.fields import FieldInfo, ReportDefinitionError
from engines.report.spec import ReportSpec


def _compile(doc: dict[str, Any], catalog: dict[str, dict[str, FieldInfo]]) -> Any:
    return compile_report(ReportSpec.model_validate(doc), catalog, backend=default_backend())


def _problems(doc: dict[str, Any], catalog: dict[str, dict[str, FieldInfo]]) -> dict[str, str]:
    with pytest.raises(ReportDefinitionError) as info:
        _compile(doc, catalog)
    for p in info.value.problems:
        assert p.message["zh"] and p.message["en"], p
    return {p.path: p.code for p in info.value.problems}


def test_formats_report_compiles(report_doc: dict[str, Any], catalog: Any) -> None:
    report = _compile(report_doc, catalog)
    assert [d.key for d in report.dimensions] == ["month", "region"]
    assert report.dimensions[1].field.relation == "customer"
    assert report.relations == ("customer",)
    assert report.forms() == frozenset({"ticket", "customer"})
    assert report.measure("late_rate").formula.names == frozenset({"late", "tickets"})
    assert report.measure("amount").kind == "money"


def test_every_problem_is_reported_with_its_path(report_doc: dict[str, Any],
                                                 catalog: Any) -> None:
    report_doc["dimensions"][1]["field"] = "customer.regoin"
    report_doc["measures"][1]["field"] = "subject"           # sum of a text
    report_doc["measures"][3]["expr"] = "late / ticket"       # unknown measure
    report_doc["filters"] = ["status = 'x'"]                  # broken expression
    report_doc["chart"]["series"] = "nope"
    report_doc["drill"] = ["customer.region", "owner.name"]
    problems = _problems(report_doc, catalog)
    assert problems == {
        "dimensions[1].field": "unknown_field",
        "measures[1].field": "not_numeric",
        "measures[3].expr": "unknown_measure",
        "filters[0]": problems["filters[0]"],
        "chart.series": "unknown_dimension",
        "drill[1]": "not_a_relation",
    }
    assert problems["filters[0]"]


@pytest.mark.parametrize(("patch", "path", "code"), [
    ({"source": "nope"}, "source", "unknown_form"),
    ({"joins": [{"relation": "status"}]}, "joins[0].relation", "not_a_relation"),
    ({"dimensions": [{"key": "d", "field": "subject", "bucket": "week"}]},
     "dimensions[0].bucket", "bucket_needs_date"),
    ({"dimensions": [{"key": "d", "field": "tags"}]}, "dimensions[0].field", "not_groupable"),
    ({"dimensions": [{"key": "d", "field": "a.b.c"}]}, "dimensions[0].field", "bad_field_path"),
    ({"dimensions": [{"key": "tickets", "field": "status"}]}, "measures[0].key",
     "duplicate_key"),
    ({"measures": [{"key": "m", "agg": "avg", "field": "due_on"}]}, "measures[0].field",
     "not_numeric"),
    ({"measures": [{"key": "m", "agg": "max", "field": "urgent"}]}, "measures[0].field",
     "not_ordered"),
    ({"measures": [{"key": "m", "expr": "m * 2"}]}, "measures[0].expr", "formula_cycle"),
    ({"measures": [{"key": "m", "expr": "f(x)"}]}, "measures[0].expr", "formula_not_allowed"),
    ({"measures": [{"key": "n", "agg": "count"},
                   {"key": "m", "agg": "ratio", "numerator": "n", "denominator": "z"}]},
     "measures[1].numerator", "unknown_measure"),
    ({"measures": [{"key": "n", "agg": "count", "where": "amount >"}]},
     "measures[0].where", None),
    ({"sort": [{"key": "zzz"}]}, "sort[0].key", "unknown_sort_key"),
    ({"filters": ["old.status == 'x'"]}, "filters[0]", "no_sql"),
    ({"params": [{"key": "status", "type": "text"}]}, "params[0].key", "param_shadows_field"),
    ({"params": [{"key": "p", "type": "date", "filter": "due_on >= q"}]},
     "params[0].filter", None),
])
def test_single_problems(report_doc: dict[str, Any], catalog: Any, patch: dict[str, Any],
                         path: str, code: str | None) -> None:
    if "measures" in patch:
        report_doc["chart"] = {"type": "table"}
    report_doc["sort"] = []
    report_doc.update(patch)
    problems = _problems(report_doc, catalog)
    assert path in problems, problems
    if code is not None:
        assert problems[path] == code


def test_formula_cycle_through_two_measures(report_doc: dict[str, Any], catalog: Any) -> None:
    report_doc["measures"] = [{"key": "a", "expr": "b + 1"}, {"key": "b", "expr": "a * 2"}]
    report_doc["chart"] = {"type": "table"}
    report_doc["sort"] = []
    problems = _problems(report_doc, catalog)
    assert problems == {"measures[0].expr": "formula_cycle", "measures[1].expr": "formula_cycle"}


def test_relation_fields_join_automatically(report_doc: dict[str, Any], catalog: Any) -> None:
    report_doc["joins"] = []
    report = _compile(report_doc, catalog)
    assert report.relations == ("customer",)


def test_expression_dimension_has_the_expression_type(report_doc: dict[str, Any],
                                                      catalog: Any) -> None:
    report_doc["dimensions"] = [{"key": "size", "expr": "IF(amount > 1000, 'large', 'small')"}]
    report_doc["chart"] = {"type": "bar"}
    report_doc["sort"] = []
    report = _compile(report_doc, catalog)
    assert report.dimensions[0].kind == "text"


def test_catalog_entry_from_form_plans() -> None:
    from dataclasses import dataclass
    from types import SimpleNamespace

    from engines.expr import T
    from engines.report.fields import catalog_entry

    @dataclass
    class Plan:
        key: str
        type: str
        expr_type: T
        stores: bool = True
        spec: object = None

    entry = catalog_entry([
        Plan("customer", "relation", T.TEXT, spec=SimpleNamespace(form="customer")),
        Plan("total", "formula", T.MONEY),
        Plan("region", "lookup", T.TEXT, stores=False),
        Plan("owner", "user", T.TEXT),
        Plan("due", "date", T.DATE),
    ])
    assert entry == {"customer": FieldInfo("relation", "customer"),
                     "total": FieldInfo("money"), "due": FieldInfo("date")}
    assert entry["total"].kind == "money"
