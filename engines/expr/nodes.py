"""The checked, typed tree both back ends translate. Built once by the checker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engines.expr.registry import Fn
from engines.expr.types import T


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    type: T
    item: T = T.ANY          # element type when `type` is LIST
    nullable: bool = True
    pos: tuple[int, int] = (0, 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Const(Node):
    value: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Var(Node):
    """A name read from somewhere.

    kind: `field` (the record in scope, or the other form inside an aggregate),
    `outer` (`record.x` inside an aggregate condition), `old`, `user`, `name`
    (an extra scope name), `column` (`lines.subtotal`: key is the subform, sub the column).
    """

    kind: str
    key: str
    sub: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Unary(Node):
    op: str                  # neg | not | pos
    operand: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Bin(Node):
    op: str                  # + - * / % ** &
    left: Node
    right: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Cmp(Node):
    op: str                  # == != < <= > >= in notin
    left: Node
    right: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class BoolOp(Node):
    op: str                  # and | or
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Cond(Node):
    """IF / IFS / SWITCH / `a if c else b`: only the branch taken is evaluated."""

    test: Node
    then: Node
    orelse: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Call(Node):
    fn: Fn
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Agg(Node):
    """COUNT/SUM/AVG/MIN/MAX over the live records of `form` matching `condition`."""

    func: str
    form: str
    condition: Node | None
    value: Node | None
    source: str              # the condition's and value's text, for the Compiled parts
    condition_source: str
    value_source: str


def walk(node: Node) -> list[Node]:
    """Every node of the tree, parents first (aggregates' inner trees excluded)."""
    out: list[Node] = []
    stack = [node]
    while stack:
        n = stack.pop()
        out.append(n)
        if isinstance(n, Unary):
            stack.append(n.operand)
        elif isinstance(n, Bin | Cmp):
            stack.extend((n.right, n.left))
        elif isinstance(n, BoolOp | ListLit):
            stack.extend(reversed(n.items))
        elif isinstance(n, Cond):
            stack.extend((n.orelse, n.then, n.test))
        elif isinstance(n, Call):
            stack.extend(reversed(n.args))
    return out
