"""Money and numbers mix without run-time type errors, and a value's Python kind follows
its static type: a `number`/`integer` is never a Decimal, a `money` never a float.

The credit CRM's score formulas hit the opposite (MAX of money typed `number`, then
`+ 0.5` raising TypeError); these tests pin the discipline down, by example and by
generated expressions.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.expr import ExprError, Field, FixedEnv, Scope, T, compile_expr

SCOPE = Scope({"m": Field(T.MONEY), "m2": Field(T.MONEY), "x": Field(T.NUMBER),
               "i": Field(T.INTEGER), "anything": Field(T.ANY),
               "lines": Field(T.SUBFORM, {"amt": Field(T.MONEY), "w": Field(T.NUMBER)})},
              forms={"inv": {"amount": Field(T.MONEY), "days": Field(T.INTEGER),
                             "rate": Field(T.NUMBER)}})


def kind_ok(t: T, value: Any) -> bool:
    if value is None:
        return True
    if t in (T.NUMBER, T.INTEGER):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if t is T.MONEY:
        return isinstance(value, Decimal | int) and not isinstance(value, bool)
    return True


VALUES = {"m": Decimal("10.50"), "m2": Decimal("3"), "x": 0.25, "i": 3,
          "anything": Decimal("2"), "lines": [{"amt": Decimal("1.10"), "w": 0.5}]}


@pytest.mark.parametrize("source", [
    "MAX(m, 1) + 0.5", "MIN(m, x) + x", "IF(x > 0, m, x) + 0.5", "m / m2 + x",
    "MIN(m / 2, 1) + 0.5", "MAX(anything, 1) + 0.5", "ABS(m / m2) + 0.5",
    "ROUND(m / m2, 2) + 0.5", "SUM(m / m2, 0.1) + x", "-(m / m2) + x", "POWER(m, 2) + x",
    "(m / m2) - x", "VALUE(m) + 0.5", "COALESCE(m, 0.5) + x", "MAX(lines.amt) * 0.5 + x",
    "MAX([m, x]) + x", "IFS(x > 1, m, True, 0.5) + x", "i / m + x", "m / i + x",
])
def test_mixed_money_and_numbers_evaluate(source: str) -> None:
    compiled = compile_expr(source, SCOPE)
    value = compiled.evaluate(VALUES)
    assert value is not None
    assert kind_ok(compiled.type, value), (source, compiled.type, value)


def test_a_ratio_of_money_is_a_plain_number() -> None:
    compiled = compile_expr("m / m2", SCOPE)
    assert compiled.type is T.NUMBER
    assert compiled.evaluate(VALUES) == pytest.approx(3.5)
    assert isinstance(compiled.evaluate(VALUES), float)


def test_a_number_picked_by_min_stays_money() -> None:
    compiled = compile_expr("MIN(m, 1)", SCOPE)
    assert compiled.type is T.MONEY
    assert compiled.evaluate(VALUES) == Decimal(1)
    assert isinstance(compiled.evaluate(VALUES), Decimal)


def test_blank_money_plus_a_number_is_money() -> None:
    value = compile_expr("m + x", SCOPE).evaluate({"m": None, "x": 0.1})
    assert value == Decimal("0.1") and isinstance(value, Decimal)


def test_rounding_money_past_the_decimal_context_keeps_the_value() -> None:
    """Found by the property test below: 0.01 / 4e-62 squared is ~6e118, more digits
    than Decimal's 28-digit context can quantize to two places."""
    value = compile_expr("ROUND(POWER((m / x), 2), 2)", SCOPE).evaluate(
        {"m": Decimal("0.01"), "x": 4.0336286258916695e-62})
    assert isinstance(value, Decimal)
    assert abs(value / Decimal("6.146221098389457E+118") - 1) < Decimal("1e-12")


def test_decimal_results_past_their_precision_are_out_of_range() -> None:
    """Found by the property test below: MOD of a cent by 2e-284 needs more digits than
    an exact decimal holds; that is a range error, not a broken expression."""
    with pytest.raises(ExprError) as err:
        compile_expr("MOD(m, x)", SCOPE).evaluate(
            {"m": Decimal("0.01"), "x": 2.3001738670084803e-284})
    assert err.value.code == "out_of_range"


