"""Maths. Rounding is half-up on exact decimals (Excel's ROUND(2.5, 0) is 3), and
money stays a Decimal through every operation."""

from __future__ import annotations

import math
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    InvalidOperation,
)
from typing import Any

from engines.expr import ops
from engines.expr.registry import Example, Fn, numeric_result, register
from engines.expr.types import T


def flatten(args: tuple[Any, ...]) -> list[Any]:
    """Arguments and list arguments as one list of non-blank values."""
    out: list[Any] = []
    for a in args:
        if isinstance(a, list | tuple):
            out.extend(x for x in a if x is not None and x != "")
        elif a is not None and a != "":
            out.append(a)
    return out


def _sum(*args: Any) -> Any:
    vals = flatten(args)
    if any(isinstance(v, Decimal) for v in vals):
        return sum((ops.dec(v) for v in vals), Decimal(0))
    return sum(vals)


def _average(*args: Any) -> Any:
    vals = flatten(args)
    if not vals:
        return None
    total = _sum(vals)
    return total / (Decimal(len(vals)) if isinstance(total, Decimal) else len(vals))


def _min(*args: Any) -> Any:
    vals = flatten(args)
    return min(vals) if vals else None


def _max(*args: Any) -> Any:
    vals = flatten(args)
    return max(vals) if vals else None


def _round_with(x: Any, digits: Any, mode: str) -> Any:
    if x is None:
        return None
    n = int(ops.num(digits))
    if abs(n) > 30:
        raise ops.fail("bad_digits", "小数位数必须在 -30 到 30 之间",
                       "digits must be between -30 and 30")
    d = ops.dec(x)
    try:
        r = d.quantize(Decimal(1).scaleb(-n), rounding=mode)
    except InvalidOperation:
        # More digits than the decimal context holds (|x| beyond 1e28 at 2 places): no
        # digit at that place is significant, so the value is already rounded.
        r = d
    if isinstance(x, Decimal):
        return r
    return int(r) if n <= 0 else float(r)


def _round(x: Any, digits: Any = 0) -> Any:
    return _round_with(x, digits, ROUND_HALF_UP)


def _roundup(x: Any, digits: Any = 0) -> Any:
    return _round_with(x, digits, ROUND_UP)


def _rounddown(x: Any, digits: Any = 0) -> Any:
    return _round_with(x, digits, ROUND_DOWN)


def _ceiling(x: Any) -> Any:
    return None if x is None else _round_with(x, 0, ROUND_CEILING)


def _floor(x: Any) -> Any:
    return None if x is None else _round_with(x, 0, ROUND_FLOOR)


def _abs(x: Any) -> Any:
    return None if x is None else abs(x)


def _int(x: Any) -> Any:
    return None if x is None else math.floor(x)


# Logarithms and roots: outside their domain (LN(0), LN(-1), SQRT(-4), a base of 1) the
# result is blank, as dividing by zero is, and the SQL forms give NULL the same way.
EXP_LIMIT = 709.0
"""EXP of more than this would overflow a float (e^709.78); it gives blank."""


def _real(x: Any) -> Any:
    """A number as math functions take it: ints stay exact (math.log takes any size)."""
    return x if isinstance(x, int) else float(x)


def _ln(x: Any) -> float | None:
    if x is None:
        return None
    v = _real(x)
    return math.log(v) if v > 0 else None


def _log(x: Any, base: Any = 10) -> float | None:
    if x is None or base is None:
        return None
    v, b = _real(x), _real(base)
    if v <= 0 or b <= 0 or b == 1:
        return None
    if b == 10:
        return math.log10(v)  # exact for powers of ten, as LOG(1000) is 3 in Excel
    return math.log2(v) if b == 2 else math.log(v) / math.log(b)


def _exp(x: Any) -> float | None:
    if x is None:
        return None
    v = float(x)
    return math.exp(v) if v <= EXP_LIMIT else None


