"""Parse with Python's `ast`, allow only a whitelist of node kinds, resolve names and
infer types, giving the typed tree of `nodes`. Every refusal names the position.

Safety model (simpleeval's, tightened): no attribute access except `record.x`,
`old.x`, `user.x` and a subform column `lines.x`; no names starting with `_`; no
subscripts, lambdas, comprehensions, f-strings, walrus, starred or keyword arguments;
only registered functions; sizes capped before and after parsing.
"""

from __future__ import annotations

import ast
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from engines.expr import limits
from engines.expr import nodes as n
from engines.expr.registry import FUNCTIONS, Fn
from engines.expr.types import NUMERIC, SYSTEM_FIELDS, ExprError, Field, Scope, T, an
from engines.expr.typing_rules import binop_type, comparable, unify

USER_ATTRS: Mapping[str, Field] = {"username": Field(T.TEXT), "department": Field(T.TEXT),
                                   "roles": Field(T.LIST, item=T.TEXT)}
RESERVED = frozenset({"record", "old", "user"})
_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
        ast.GtE: ">=", ast.In: "in", ast.NotIn: "notin"}
_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%",
        ast.Pow: "**", ast.BitAnd: "&"}
_ALLOWED = (ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp,
            ast.Call, ast.Name, ast.Constant, ast.Attribute, ast.List, ast.Tuple, ast.Load,
            ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, *_CMP, *_BIN)


@dataclass(frozen=True)
class Where:
    """What names mean at this point: the fields read, and the outer record if any."""

    scope: Scope
    fields: Mapping[str, Field]
    outer: Mapping[str, Field] | None = None   # inside an aggregate: the record in scope


