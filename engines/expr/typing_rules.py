"""How types combine: unification of branches and operator result types."""

from __future__ import annotations

from engines.expr.registry import numeric_result
from engines.expr.types import NUMERIC, T


def unify(types: list[T]) -> T:
    """The type of a value that may come from any of `types` (IF branches, lists)."""
    real = [t for t in types if t is not T.NULL]
    if not real:
        return T.NULL
    if all(t in NUMERIC for t in real):
        if T.MONEY in real:
            return T.MONEY
        return T.NUMBER if T.NUMBER in real else T.INTEGER
    first = real[0]
    return first if all(t is first for t in real) else T.ANY


def comparable(a: T, b: T) -> bool:
    """Whether `a` and `b` may be compared (==, <, …): same family, or blank/ANY."""
    if T.ANY in (a, b) or T.NULL in (a, b):
        return True
    if a in NUMERIC and b in NUMERIC:
        return True
    if {a, b} <= {T.DATE, T.DATETIME}:
        return True
    return a is b


def binop_type(op: str, a: T, b: T) -> T | None:
    """The result type of `a op b`, or None when the operation makes no sense."""
    if op == "&":
        return T.TEXT
    if T.ANY in (a, b):
        return T.ANY
    if T.NULL in (a, b):
        other = b if a is T.NULL else a
        return other if other in (*NUMERIC, T.NULL) else T.ANY if op in "+-" else None
    num = a in NUMERIC and b in NUMERIC
    if op in ("+", "-", "*", "%") and num:
        return numeric_result([a, b])
    if op == "/" and num:
        return T.MONEY if a is T.MONEY and b is not T.MONEY else T.NUMBER
    if op == "**" and num:
        return T.INTEGER if a is b is T.INTEGER else T.NUMBER
    dates = (T.DATE, T.DATETIME)
    if op == "+":
        if a is b is T.TEXT:
            return T.TEXT
        if a in dates and b is T.DURATION:
            return a
        if b in dates and a is T.DURATION:
            return b
        if a is b is T.DURATION:
            return T.DURATION
    if op == "-":
        if a in dates and b is T.DURATION:
            return a
        if a is b and a in (*dates, T.DURATION):
            return T.DURATION
    if op == "*" and T.DURATION in (a, b) and (a in NUMERIC or b in NUMERIC):
        return T.DURATION
    return None