def _sqrt(x: Any) -> float | None:
    if x is None:
        return None
    v = _real(x)
    return math.sqrt(v) if v >= 0 else None


def _kth(largest: bool) -> Any:
    def kth(values: Any, k: Any) -> Any:
        """LARGE/SMALL as in Excel, blanks skipped; a k outside 1..n gives blank."""
        vals = flatten((values,))
        if k is None or not vals:
            return None
        n = int(k)
        if n != k or not 1 <= n <= len(vals):
            return None
        return sorted(vals, reverse=largest)[n - 1]
    return kth


def _first(types: list[T]) -> T:
    return numeric_result(types[:1])


def _integer_or_money(types: list[T]) -> T:
    return T.MONEY if types[:1] == [T.MONEY] else T.INTEGER if len(types) < 2 \
        else numeric_result(types[:1])


register(Fn("SUM", "maths", ("numbers", "numbers*"), numeric_result,
            "求和；可传入多个数值或一个列表（如子表的一列）；"
            "也可对其他表单汇总：SUM(\"表单\", 字段, 条件)",
            "The sum of numbers or of a list (such as a subform column); over other records: "
            "SUM(\"form\", field, condition)",
            (Example("SUM(1, 2, 3)", 6),
             Example("SUM(lines.subtotal)", "30.50",
                     {"lines": [{"subtotal": "10.25"}, {"subtotal": "20.25"}]}),
             Example("SUM(a, b)", 5, {"a": 5, "b": None})),
            impl=_sum, nullable=False))
register(Fn("AVERAGE", "maths", ("numbers", "numbers*"),
            lambda ts: T.MONEY if T.MONEY in ts else T.NUMBER,
            "平均值，忽略空值", "The average, ignoring blanks",
            (Example("AVERAGE(1, 2, 3, 4)", 2.5), Example("AVERAGE(scores)", 3.0,
                                                            {"scores": [2, 4, None]})),
            impl=_average))
register(Fn("MIN", "maths", ("numbers", "numbers*"), numeric_result,
            "最小值，忽略空值", "The smallest value, ignoring blanks",
            (Example("MIN(3, 1, 2)", 1), Example("MIN(scores)", 2, {"scores": [5, 2, None]})),
            impl=_min))
register(Fn("MAX", "maths", ("numbers", "numbers*"), numeric_result,
            "最大值，忽略空值", "The largest value, ignoring blanks",
            (Example("MAX(3, 1, 2)", 3), Example("MAX(scores)", 5, {"scores": [5, 2, None]})),
            impl=_max))
register(Fn("ROUND", "maths", ("number", "number?"), _integer_or_money,
            "四舍五入到指定小数位（0.5 进位，与 Excel 一致）",
            "Rounds half up to the given decimals (2.5 becomes 3, as in Excel)",
            (Example("ROUND(2.5)", 3), Example("ROUND(2.345, 2)", 2.35),
             Example("ROUND(-2.5, 0)", -3), Example("ROUND(1234, -2)", 1200)),
            impl=_round))
register(Fn("ROUNDUP", "maths", ("number", "number?"), _integer_or_money,
            "远离零方向舍入", "Rounds away from zero",
            (Example("ROUNDUP(2.1)", 3), Example("ROUNDUP(-2.11, 1)", -2.2)),
            impl=_roundup))
register(Fn("ROUNDDOWN", "maths", ("number", "number?"), _integer_or_money,
            "向零方向舍入", "Rounds towards zero",
            (Example("ROUNDDOWN(2.9)", 2), Example("ROUNDDOWN(-2.19, 1)", -2.1)),
            impl=_rounddown))
register(Fn("CEILING", "maths", ("number",), _integer_or_money,
            "向上取整", "Rounds up to an integer",
            (Example("CEILING(2.1)", 3), Example("CEILING(-2.1)", -2)), impl=_ceiling))