class Checker:
    def __init__(self, source: str, scope: Scope) -> None:
        self.source = source
        self.scope = scope
        # Parsed inside parentheses, so a formula may span lines as analysts write it;
        # line numbers are shifted back by one when reported.
        self.wrapped = "(\n" + source + "\n)"
        self._lines = self.wrapped.encode("utf-8").split(b"\n")

    # ------------------------------------------------------------------ errors
    def pos(self, node: ast.AST) -> tuple[int, int]:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        raw = self._lines[line - 1] if 0 < line <= len(self._lines) else b""
        return max(line - 1, 1), len(raw[:col].decode("utf-8", "replace")) + 1

    def err(self, node: ast.AST | None, code: str, zh: str, en: str) -> ExprError:
        line, col = self.pos(node) if node is not None else (1, 1)
        return ExprError(code, zh, en, source=self.source, line=line, column=col)

    # ------------------------------------------------------------------ entry
    def parse(self) -> ast.Expression:
        src = self.source
        if len(src) > limits.MAX_SOURCE:
            raise self.err(None, "too_long", f"表达式超过 {limits.MAX_SOURCE} 个字符",
                           f"the expression is longer than {limits.MAX_SOURCE} characters")
        if not src.strip():
            raise self.err(None, "empty", "表达式为空", "the expression is empty")
        try:
            tree = ast.parse(self.wrapped, mode="eval")
        except SyntaxError as exc:
            raise self._syntax(exc) from None
        except (RecursionError, MemoryError, ValueError):
            raise self.err(None, "too_deep", "表达式嵌套过深",
                           "the expression is nested too deeply") \
                from None
        self._shape(tree)
        return tree

    def _syntax(self, exc: SyntaxError) -> ExprError:
        line, col = exc.lineno or 1, exc.offset or 1
        if line > len(self._lines) - 1 or line <= 1:
            # the wrapping parentheses: the expression ended too early
            line, col = len(self._lines) - 1, len(self._lines[-2].decode("utf-8", "replace")) + 1
        text = self.source
        hint_zh, hint_en = "", ""
        single = re.search(r"(?<![=!<>])=(?!=)", text)
        if single is not None:
            hint_zh, hint_en = "（比较相等请用 ==）", " (to compare, use ==)"
            before = text[: single.start()]
            line, col = before.count("\n") + 2, len(before.rsplit("\n", 1)[-1]) + 1
        return ExprError("syntax", f"语法错误{hint_zh}", f"syntax error{hint_en}",
                         source=text, line=max(line - 1, 1), column=col)

    def _shape(self, tree: ast.AST) -> None:
        """Whitelist, size and depth, without recursion (deep trees are refused here)."""
        stack: list[tuple[ast.AST, int]] = [(tree, 0)]
        count = 0
        while stack:
            node, depth = stack.pop()
            count += 1
            if depth > limits.MAX_DEPTH:
                raise self.err(node, "too_deep", "表达式嵌套过深",
                               "the expression is nested too deeply")
            if count > limits.MAX_NODES:
                raise self.err(node, "too_big", "表达式过大", "the expression is too big")
            if not isinstance(node, _ALLOWED):
                raise self._not_allowed(node)
            stack.extend((c, depth + 1) for c in ast.iter_child_nodes(node))

    def _not_allowed(self, node: ast.AST) -> ExprError:
        kind = type(node).__name__
        what = {"Subscript": ("下标访问", "subscripts"), "Lambda": ("lambda", "lambdas"),
                "ListComp": ("推导式", "comprehensions"), "GeneratorExp": ("推导式",
                             "comprehensions"),
                "SetComp": ("推导式", "comprehensions"), "DictComp": ("推导式", "comprehensions"),
                "JoinedStr": ("格式字符串", "format strings"), "NamedExpr": ("赋值", "assignments"),
                "Starred": ("星号参数", "starred arguments"), "Dict": ("字典", "dictionaries"),
                "Set": ("集合", "sets"), "Await": ("await", "await"),
                "Yield": ("yield", "yield")}.get(kind, (kind, kind))
        return self.err(node, "not_allowed", f"不允许使用{what[0]}",
                        f"{what[1]} are not allowed" if what[1] != kind
                        else f"{kind} is not allowed")

    # ------------------------------------------------------------------ nodes
    def check(self, tree: ast.Expression) -> n.Node:
        where = Where(self.scope, _fields_of(self.scope))
        return self.node(tree.body, where)

    def node(self, node: ast.expr, where: Where) -> n.Node:
        p = self.pos(node)
        if isinstance(node, ast.Constant):
            return self.constant(node, p)
        if isinstance(node, ast.Name):
            return self.name(node, where, p)
        if isinstance(node, ast.Attribute):
            return self.attribute(node, where, p)
        if isinstance(node, ast.BoolOp):
            items = tuple(self.boolean(v, where) for v in node.values)
            return n.BoolOp(type=T.BOOLEAN, nullable=False, pos=p,
                            op="and" if isinstance(node.op, ast.And) else "or", items=items)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node, where, p)
        if isinstance(node, ast.BinOp):
            return self.binop(node, where, p)
        if isinstance(node, ast.Compare):
            return self.compare(node, where, p)
        if isinstance(node, ast.IfExp):
            return self.cond(self.boolean(node.test, where), self.node(node.body, where),
                             self.node(node.orelse, where), p)
        if isinstance(node, ast.List | ast.Tuple):
            if len(node.elts) > limits.MAX_LIST_LITERAL:
                raise self.err(node, "too_big", "列表过长", "the list is too long")
            items = tuple(self.node(e, where) for e in node.elts)
            return n.ListLit(type=T.LIST, item=unify([i.type for i in items]), nullable=False,
                             pos=p, items=items)
        if isinstance(node, ast.Call):
            from engines.expr.checker_calls import check_call

            return check_call(self, node, where, p)
        raise self._not_allowed(node)

    def constant(self, node: ast.Constant, p: tuple[int, int]) -> n.Node:
        v = node.value
        if v is None:
            return n.Const(type=T.NULL, pos=p, value=None)
        if isinstance(v, bool):
            return n.Const(type=T.BOOLEAN, nullable=False, pos=p, value=v)
        if isinstance(v, int):
            return n.Const(type=T.INTEGER, nullable=False, pos=p, value=v)
        if isinstance(v, float):
            if not math.isfinite(v):
                raise self.err(node, "bad_number", "数值超出范围", "the number is out of range")
            return n.Const(type=T.NUMBER, nullable=False, pos=p, value=v)
        if isinstance(v, str):
            return n.Const(type=T.TEXT, nullable=False, pos=p, value=v)
        raise self.err(node, "not_allowed", f"不允许的常量 {type(v).__name__}",
                       f"constants of kind {type(v).__name__} are not allowed")

    def _ascii_name(self, node: ast.AST, name: str) -> None:
        """Python folds look-alike letters (NFKC); names must be written in plain ASCII."""
        line, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
        end = getattr(node, "end_col_offset", None)
        raw = self._lines[line - 1][col:end] if 0 < line <= len(self._lines) else b""
        if not raw.isascii() or name.startswith("_"):
            raise self.err(node, "bad_name",
                           f"名称 {name} 不允许（只能用 ASCII 字母，且不以 _ 开头）",
                           f"the name {name} is not allowed (ASCII letters only, no leading _)")

    def _field_var(self, fld: Field, kind: str, key: str, p: tuple[int, int],
                   sub: str = "") -> n.Var:
        item = fld.item
        return n.Var(type=fld.type, item=item, pos=p, kind=kind, key=key, sub=sub)

    def name(self, node: ast.Name, where: Where, p: tuple[int, int]) -> n.Node:
        self._ascii_name(node, node.id)
        key = node.id
        if key in RESERVED:
            raise self.err(node, "bad_name", f"{key} 须带字段名，如 {key}.amount",
                           f"{key} needs a field name, as in {key}.amount")
        fld = where.fields.get(key)
        if fld is not None:
            return self._field_var(fld, "field", key, p)
        if key in self.scope.names:  # also inside an aggregate: a value, bound as such
            return n.Var(type=self.scope.names[key], pos=p, kind="name", key=key)
        if key.upper() in FUNCTIONS:
            raise self.err(node, "not_called", f"{key} 是函数，需加括号调用，如 {key.upper()}()",
                           f"{key} is a function; call it with parentheses, as in {key.upper()}()")
        raise self._unknown(node, key, list(where.fields) + list(self.scope.names))

    def _unknown(self, node: ast.AST, key: str, known: list[str]) -> ExprError:
        close = difflib.get_close_matches(key, known, n=1)
        zh_hint = f"，是否想用 {close[0]}？" if close else ""
        en_hint = f"; did you mean {close[0]}?" if close else ""
        return self.err(node, "unknown_name", f"未知字段 {key}{zh_hint}",
                        f"unknown field {key}{en_hint}")

    def attribute(self, node: ast.Attribute, where: Where, p: tuple[int, int]) -> n.Node:
        base, attr = node.value, node.attr
        if attr.startswith("_") or not attr.isascii():
            raise self.err(node, "not_allowed", "不允许访问该属性",
                           f"the attribute {attr} is not allowed")
        if not isinstance(base, ast.Name):
            raise self.err(node, "not_allowed", "只能在 record、old、user 或子表上取字段",
                           "fields can only be read from record, old, user or a subform")
        self._ascii_name(base, base.id)
        if base.id == "record":
            fields = where.outer if where.outer is not None else where.fields
            fld = fields.get(attr)
            if fld is None:
                raise self._unknown(node, attr, list(fields))
            return self._field_var(fld, "outer" if where.outer is not None else "field", attr, p)
        if base.id == "old":
            fld = where.fields.get(attr) if where.outer is None else None
            if fld is None:
                raise self._unknown(node, attr, list(where.fields))
            return self._field_var(fld, "old", attr, p)
        if base.id == "user":
            ufld = USER_ATTRS.get(attr)
            if ufld is None:
                raise self._unknown(node, attr, list(USER_ATTRS))
            return self._field_var(ufld, "user", attr, p)
        sub = where.fields.get(base.id)
        if sub is not None and sub.type is T.SUBFORM:
            col = (sub.fields or {}).get(attr)
            if col is None:
                raise self._unknown(node, attr, list(sub.fields or {}))
            return n.Var(type=T.LIST, item=col.type, pos=p, kind="column", key=base.id, sub=attr)
        raise self.err(node, "not_allowed", f"{base.id} 没有字段 {attr}",
                       f"{base.id} has no field {attr} (only record, old, user and subforms do)")

    # ------------------------------------------------------------------ typing
    def boolean(self, node: ast.expr, where: Where) -> n.Node:
        out = self.node(node, where)
        if out.type not in (T.BOOLEAN, T.ANY, T.NULL):
            raise self.err(node, "not_boolean", f"这里需要条件（真/假），而不是{_zh(out.type)}",
                           f"a condition (true/false) is needed here, not {an(out.type)}")
        return out

    def cond(self, test: n.Node, then: n.Node, orelse: n.Node, p: tuple[int, int]) -> n.Node:
        t = unify([then.type, orelse.type])
        return n.Cond(type=t, item=then.item, pos=p, test=test, then=then, orelse=orelse,
                      nullable=then.nullable or orelse.nullable)

    def unary(self, node: ast.UnaryOp, where: Where, p: tuple[int, int]) -> n.Node:
        if isinstance(node.op, ast.Not):
            operand = self.boolean(node.operand, where)
            return n.Unary(type=T.BOOLEAN, nullable=False, pos=p, op="not", operand=operand)
        operand = self.node(node.operand, where)
        if operand.type not in (*NUMERIC, T.DURATION, T.ANY, T.NULL):
            raise self.err(node, "type_mismatch",
                           f"正负号只能用于数字，不能用于{_zh(operand.type)}",
                           f"a sign needs a number, not {an(operand.type)}")
        if isinstance(operand, n.Const) and isinstance(node.op,
                      ast.USub) and operand.value is not None:
            return n.Const(type=operand.type, nullable=False, pos=p, value=-operand.value)
        return n.Unary(type=operand.type, nullable=operand.nullable, pos=p,
                       op="neg" if isinstance(node.op, ast.USub) else "pos", operand=operand)

    def binop(self, node: ast.BinOp, where: Where, p: tuple[int, int]) -> n.Node:
        op = _BIN[type(node.op)]
        left, right = self.node(node.left, where), self.node(node.right, where)
        t = binop_type(op, left.type, right.type)
        if t is None:
            raise self.err(node, "type_mismatch",
                           f"{_zh(left.type)} {op} {_zh(right.type)} 无法计算",
                           f"cannot compute {left.type.value} {op} {right.type.value}")
        nullable = t in (T.DATE, T.DATETIME, T.DURATION, T.TIME, T.ANY) or op in ("/", "%")
        if isinstance(left, n.Const) and isinstance(right, n.Const) and op in ("**", "*"):
            self._fold(node, op, left.value, right.value)
        return n.Bin(type=t, nullable=nullable, pos=p, op=op, left=left, right=right)

    def _fold(self, node: ast.AST, op: str, a: object, b: object) -> None:
        """Constant powers and products are tried now, so `9**4000000` is refused when
        saved rather than when run."""
        from engines.expr import ops

        try:
            ops.power(a, b) if op == "**" else ops.mul(a, b)
        except ExprError as exc:
            raise self.err(node, exc.code, exc.message["zh"], exc.message["en"]) from None

    def compare(self, node: ast.Compare, where: Where, p: tuple[int, int]) -> n.Node:
        left = self.node(node.left, where)
        parts: list[n.Node] = []
        for op_node, right_ast in zip(node.ops, node.comparators, strict=True):
            op = _CMP[type(op_node)]
            right = self.node(right_ast, where)
            if op in ("in", "notin"):
                if right.type not in (T.LIST, T.SUBFORM, T.TEXT, T.ANY, T.NULL):
                    raise self.err(right_ast, "type_mismatch", "in 的右边须是列表或文本",
                                   "the right side of in must be a list or a text")
            elif not comparable(left.type, right.type):
                raise self.err(node, "type_mismatch",
                               f"不能比较{_zh(left.type)}和{_zh(right.type)}",
                               f"cannot compare {an(left.type)} with {an(right.type)}")
            parts.append(n.Cmp(type=T.BOOLEAN, nullable=False, pos=p, op=op, left=left,
                               right=right))
            left = right
        if len(parts) == 1:
            return parts[0]
        return n.BoolOp(type=T.BOOLEAN, nullable=False, pos=p, op="and", items=tuple(parts))

    def function(self, node: ast.Call) -> Fn:
        if not isinstance(node.func, ast.Name):
            raise self.err(node, "not_allowed", "只能调用函数库中的函数",
                           "only functions of the library can be called")
        name = node.func.id
        self._ascii_name(node.func, name)
        fn = FUNCTIONS.get(name)
        if fn is None:
            close = difflib.get_close_matches(name.upper(), list(FUNCTIONS), n=1)
            hint = close[0] if close else ""
            raise self.err(node, "unknown_function",
                           f"未知函数 {name}" + (f"，是否想用 {hint}？" if hint else ""),
                           f"unknown function {name}" + (f"; did you mean {hint}?" if hint else ""))
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.err(node, "not_allowed", "函数参数不能带名字或星号",
                           "function arguments cannot be named or starred")
        return fn

    def aggregate_scope(self, form: str, where: Where, node: ast.AST) -> Where:
        fields = self.scope.forms.get(form)
        if fields is None:
            raise self._unknown_form(node, form)
        return Where(self.scope, {**SYSTEM_FIELDS, **fields}, outer=where.fields)

    def _unknown_form(self, node: ast.AST, form: str) -> ExprError:
        close = difflib.get_close_matches(form, list(self.scope.forms), n=1)
        return self.err(node, "unknown_form",
                        f"未知表单 {form}" + (f"，是否想用 {close[0]}？" if close else ""),
                        f"unknown form {form}" + (f"; did you mean {close[0]}?" if close else ""))


def _fields_of(scope: Scope) -> dict[str, Field]:
    return {**SYSTEM_FIELDS, **scope.fields}


_ZH = {T.TEXT: "文本", T.NUMBER: "数字", T.MONEY: "金额", T.INTEGER: "整数", T.BOOLEAN: "真假值",
       T.DATE: "日期", T.DATETIME: "日期时间", T.TIME: "时间", T.DURATION: "时长", T.LIST: "列表",
       T.RECORD: "记录", T.SUBFORM: "子表", T.ANY: "任意值", T.NULL: "空值"}


def _zh(t: T) -> str:
    return _ZH[t]
