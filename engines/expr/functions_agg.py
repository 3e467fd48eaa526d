"""Aggregates over other records, and COUNTA over lists.

`COUNT("complaint", customer == record.id)`: the first argument names a form, the
condition is written over that form's fields, and `record.x` is the record in scope.
Runtime turns them into correlated SQL subqueries; `fold` is the in-memory fallback.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engines.expr import ops
from engines.expr.functions_math import flatten
from engines.expr.registry import Example, Fn, register
from engines.expr.types import T

AGGREGATES = ("COUNT", "SUM", "AVG", "MIN", "MAX")


def fold(func: str, values: list[Any]) -> Any:
    """COUNT/SUM/AVG/MIN/MAX over already evaluated values (blanks ignored)."""
    func = func.upper()
    if func == "COUNT":
        return len(values)
    vals = [v for v in values if v is not None]
    if func == "SUM":
        if any(isinstance(v, Decimal) for v in vals):
            return sum((ops.dec(v) for v in vals), Decimal(0))
        return sum(vals)
    if not vals:
        return None
    if func == "AVG":
        total = fold("SUM", vals)
        return total / (Decimal(len(vals)) if isinstance(total, Decimal) else len(vals))
    return min(vals) if func == "MIN" else max(vals)


def _counta(*args: Any) -> int:
    return len(flatten(args))


register(Fn("COUNTA", "lists", ("any", "any*"), T.INTEGER,
            "非空值的个数；可传入列表或子表",
                "The number of values that are not blank (lists and subforms too)",
            (Example("COUNTA(tags)", 2, {"tags": ["a", "b"]}), Example("COUNTA(1, None, 3)", 2),
             Example("COUNTA(lines)", 2, {"lines": [{"qty": 1}, {"qty": 2}]})),
            impl=_counta, nullable=False))
register(Fn("COUNT", "aggregates", ("text", "boolean?"), T.INTEGER,
            "统计另一表单中满足条件的记录数；条件里 record.x 指当前记录",
            "Counts the records of another form that meet a condition; record.x in the "
            "condition is the record in scope",
            (Example('COUNT("complaint", customer == record.id)', 2, {"id": "7"}),),
            nullable=False))
register(Fn("AVG", "aggregates", ("text", "number", "boolean?"), T.NUMBER,
            "另一表单中满足条件的记录的某字段平均值",
            "The average of a field over the records of another form that meet a condition",
            (Example('AVG("complaint", score, customer == record.id)', 3.0, {"id": "7"}),)))
