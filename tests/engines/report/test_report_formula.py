"""Measure formulas: a tiny arithmetic over measure keys, the same in Python and SQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import create_engine, literal, select

from engines.report.formula import FormulaError, parse_formula


@pytest.mark.parametrize(("source", "values", "expected"), [
    ("late / tickets", {"late": 3, "tickets": 4}, 0.75),
    ("(kept + 0.5 * late) / due * 100", {"kept": 6, "late": 2, "due": 10}, 70.0),
    ("-a + b", {"a": Decimal("1.5"), "b": 4}, 2.5),
    ("a / b", {"a": 1, "b": 0}, None),
    ("a / b", {"a": 1, "b": None}, None),
    ("a - b", {"a": None, "b": 1}, None),
])
def test_python_evaluation(source: str, values: dict[str, object], expected: float | None) -> None:
    assert parse_formula(source).evaluate(values) == expected


def test_names_are_the_measures_read() -> None:
    assert parse_formula("(a + b) / c").names == frozenset({"a", "b", "c"})


@pytest.mark.parametrize("source", [
    "a.b", "f(a)", "a if b else c", "a ** 2", "a // b", "'x'", "a < b", "[a]",
    "__import__('os')", "a and b",
])
def test_anything_else_is_refused(source: str) -> None:
    with pytest.raises(FormulaError) as info:
        parse_formula(source)
    assert info.value.code == "formula_not_allowed"
    assert info.value.message["zh"] and info.value.message["en"]


def test_syntax_errors_and_size_are_reported() -> None:
    with pytest.raises(FormulaError) as info:
        parse_formula("a / ")
    assert info.value.code == "formula_syntax"
    with pytest.raises(FormulaError) as info:
        parse_formula("a + " * 200 + "a")
    assert info.value.code == "formula_too_long"
    with pytest.raises(FormulaError) as info:
        parse_formula("(" * 40 + "a" + ")" * 40 + " + -" * 35 + "a")
    assert info.value.code == "formula_too_deep"


def test_sql_matches_python_and_divides_by_zero_as_blank() -> None:
    engine = create_engine("sqlite://")
    formula = parse_formula("(kept + 0.5 * late) / due")
    for due, expected in ((10, 0.7), (0, None)):
        measures = {"kept": literal(6), "late": literal(2), "due": literal(due)}
        with engine.connect() as conn:
            got = conn.execute(select(formula.to_sql(measures.__getitem__))).scalar()
        assert got == expected
        assert formula.evaluate({"kept": 6, "late": 2, "due": due}) == expected
