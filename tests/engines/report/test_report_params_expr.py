"""Parameters (conversion, defaults at the caller's `now`) and the bridge to the
expression language (relation paths, error messages)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from engines.report.compile import compile_report
from engines.report.expr_adapter import ExprLanguageBackend, flatten
from engines.report.params import resolve_params
from engines.report.query import QueryError
from engines.report.spec import ReportSpec

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def _report(catalog: Any, params: list[dict[str, Any]]) -> Any:
    doc = {"key": "r", "name": "R", "source": "ticket", "params": params,
           "measures": [{"key": "n", "agg": "count"}]}
    return compile_report(ReportSpec.model_validate(doc), catalog, backend=ExprLanguageBackend())


def test_params_convert_and_default(catalog: Any) -> None:
    report = _report(catalog, [
        {"key": "since", "type": "date", "default_expr": "TODAY() - DAYS(30)"},
        {"key": "at", "type": "datetime", "default": "2026-01-01"},
        {"key": "min_amount", "type": "money"},
        {"key": "top", "type": "integer", "default": 3},
        {"key": "flag", "type": "boolean"},
        {"key": "kind", "type": "select", "options": ["a", "b"]},
    ])
    got = resolve_params(report, {"min_amount": "12.50", "flag": "true", "kind": "b"}, now=NOW)
    assert got == {"since": date(2026, 1, 30), "at": datetime(2025, 12, 31, 16, tzinfo=UTC),
                   "min_amount": Decimal("12.50"), "top": 3, "flag": True, "kind": "b"}


@pytest.mark.parametrize(("given", "code"), [
    ({"kind": "c"}, "bad_param"),
    ({"top": "x"}, "bad_param"),
    ({"zzz": 1}, "unknown_param"),
    ({}, "missing_param"),
])
def test_bad_params_are_refused(catalog: Any, given: dict[str, Any], code: str) -> None:
    report = _report(catalog, [{"key": "kind", "type": "select", "options": ["a", "b"]},
                               {"key": "top", "type": "integer", "required": True,
                                "default": None}])
    given = {"top": 1, **given} if code != "missing_param" else given
    with pytest.raises(QueryError) as info:
        resolve_params(report, given, now=NOW)
    assert info.value.code == code


def test_flatten_rewrites_relation_paths_only() -> None:
    fields = {"customer.region": "text", "customer": "relation", "status": "text"}
    assert flatten("customer.region == 'customer.region' and record.status", fields) == \
        "customer__region == 'customer.region' and record.status"
    assert flatten("customer.nope", fields) == "customer.nope"
    assert flatten("x.customer.region", fields) == "x.customer.region"


def test_check_reports_the_path_as_written() -> None:
    backend = ExprLanguageBackend()
    problem = backend.check("customer.regoin == 'x'", {"customer.region": "text",
                                                       "customer": "relation"}, {})
    assert problem is not None
    code, message = problem
    assert code and message["zh"] and message["en"]
    assert backend.check("customer.region == 'x'", {"customer.region": "text"}, {}) is None
    assert backend.kind("customer.region", {"customer.region": "text"}, {}) == "text"
    assert backend.names("customer.region == p", {"customer.region": "text"},
                         {"p": "text"}) == frozenset({"customer.region", "p"})


def test_evaluate_needs_the_callers_now() -> None:
    backend = ExprLanguageBackend()
    assert backend.evaluate("TODAY()", {}, NOW, "Asia/Shanghai") == date(2026, 3, 1)
    with pytest.raises(TypeError):
        backend.evaluate("TODAY()", {}, None, "Asia/Shanghai")