@pytest.mark.parametrize("source", ["m + m", "m - m2", "SUM(m, m2)", "AVERAGE(m, (m + m))"])
def test_money_from_blank_money_is_still_exact(source: str) -> None:
    """Found by the property test below: blank + blank is 0 — an int — and the AVERAGE
    of it a float, though the expression is money."""
    value = compile_expr(source, SCOPE).evaluate({"m": None, "m2": None})
    assert value == 0 and isinstance(value, Decimal)


def test_aggregates_take_their_type_whatever_the_store_returns() -> None:
    # PostgreSQL gives numeric (Decimal) for a number field, SQLite a float for money.
    class Store(FixedEnv):
        def aggregate(self, func: str, form: str, condition: Any, value: Any,
                      record: Any) -> Any:
            return {"SUM": Decimal("7"), "AVG": Decimal("0.5"), "MAX": 2.5}[func]

    env = Store()
    days = compile_expr('SUM("inv", days) + 1', SCOPE).evaluate({}, env)
    assert days == 8 and isinstance(days, int)
    rate = compile_expr('AVG("inv", rate) + 0.25', SCOPE).evaluate({}, env)
    assert rate == 0.75 and isinstance(rate, float)
    most = compile_expr('MAX("inv", amount)', SCOPE).evaluate({}, env)
    assert most == Decimal("2.5") and isinstance(most, Decimal)


# ---------------------------------------------------------------- generated

LEAVES = st.sampled_from(["m", "m2", "x", "i", "0.5", "2", "-1.25", "anything",
                          "MAX(lines.amt)", "SUM(lines.w)"])


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(inner, inner)
    return st.one_of(
        pair.map(lambda p: f"({p[0]} + {p[1]})"), pair.map(lambda p: f"({p[0]} - {p[1]})"),
        pair.map(lambda p: f"({p[0]} * {p[1]})"), pair.map(lambda p: f"({p[0]} / {p[1]})"),
        pair.map(lambda p: f"MAX({p[0]}, {p[1]})"), pair.map(lambda p: f"MIN({p[0]}, {p[1]})"),
        pair.map(lambda p: f"IF(x > 0, {p[0]}, {p[1]})"),
        pair.map(lambda p: f"SUM({p[0]}, {p[1]})"), pair.map(lambda p: f"AVERAGE({p[0]}, {p[1]})"),
        pair.map(lambda p: f"MOD({p[0]}, {p[1]})"), pair.map(lambda p: f"COALESCE({p[0]}, {p[1]})"),
        pair.map(lambda p: f"LARGE([{p[0]}, {p[1]}], 1)"),
        pair.map(lambda p: f"SMALL([{p[0]}, {p[1]}, 1], 2)"),
        inner.map(lambda a: f"ROUND({a}, 2)"), inner.map(lambda a: f"ABS({a})"),
        inner.map(lambda a: f"-{a}"), inner.map(lambda a: f"POWER({a}, 2)"),
        inner.map(lambda a: f"LN(ABS({a}) + 1)"), inner.map(lambda a: f"EXP(MIN({a}, 5))"),
    )


EXPRS = st.recursive(LEAVES, _grow, max_leaves=8)
ROW = st.fixed_dictionaries({
    "m": st.one_of(st.none(), st.decimals(-10**4, 10**4, places=2)),
    "m2": st.one_of(st.none(), st.decimals(-10**4, 10**4, places=2)),
    "x": st.one_of(st.none(), st.floats(-1e4, 1e4)),
    "i": st.one_of(st.none(), st.integers(-100, 100)),
    "anything": st.one_of(st.none(), st.integers(-5, 5), st.decimals(-50, 50, places=1)),
})


@settings(max_examples=600, deadline=None)
@given(source=EXPRS, row=ROW)
def test_numeric_expressions_never_fail_on_kinds(source: str, row: dict[str, Any]) -> None:
    compiled = compile_expr(source, SCOPE)
    try:
        value = compiled.evaluate({**row, "lines": [{"amt": Decimal("1.10"), "w": 0.5}]})
    except ExprError as err:
        # bounds may refuse a huge number; a type mix-up never may
        assert err.code != "eval_error", (source, row, err)
        return
    assert kind_ok(compiled.type, value), (source, compiled.type, value)
    # and the result goes on mixing with a float
    follow = compile_expr(f"({source}) + 0.5", SCOPE)
    try:
        follow.evaluate({**row, "lines": [{"amt": Decimal("1.10"), "w": 0.5}]})
    except ExprError as err:
        assert err.code != "eval_error", (source, row, err)
