"""Formulas over measures: `late / tickets`, `(kept + 0.5 * late) / due * 100`.

A deliberately tiny language — numbers, measure keys, `+ - * /`, unary minus and
parentheses — because a formula measure combines *aggregated* values, and anything
richer (functions over rows, conditions) belongs in a measure's `where` or in the
expression language. The same parse gives two back ends: SQL over the aggregate
expressions (so the database computes, sorts and limits by it) and Python over a
row of results (so totals and subtotals recompute ratios instead of summing them).

Division by zero or by a blank gives a blank, as spreadsheets show `#DIV/0!` rather
than a number: SQL divides by `NULLIF(denominator, 0)`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

MAX_FORMULA_LENGTH = 500
MAX_DEPTH = 30

_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div)


class FormulaError(ValueError):
    """A formula that cannot be parsed, or that names something unknown."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.code = code
        self.message = {"zh": zh, "en": en}


@dataclass(frozen=True, slots=True)
class Formula:
    """A parsed formula: the source, the measure keys it reads, the checked tree."""

    source: str
    names: frozenset[str]
    tree: ast.expr

    def evaluate(self, values: Mapping[str, Any]) -> float | None:
        return _eval(self.tree, values)

    def to_sql(self, measure: Callable[[str], ColumnElement[Any]]) -> ColumnElement[Any]:
        return _sql(self.tree, measure)


def parse_formula(source: str) -> Formula:
    if len(source) > MAX_FORMULA_LENGTH:
        raise FormulaError("formula_too_long", "公式太长", "the formula is too long")
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise FormulaError("formula_syntax", f"公式语法错误：{exc.msg}",
                           f"formula syntax error: {exc.msg}") from exc
    names: set[str] = set()
    _check(tree, names, 0)
    return Formula(source, frozenset(names), tree)


def _check(node: ast.expr, names: set[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise FormulaError("formula_too_deep", "公式嵌套太深", "the formula nests too deeply")
    if isinstance(node, ast.BinOp) and isinstance(node.op, _BINOPS):
        _check(node.left, names, depth + 1)
        _check(node.right, names, depth + 1)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        _check(node.operand, names, depth + 1)
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return
    elif isinstance(node, ast.Name):
        names.add(node.id)
    else:
        raise FormulaError(
            "formula_not_allowed",
            "度量公式只能使用数字、度量键、+ - * / 和括号",
            "a measure formula uses only numbers, measure keys, + - * / and parentheses")


def _num(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, Decimal | int | float):
        return float(value)
    raise TypeError(f"not a number: {value!r}")


def _eval(node: ast.expr, values: Mapping[str, Any]) -> float | None:
    if isinstance(node, ast.Constant):
        return float(node.value)  # type: ignore[arg-type]
    if isinstance(node, ast.Name):
        return _num(values.get(node.id))
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, values)
        if operand is None:
            return None
        return -operand if isinstance(node.op, ast.USub) else operand
    if not isinstance(node, ast.BinOp):  # parse_formula admits nothing else
        raise TypeError(type(node).__name__)
    left, right = _eval(node.left, values), _eval(node.right, values)
    if left is None or right is None:
        return None
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    return None if right == 0 else left / right


def _sql(node: ast.expr, measure: Callable[[str], ColumnElement[Any]]) -> ColumnElement[Any]:
    if isinstance(node, ast.Constant):
        return literal(float(node.value), Float)  # type: ignore[arg-type]
    if isinstance(node, ast.Name):
        return cast(measure(node.id), Float)
    if isinstance(node, ast.UnaryOp):
        operand = _sql(node.operand, measure)
        return -operand if isinstance(node.op, ast.USub) else operand
    if not isinstance(node, ast.BinOp):
        raise TypeError(type(node).__name__)
    left, right = _sql(node.left, measure), _sql(node.right, measure)
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    return left / func.nullif(right, 0)
