"""JsonLogic → Loom expression text.

Rule builders and form tools (Form.io among them) emit JsonLogic. A document converts to
an equivalent Loom expression, which is then checked like any other. What has no Loom
equivalent is refused with a reason (ExprError `jsonlogic_unsupported`): loops over
arrays (`map`, `filter`, `reduce`, `all`, `some`, `none`), `merge`, `missing`,
`missing_some`, `log`, nested or positional `var` paths, and non-constant `substr`
bounds. JavaScript's loose typing is not carried over: where it matters (`1 == "1"`,
truthiness of numbers in `and`/`or`/`if`), the Loom checker refuses the converted
expression with a type error instead of guessing.
"""

from __future__ import annotations

import json
import math
from typing import Any

from engines.expr.checker import RESERVED
from engines.expr.types import ExprError

_LOOPS = frozenset({"map", "filter", "reduce", "all", "some", "none"})
_CMP = {"==": "==", "===": "==", "!=": "!=", "!==": "!=", "<": "<", "<=": "<=", ">": ">",
        ">=": ">="}
_MAX_DEPTH = 50


def _refuse(zh: str, en: str) -> ExprError:
    return ExprError("jsonlogic_unsupported", f"JsonLogic 无法转换：{zh}",
                     f"JsonLogic cannot be converted: {en}")


def jsonlogic_to_expr(doc: Any) -> str:
    """`doc` (a JsonLogic rule, as parsed JSON) as Loom expression text."""
    return _Convert().rule(doc, 0)


class _Convert:
    def rule(self, doc: Any, depth: int) -> str:
        if depth > _MAX_DEPTH:
            raise _refuse("嵌套过深", "nested too deeply")
        if isinstance(doc, list):
            return "[" + ", ".join(self.rule(d, depth + 1) for d in doc) + "]"
        if not isinstance(doc, dict):
            return self.literal(doc)
        if len(doc) != 1:
            raise _refuse("规则对象须只有一个运算符",
                          "a rule object must have exactly one operator")
        op, raw = next(iter(doc.items()))
        args = raw if isinstance(raw, list) else [raw]
        method = getattr(self, "op_" + _METHODS.get(op, "unknown"))
        return str(method(op, args, depth + 1))

    def literal(self, value: Any) -> str:
        if value is None:
            return "None"
        if isinstance(value, bool):
            return "True" if value else "False"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _refuse("数值超出范围", "number out of range")
            return repr(value)
        if isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)
        raise _refuse(f"不支持的值 {value!r}"[:80], f"unsupported value {value!r}"[:80])

    def args(self, args: list[Any], depth: int) -> list[str]:
        return [self.rule(a, depth) for a in args]

    # ------------------------------------------------------------ operators
    def op_unknown(self, op: str, args: list[Any], depth: int) -> str:
        if op in _LOOPS:
            raise _refuse(f"{op} 会遍历数组，Loom 表达式不支持循环",
                          f"{op} loops over an array; Loom expressions have no loops")
        raise _refuse(f"不支持的运算符 {op}", f"unsupported operator {op}")

    def op_var(self, op: str, args: list[Any], depth: int) -> str:
        if not args:
            raise _refuse("var 需要字段名", "var needs a field name")
        path = args[0]
        if isinstance(path, int) and not isinstance(path, bool):
            raise _refuse("按位置取值的 var 不支持", "positional var paths are not supported")
        if not isinstance(path, str) or path == "":
            raise _refuse("var 须为字段名", "var must name a field")
        if "." in path or not path.isidentifier() or not path.isascii() \
                or path.startswith("_") or path in RESERVED:
            raise _refuse(f"字段路径 {path} 不支持（只支持单层字段名）",
                          f"the path {path} is not supported (plain field keys only)")
        if len(args) > 1:
            return f"COALESCE({path}, {self.rule(args[1], depth)})"
        return path

    def op_cmp(self, op: str, args: list[Any], depth: int) -> str:
        parts = self.args(args, depth)
        if op in ("<", "<=") and len(parts) == 3:
            return f"({parts[0]} {op} {parts[1]} {op} {parts[2]})"
        if len(parts) != 2:
            raise _refuse(f"{op} 需要两个参数", f"{op} takes two arguments")
        return f"({parts[0]} {_CMP[op]} {parts[1]})"

    def op_not(self, op: str, args: list[Any], depth: int) -> str:
        inner = self.rule(args[0], depth) if args else "None"
        return f"(not {inner})" if op == "!" else f"(not (not {inner}))"

    def op_bool(self, op: str, args: list[Any], depth: int) -> str:
        if not args:
            raise _refuse(f"{op} 需要参数", f"{op} needs arguments")
        return "(" + f" {op} ".join(self.args(args, depth)) + ")"

    def op_if(self, op: str, args: list[Any], depth: int) -> str:
        parts = self.args(args, depth)
        if not parts:
            return "None"
        if len(parts) == 1:
            return parts[0]
        out = parts[-1] if len(parts) % 2 else "None"
        pairs = parts[:-1] if len(parts) % 2 else parts
        for i in range(len(pairs) - 2, -1, -2):
            out = f"IF({pairs[i]}, {pairs[i + 1]}, {out})"
        return out

    def op_arith(self, op: str, args: list[Any], depth: int) -> str:
        parts = self.args(args, depth)
        if op == "+" and len(parts) == 1:
            return f"VALUE({parts[0]})"
        if op == "-" and len(parts) == 1:
            return f"(-{parts[0]})"
        if op == "*" and len(parts) == 1:
            return f"VALUE({parts[0]})"
        if not parts or (op in ("/", "%", "-") and len(parts) != 2):
            raise _refuse(f"{op} 的参数个数不对", f"wrong number of arguments for {op}")
        return "(" + f" {op} ".join(parts) + ")"

    def op_minmax(self, op: str, args: list[Any], depth: int) -> str:
        if not args:
            return "None"
        return f"{op.upper()}({', '.join(self.args(args, depth))})"

    def op_cat(self, op: str, args: list[Any], depth: int) -> str:
        if not args:
            return '""'
        return f"CONCAT({', '.join(self.args(args, depth))})"

    def op_in(self, op: str, args: list[Any], depth: int) -> str:
        if len(args) != 2:
            raise _refuse("in 需要两个参数", "in takes two arguments")
        needle, hay = self.args(args, depth)
        return f"({needle} in {hay})"

    def op_substr(self, op: str, args: list[Any], depth: int) -> str:
        if not args:
            raise _refuse("substr 需要文本", "substr needs a text")
        text = f"CONCAT({self.rule(args[0], depth)})"
        bounds = args[1:3]
        if not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
            raise _refuse("substr 的位置须为整数常量",
                          "substr's positions must be integer constants")
        start = bounds[0] if bounds else 0
        begin = f"{start + 1}" if start >= 0 else f"(MAX(LEN({text}) + {start}, 0) + 1)"
        if len(bounds) < 2:
            return f"MID({text}, {begin}, LEN({text}))"
        length = bounds[1]
        if length >= 0:
            return f"MID({text}, {begin}, {length})"
        return f"MID({text}, {begin}, MAX(LEN({text}) - {begin} + 1 + ({length}), 0))"


_METHODS = {"var": "var", "!": "not", "!!": "not", "and": "bool", "or": "bool",
            "if": "if", "?:": "if", "+": "arith", "-": "arith", "*": "arith", "/": "arith",
            "%": "arith", "min": "minmax", "max": "minmax", "cat": "cat", "in": "in",
            "substr": "substr", **dict.fromkeys(_CMP, "cmp")}
