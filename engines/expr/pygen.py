"""The Python back end: the typed tree becomes Python source for one function, compiled
once with `compile()`; evaluating is then one call, with no tree walk.

Only this module writes the source, from checked nodes: user text reaches it solely as
`repr()` of constants and field keys (ASCII identifiers), so the generated code can do
nothing the tree does not say. Common cases are inlined (a number or text compared
with a constant); blanks, money, dates and bounds go through `ops`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import InvalidOperation
from decimal import Overflow as DecimalOverflow
from typing import Any

from engines.expr import nodes as n
from engines.expr import ops
from engines.expr.types import NUMERIC, ExprError, T

_PLAIN_NUM = (T.INTEGER, T.NUMBER)
_CATCH = (TypeError, ValueError, ArithmeticError, AttributeError, KeyError, IndexError,
          RecursionError, OverflowError)
_EMPTY: dict[str, Any] = {}


def _runtime_error(exc: BaseException) -> ExprError:
    if isinstance(exc, InvalidOperation | DecimalOverflow | OverflowError):
        # A result with more digits than exact decimals hold (money at 1e-300 scale,
        # 1e300 squared): the number is out of range, not a mistake in the expression.
        return ExprError("out_of_range", "数值超出可计算范围",
                         "the number is out of the range that can be computed")
    return ExprError("eval_error", f"计算出错：{type(exc).__name__}",
                     f"evaluation failed: {type(exc).__name__}: {str(exc)[:200]}")


def _user_attr(env: Any, key: str) -> Any:
    user = ops.need_env(env).user
    if user is None:
        return None
    value = getattr(user, key)
    return list(value) if key == "roles" else value


_HELPERS: dict[str, Any] = {
    "_E": _EMPTY, "_eq": ops.eq, "_ne": ops.ne, "_lt": ops.lt, "_le": ops.le, "_gt": ops.gt,
    "_ge": ops.ge, "_blank": ops.blank, "_truthy": ops.truthy, "_contains": ops.contains,
    "_cat": ops.cat, "_add": ops.add, "_sub": ops.sub, "_mul": ops.mul, "_div": ops.div,
    "_mod": ops.mod, "_pow": ops.power, "_neg": ops.neg, "_column": ops.column,
    "_inst": ops.as_instant, "_need": ops.need_env, "_user_attr": _user_attr,
    "_Catch": _CATCH, "_dec": ops.dec, "_runtime": _runtime_error, "_list": ops.bounded_list,
    "_as_num": ops.as_number, "_as_int": ops.as_integer, "_as_money": ops.as_money,
}
_DEC, _PLAIN = "dec", "plain"
_KIND_OF: dict[T, frozenset[str]] = {
    T.MONEY: frozenset({_DEC}), T.NUMBER: frozenset({_PLAIN}), T.INTEGER: frozenset({_PLAIN}),
    T.ANY: frozenset({_DEC, _PLAIN}),
}
_COERCE = {T.NUMBER: "_as_num", T.INTEGER: "_as_int", T.MONEY: "_as_money"}


def _kinds(node: n.Node) -> frozenset[str]:
    """The Python number kinds (Decimal, plain) `node` may hold at run time, by its
    type: a list literal by its items, another list by its item type."""
    if isinstance(node, n.ListLit):
        return frozenset().union(*(_kinds(i) for i in node.items))
    if node.type in (T.LIST, T.SUBFORM):
        return _KIND_OF.get(node.item, frozenset())
    return _KIND_OF.get(node.type, frozenset())


def _needs_coercion(t: T, inputs: frozenset[str], blank_inputs: bool = False) -> bool:
    """Whether a result typed `t` computed from `inputs` may come out of the wrong kind.

    Blank inputs count for money: blank + blank is 0 and SUM of blanks is 0 — plain
    ints, whatever the operands' type — so money computed from a blankable operand is
    made exact again."""
    if t is T.MONEY:
        return _PLAIN in inputs or blank_inputs
    return t in (T.NUMBER, T.INTEGER) and _DEC in inputs


_ORDER = {"<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge"}


class PyGen:
    """Writes one expression's source; constants that are objects go in `namespace`."""

    def __init__(self, make_part: Callable[[str, n.Node], Any]) -> None:
        self.namespace: dict[str, Any] = dict(_HELPERS)
        self._make_part = make_part

    def bind(self, value: Any) -> str:
        name = f"_k{len(self.namespace)}"
        self.namespace[name] = value
        return name

    # -------------------------------------------------------------- value forms
    def num(self, node: n.Node) -> str:
        code = self.py(node)
        return f"({code} or 0)" if node.nullable else code

    def money(self, node: n.Node) -> str:
        """A number as an exact Decimal (constants converted once, here)."""
        if isinstance(node, n.Const) and node.value is not None:
            return self.bind(ops.dec(node.value))
        if node.type is T.MONEY:
            return self.num(node)
        return f"_dec({self.py(node)})"

    def txt(self, node: n.Node) -> str:
        code = self.py(node)
        return f"({code} or '')" if node.nullable else code

    def boolean(self, node: n.Node) -> str:
        if isinstance(node, n.Const):
            return "True" if node.value is True else "False"
        code = self.py(node)
        if node.type is T.BOOLEAN:
            return f"({code} is True)" if node.nullable else code
        return f"_truthy({code})"

    # -------------------------------------------------------------- nodes
    def py(self, node: n.Node) -> str:
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node)  # type: ignore[no-any-return]

    def _const(self, node: n.Const) -> str:
        return repr(node.value)

    def _var(self, node: n.Var) -> str:
        key = repr(node.key)
        if node.kind in ("field", "name"):
            return f"v.get({key})"
        if node.kind == "outer":
            return f"(v.get('record') or _E).get({key})"
        if node.kind == "old":
            return f"(v.get('old') or _E).get({key})"
        if node.kind == "user":
            return f"_user_attr(env, {key})"
        return f"_column(v.get({key}), {node.sub!r})"

    def _unary(self, node: n.Unary) -> str:
        if node.op == "not":
            return f"(not {self.boolean(node.operand)})"
        if node.op == "pos":
            return self.py(node.operand)
        return f"_neg({self.py(node.operand)})" if node.operand.nullable else \
            f"(-{self.py(node.operand)})"

    def _bin(self, node: n.Bin) -> str:
        a, b, op = node.left, node.right, node.op
        plain = a.type in _PLAIN_NUM and b.type in _PLAIN_NUM
        if op in ("+", "-") and plain:
            return f"({self.num(a)} {op} {self.num(b)})"
        if op == "&" or (op == "+" and a.type is T.TEXT and b.type is T.TEXT):
            return f"_cat({self.py(a)}, {self.py(b)})"
        helper = {"+": "_add", "-": "_sub", "*": "_mul", "/": "_div", "%": "_mod",
                  "**": "_pow"}[op]
        code = f"{helper}({self.py(a)}, {self.py(b)})"
        # money / money is a plain ratio; blank money + a number is still money
        if op != "**" and _needs_coercion(node.type, _kinds(a) | _kinds(b),
                                          a.nullable or b.nullable):
            return self.coerce(node.type, code)
        return code

    def _cmp(self, node: n.Cmp) -> str:
        a, b, op = node.left, node.right, node.op
        if op in ("in", "notin"):
            code = f"_contains({self.py(b)}, {self.py(a)})"
            return code if op == "in" else f"(not {code})"
        if T.NULL in (a.type, b.type) and op in ("==", "!="):
            other = b if a.type is T.NULL else a
            code = f"_blank({self.py(other)})"
            return code if op == "==" else f"(not {code})"
        if a.type in NUMERIC and b.type in NUMERIC:
            if T.MONEY in (a.type, b.type) and T.NUMBER in (a.type, b.type):
                # Decimal("0.1") != 0.1 in Python: compare money with exact decimals
                return f"({self.money(a)} {op} {self.money(b)})"
            return f"({self.num(a)} {op} {self.num(b)})"
        if a.type is T.TEXT and b.type is T.TEXT:
            return f"({self.txt(a)} {op} {self.txt(b)})"
        if a.type is T.BOOLEAN and b.type is T.BOOLEAN and op in ("==", "!="):
            return f"({self.boolean(a)} {op} {self.boolean(b)})"
        left, right = self.py(a), self.py(b)
        if {a.type, b.type} == {T.DATE, T.DATETIME}:
            left, right = f"_inst(env, {left})", f"_inst(env, {right})"
        if op == "==":
            return f"_eq({left}, {right})"
        if op == "!=":
            return f"_ne({left}, {right})"
        return f"{_ORDER[op]}({left}, {right})"

    def _boolop(self, node: n.BoolOp) -> str:
        return "(" + f" {node.op} ".join(self.boolean(i) for i in node.items) + ")"

    def _cond(self, node: n.Cond) -> str:
        then, orelse = self.branch(node.type, node.then), self.branch(node.type, node.orelse)
        return f"({then} if {self.boolean(node.test)} else {orelse})"

    def branch(self, t: T, node: n.Node) -> str:
        """One branch of an IF as the IF's type (a number branch of a money IF exact)."""
        code = self.py(node)
        return self.coerce(t, code) if _needs_coercion(t, _kinds(node), node.nullable) \
            else code

    def coerce(self, t: T, code: str) -> str:
        return f"{_COERCE[t]}({code})"

    def _listlit(self, node: n.ListLit) -> str:
        return "[" + ", ".join(self.py(i) for i in node.items) + "]"

    def _call(self, node: n.Call) -> str:
        fn = node.fn
        if fn.impl is None:  # a special form the checker should have rewritten
            raise ExprError("internal", f"{fn.name} 无法计算", f"{fn.name} cannot be evaluated")
        name = f"_f_{fn.name}"
        self.namespace[name] = fn.impl
        args = [self.py(a) for a in node.args]
        if fn.needs_env:
            args.insert(0, "env")
        code = f"{name}({', '.join(args)})"
        inputs = frozenset().union(*(_kinds(a) for a in node.args))
        blank = any(a.nullable for a in node.args)
        return self.coerce(node.type, code) if _needs_coercion(node.type, inputs, blank) \
            else code

    def _agg(self, node: n.Agg) -> str:
        cond_node = node.condition or n.Const(type=T.BOOLEAN, nullable=False, value=True)
        cond = self.bind(self._make_part(node.condition_source or "True", cond_node))
        value = self.bind(self._make_part(node.value_source, node.value)) \
            if node.value is not None else "None"
        code = f"_need(env).aggregate({node.func!r}, {node.form!r}, {cond}, {value}, v)"
        # what the database hands back (PostgreSQL numeric, SQLite float) takes the type
        return self.coerce(node.type, code) if node.type in _COERCE else code


def build(source: str, node: n.Node, make_part: Callable[[str, n.Node], Any]) -> Callable[..., Any]:
    """The evaluation function for `node`: `f(values, env=None)`."""
    gen = PyGen(make_part)
    body = gen.py(node)
    src = ("def _evaluate(v, env=None):\n"
           "    try:\n"
           f"        return {body}\n"
           "    except _Catch as exc:\n"
           "        raise _runtime(exc).at(_src, 1, 1) from None\n"
           "    except _ExprError as exc:\n"
           "        raise exc.at(_src, 1, 1) from None\n")
    namespace = gen.namespace
    namespace["__builtins__"] = {}
    namespace["_src"] = source
    namespace["_ExprError"] = ExprError
    code = compile(src, "<loom-expr>", "exec")
    exec(code, namespace)  # noqa: S102 - source built from checked nodes only
    fn: Callable[..., Any] = namespace["_evaluate"]
    fn.__loom_source__ = src  # type: ignore[attr-defined]
    return fn
