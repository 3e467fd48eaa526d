"""Checking function calls: argument counts and kinds, special forms, aggregates."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from engines.expr import nodes as n
from engines.expr.functions_agg import AGGREGATES
from engines.expr.registry import Fn
from engines.expr.types import NUMERIC, T, an

if TYPE_CHECKING:
    from engines.expr.checker import Checker, Where

_KINDS: dict[str, tuple[T, ...]] = {
    "number": (*NUMERIC,),
    "numbers": (*NUMERIC, T.LIST),
    "text": (T.TEXT,),
    "boolean": (T.BOOLEAN,),
    "date": (T.DATE, T.DATETIME),
    "list": (T.LIST, T.SUBFORM),
}
_KIND_ZH = {"number": "数字", "numbers": "数字或列表", "text": "文本", "boolean": "条件",
            "date": "日期", "list": "列表"}


def _count_error(c: Checker, node: ast.Call, fn: Fn) -> Exception:
    most = fn.max_args
    want = f"{fn.min_args}" if most == fn.min_args else (
        f"{fn.min_args}+" if most is None else f"{fn.min_args}-{most}")
    got = len(node.args)
    return c.err(node, "wrong_arg_count",
                 f"{fn.name} 需要 {want} 个参数，实际 {got} 个：{fn.signature()}",
                 f"{fn.name} takes {want} arguments, {got} given: {fn.signature()}")


def _arg_ok(kind: str, arg: n.Node) -> bool:
    if kind == "any" or arg.type in (T.ANY, T.NULL):
        return True
    if kind == "numbers" and arg.type is T.LIST:
        return arg.item in (*NUMERIC, T.ANY, T.NULL)
    return arg.type in _KINDS.get(kind, ())


def check_call(c: Checker, node: ast.Call, where: Where, p: tuple[int, int]) -> n.Node:
    fn = c.function(node)
    args_ast = node.args
    if fn.name in AGGREGATES and args_ast and isinstance(args_ast[0], ast.Constant) \
            and isinstance(args_ast[0].value, str):
        return _aggregate(c, fn.name, node, where, p)
    if len(args_ast) < fn.min_args or (fn.max_args is not None and len(args_ast) > fn.max_args):
        raise _count_error(c, node, fn)
    if fn.name in ("AND", "OR"):
        items = tuple(c.boolean(a, where) for a in args_ast)
        return n.BoolOp(type=T.BOOLEAN, nullable=False, pos=p, op=fn.name.lower(), items=items)
    if fn.name == "IF":
        orelse = c.node(args_ast[2], where) if len(args_ast) > 2 else n.Const(
            type=T.NULL, pos=p, value=None)
        return c.cond(c.boolean(args_ast[0], where), c.node(args_ast[1], where), orelse, p)
    if fn.name == "IFS":
        if len(args_ast) % 2:
            raise c.err(node, "wrong_arg_count", "IFS 的参数须成对出现：条件, 值, …",
                        "IFS takes pairs of arguments: condition, value, …")
        out: n.Node = n.Const(type=T.NULL, pos=p, value=None)
        for i in range(len(args_ast) - 2, -1, -2):
            out = c.cond(c.boolean(args_ast[i], where), c.node(args_ast[i + 1], where), out, p)
        return out
    if fn.name == "SWITCH":
        return _switch(c, node, where, p)
    if fn.name in ("COUNT", "AVG"):
        raise c.err(node, "bad_aggregate",
                    f"{fn.name} 的第一个参数须是表单名（字符串），如 {fn.name}(\"complaint\", …)；"
                    "统计列表请用 COUNTA",
                    f"{fn.name}'s first argument must be a form key in quotes, as in "
                    f"{fn.name}(\"complaint\", …); to count a list use COUNTA")
    args = tuple(c.node(a, where) for a in args_ast)
    for i, (arg, a_ast) in enumerate(zip(args, args_ast, strict=True)):
        kind = fn.kind_of(i)
        if not _arg_ok(kind, arg):
            raise c.err(a_ast, "wrong_arg_type",
                        f"{fn.name} 的第 {i + 1} 个参数须为{_KIND_ZH.get(kind, kind)}，"
                        f"实际是{_zh(arg.type)}",
                        f"argument {i + 1} of {fn.name} must be a {kind}, "
                        f"not {an(arg.type)}")
    types = [a.item if fn.kind_of(i) == "numbers" and a.type is T.LIST else a.type
             for i, a in enumerate(args)]
    result = fn.result(types)
    item = T.TEXT if fn.name == "USER" else T.ANY
    return n.Call(type=result, item=item, nullable=fn.nullable, pos=p, fn=fn, args=args)


def _zh(t: T) -> str:
    from engines.expr.checker import _zh as zh

    return zh(t)


def _switch(c: Checker, node: ast.Call, where: Where, p: tuple[int, int]) -> n.Node:
    subject = c.node(node.args[0], where)
    rest = node.args[1:]
    default: n.Node = n.Const(type=T.NULL, pos=p, value=None)
    if len(rest) % 2:
        default = c.node(rest[-1], where)
        rest = rest[:-1]
    out = default
    for i in range(len(rest) - 2, -1, -2):
        match = c.node(rest[i], where)
        test = n.Cmp(type=T.BOOLEAN, nullable=False, pos=match.pos, op="==", left=subject,
                     right=match)
        out = c.cond(test, c.node(rest[i + 1], where), out, p)
    return out


def _aggregate(c: Checker, func: str, node: ast.Call, where: Where,
               p: tuple[int, int]) -> n.Node:
    if where.outer is not None:
        raise c.err(node, "nested_aggregate", "汇总函数不能嵌套", "aggregates cannot be nested")
    form_node = node.args[0]
    form = str(getattr(form_node, "value", ""))
    inner = c.aggregate_scope(form, where, form_node)
    rest = node.args[1:]
    wants_value = func != "COUNT"
    most = 2 if wants_value else 1
    if len(rest) > most or (wants_value and not rest):
        shape = f'{func}("form", condition)' if not wants_value else \
            f'{func}("form", field, condition)'
        raise c.err(node, "wrong_arg_count", f"用法：{shape}", f"usage: {shape}")
    value = c.node(rest[0], inner) if wants_value else None
    if value is not None and func in ("SUM", "AVG") and value.type not in (*NUMERIC, T.ANY):
        raise c.err(rest[0], "wrong_arg_type", f"{func} 须汇总数字字段",
                    f"{func} needs a number field")
    cond_ast = rest[-1] if len(rest) == most else None
    condition = c.boolean(cond_ast, inner) if cond_ast is not None else None
    if func == "COUNT":
        t = T.INTEGER
    elif func == "AVG":
        t = T.MONEY if value is not None and value.type is T.MONEY else T.NUMBER
    else:
        t = value.type if value is not None else T.NUMBER
    return n.Agg(type=t, nullable=func not in ("COUNT", "SUM"), pos=p, func=func,
                 form=form, condition=condition, value=value,
                 source=ast.get_source_segment(c.wrapped, node) or "",
                 condition_source=(ast.get_source_segment(c.wrapped, cond_ast) or "")
                 if cond_ast is not None else "",
                 value_source=(ast.get_source_segment(c.wrapped, rest[0]) or "")
                 if wants_value else "")
