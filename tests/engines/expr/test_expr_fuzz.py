"""Whatever is typed, the checker and the evaluator answer or raise ExprError: nothing
else escapes (no TypeError, RecursionError, crash or hang)."""

from __future__ import annotations

from decimal import Decimal

from expr_fixtures import ENV, SCOPE
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.expr import ExprError, compile_expr

TOKENS = ["amount", "score", "level", "status", "flag", "d", "due_at", "tags", "lines",
          "lines.qty", "record.amount", "user.roles", "old.level", "(", ")", "[", "]", ",",
          " + ", " - ", " * ", " / ", " % ", " ** ", " & ", " == ", " != ", " < ", " >= ",
          " and ", " or ", " not ", " in ", " if ", " else ", "1", "0", "2.5", "-3", '"a"',
          '""', "None", "True", "IF(", "SUM(", "ROUND(", "CONCAT(", "DAYS(", "TODAY()",
          "NOW()", "LEFT(", "VALUE(", "COUNT(\"complaint\", ", "DATE(2026, 1, 1)", "POWER(",
          "REGEXMATCH(", "TEXT(", "MOD(", "AVERAGE(", "ISBLANK(", "WEEKDAY(", "EDATE("]

VALUES = st.fixed_dictionaries({
    "amount": st.one_of(st.none(), st.decimals(-10**6, 10**6, places=2)),
    "score": st.one_of(st.none(), st.floats(-1e6, 1e6)),
    "level": st.one_of(st.none(), st.integers(-100, 100)),
    "status": st.one_of(st.none(), st.text(max_size=5)),
    "flag": st.one_of(st.none(), st.booleans()),
})


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12), values=VALUES)
def test_anything_typed_gives_a_value_or_an_expr_error(parts: list[str],
                                                        values: dict[str, object]) -> None:
    source = "".join(parts)
    try:
        compiled = compile_expr(source, SCOPE)
    except ExprError as err:
        assert err.code and err.message["zh"] and err.message["en"]
        return
    try:
        compiled.evaluate({**values, "lines": [{"qty": 1}], "tags": ["a"]}, ENV)
    except ExprError as err:
        assert err.code


def test_decimal_values_work_in_the_fuzz_scope() -> None:
    assert compile_expr("amount * 2", SCOPE).evaluate({"amount": Decimal("1.5")}) == 3