register(Fn("FLOOR", "maths", ("number",), _integer_or_money,
            "向下取整", "Rounds down to an integer",
            (Example("FLOOR(2.9)", 2), Example("FLOOR(-2.1)", -3)), impl=_floor))
register(Fn("ABS", "maths", ("number",), _first, "绝对值", "The absolute value",
            (Example("ABS(-3)", 3), Example("ABS(2.5)", 2.5)), impl=_abs))
register(Fn("INT", "maths", ("number",), T.INTEGER,
            "向下取整为整数（与 Excel 一致，INT(-2.5) 为 -3）",
            "Rounds down to an integer (as in Excel, INT(-2.5) is -3)",
            (Example("INT(2.7)", 2), Example("INT(-2.5)", -3)), impl=_int))
register(Fn("MOD", "maths", ("number", "number"), numeric_result,
            "余数，符号与除数相同；除数为 0 时为空",
            "The remainder, with the divisor's sign; blank when dividing by 0",
            (Example("MOD(7, 3)", 1), Example("MOD(-7, 3)", 2), Example("MOD(7, 0)", None)),
            impl=ops.mod))
register(Fn("POWER", "maths", ("number", "number"), numeric_result,
            "乘方（有上限，防止过大的数）", "Raises to a power (bounded, so numbers stay small)",
            (Example("POWER(2, 10)", 1024), Example("POWER(4, 0.5)", 2.0)),
            impl=ops.power))
register(Fn("SQRT", "maths", ("number",), T.NUMBER,
            "平方根；负数的平方根为空", "The square root; blank for a negative number",
            (Example("SQRT(16)", 4.0), Example("SQRT(-4)", None)), impl=_sqrt))
register(Fn("LN", "maths", ("number",), T.NUMBER,
            "自然对数；0 或负数的对数为空（如同除以 0）",
            "The natural logarithm; blank for 0 or a negative number (as dividing by 0 is)",
            (Example("LN(1)", 0.0), Example("ROUND(LN(61), 4)", 4.1109),
             Example("LN(0)", None)), impl=_ln))
register(Fn("LOG", "maths", ("number", "number?"), T.NUMBER,
            "对数，底数默认为 10（与 Excel 相同）；数值或底数不合法时为空",
            "The logarithm in a base, 10 by default (as in Excel); blank when the number or "
            "the base is out of range",
            (Example("LOG(1000)", 3.0), Example("LOG(8, 2)", 3.0), Example("LOG(5, 1)", None)),
            impl=_log))
register(Fn("EXP", "maths", ("number",), T.NUMBER,
            "e 的 x 次方；结果过大（x > 709）时为空",
            "e raised to a power; blank when the result would be too large (x > 709)",
            (Example("EXP(0)", 1.0), Example("ROUND(EXP(1), 5)", 2.71828)), impl=_exp))
register(Fn("LARGE", "maths", ("numbers", "number"), _first,
            "列表中第 k 大的值（与 Excel 相同，忽略空值）；k 超出范围时为空",
            "The k-th largest value of a list (as in Excel, blanks ignored); blank when k is "
            "out of range",
            (Example("LARGE([3, 9, 5], 2)", 5), Example("LARGE(scores, 1)", 7.5,
                                                          {"scores": [2, 7.5, None]}),
             Example("LARGE([3, 9], 3)", None)), impl=_kth(True)))
register(Fn("SMALL", "maths", ("numbers", "number"), _first,
            "列表中第 k 小的值（与 Excel 相同，忽略空值）；k 超出范围时为空",
            "The k-th smallest value of a list (as in Excel, blanks ignored); blank when k is "
            "out of range",
            (Example("SMALL([3, 9, 5], 1)", 3), Example("SMALL(lines.price, 2)", "4.50",
                                                          {"lines": [{"price": "9.90"},
                                                                     {"price": "4.50"},
                                                                     {"price": "1.20"}]})),
            impl=_kth(False)))
