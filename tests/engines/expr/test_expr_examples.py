"""Every documented example of every function gives its documented result."""

from __future__ import annotations

import math
from typing import Any

import pytest
from expr_fixtures import ENV, SCOPE, native

from engines.expr import FUNCTIONS, T, compile_expr, to_json

CASES = [(fn.name, ex) for fn in FUNCTIONS.values() for ex in fn.examples]


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, float) and isinstance(got, int | float):
        return math.isclose(got, want, rel_tol=1e-9)
    return (bool(got == want) and type(got) is type(want)) or (
        isinstance(got, int) and isinstance(want, int) and got == want)


@pytest.mark.parametrize(("name", "example"), CASES,
                         ids=[f"{n}:{e.expr}" for n, e in CASES])
def test_documented_example(name: str, example: Any) -> None:
    compiled = compile_expr(example.expr, SCOPE)
    result = compiled.evaluate(native(dict(example.values)), ENV)
    got = to_json(result, compiled.type if compiled.type is not T.ANY else T.ANY)
    assert _same(got, example.result), f"{example.expr} gave {got!r}"


def test_library_is_complete() -> None:
    wanted = [
        "IF", "IFS", "SWITCH", "AND", "OR", "NOT", "ISBLANK", "COALESCE", "SUM", "AVERAGE",
        "MIN", "MAX", "ROUND", "ROUNDUP", "ROUNDDOWN", "ABS", "INT", "MOD", "POWER", "CONCAT",
        "LEN", "LEFT", "RIGHT", "MID", "UPPER", "LOWER", "TRIM", "CONTAINS", "STARTSWITH",
        "ENDSWITH", "REPLACE", "TEXT", "VALUE", "REGEXMATCH", "RMBUPPER", "TODAY", "NOW",
        "DATE", "YEAR", "MONTH", "DAY", "WEEKDAY", "DAYS", "DATEDIF", "EDATE", "EOMONTH",
        "ADDDAYS", "WORKDAYS", "COUNTA", "USER", "COUNT", "AVG",
    ]
    assert not [w for w in wanted if w not in FUNCTIONS]
    for fn in FUNCTIONS.values():
        assert fn.examples and fn.zh and fn.en, fn.name
        assert fn.to_dict()["signature"].startswith(fn.name + "(")
