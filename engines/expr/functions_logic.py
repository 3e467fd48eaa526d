"""Logic functions. IF, IFS, SWITCH, AND and OR are special forms: the back ends
translate them so that only the branch taken is evaluated."""

from __future__ import annotations

from typing import Any

from engines.expr.ops import blank, truthy
from engines.expr.registry import Example, Fn, register
from engines.expr.types import T


def _unify(types: list[T]) -> T:
    from engines.expr.typing_rules import unify

    return unify(types)


def _if_result(types: list[T]) -> T:
    return _unify(types[1:3])


def _ifs_result(types: list[T]) -> T:
    return _unify(types[1::2])


def _switch_result(types: list[T]) -> T:
    values = types[2::2] + ([types[-1]] if len(types) % 2 == 0 else [])
    return _unify(values)


def _coalesce(*args: Any) -> Any:
    for a in args:
        if not blank(a):
            return a
    return None


def _not(x: Any) -> bool:
    return not truthy(x)


register(Fn("IF", "logic", ("boolean", "any", "any?"), _if_result,
            "条件为真时返回第二个参数，否则返回第三个参数（省略时为空）",
            "The second argument when the condition is true, else the third (blank if omitted)",
            (Example('IF(amount > 1000, "large", "normal")', "large", {"amount": 5000}),
             Example('IF(amount > 1000, "large")', None, {"amount": 5}))))
register(Fn("IFS", "logic", ("boolean", "any", "any*"), _ifs_result,
            "依次检查条件，返回第一个为真的条件对应的值；都不成立时为空",
            "Checks conditions in order and returns the value of the first true one; blank if none",
            (Example('IFS(score >= 90, "A", score >= 60, "B", True, "C")', "B", {"score": 75}),
             Example('IFS(score > 100, "X")', None, {"score": 1}))))
register(Fn("SWITCH", "logic", ("any", "any", "any", "any*"), _switch_result,
            "将值与各候选值比较，返回匹配项对应的结果；最后一个单独的参数是默认值",
            "Compares a value with each candidate and returns the matching result; "
            "a last lone argument is the default",
            (Example('SWITCH(level, 1, "low", 2, "high", "other")', "high", {"level": 2}),
             Example('SWITCH(level, 1, "low", "other")', "other", {"level": 9}))))
register(Fn("AND", "logic", ("boolean", "boolean*"), T.BOOLEAN,
            "所有条件都为真时为真", "True when every condition is true",
            (Example("AND(1 < 2, 3 < 4)", True), Example("AND(1 < 2, 4 < 3)", False)),
            nullable=False))
register(Fn("OR", "logic", ("boolean", "boolean*"), T.BOOLEAN,
            "任一条件为真时为真", "True when any condition is true",
            (Example("OR(1 > 2, 3 < 4)", True), Example("OR(1 > 2, 4 < 3)", False)),
            nullable=False))
register(Fn("NOT", "logic", ("boolean",), T.BOOLEAN,
            "取反；空值视为假，因此 NOT(空) 为真",
                             "Negation; blank counts as false, so NOT(blank) is true",
            (Example("NOT(1 > 2)", True), Example("NOT(flag)", True, {"flag": None})),
            impl=_not, nullable=False))
register(Fn("ISBLANK", "logic", ("any",), T.BOOLEAN,
            "值为空（无值、空文本或空列表）时为真",
            "True when the value is blank (nothing, an empty text or an empty list)",
            (Example("ISBLANK(name)", True, {"name": ""}),
             Example("ISBLANK(name)", False, {"name": "Li"})),
            impl=blank, nullable=False))
register(Fn("COALESCE", "logic", ("any", "any*"), _unify,
            "返回第一个非空的参数", "The first argument that is not blank",
            (Example('COALESCE(nick, name, "?")', "Li", {"nick": None, "name": "Li"}),
             Example("COALESCE(a, 0)", 0, {"a": None})),
            impl=_coalesce))
