"""The shared JsonLogic suite, read from where it lives (never copied into the repo)."""

from __future__ import annotations

import json
from typing import Any

from corpora import corpus_path

from engines.expr import Field, Scope, T

SUITE = corpus_path("jsonlogic") / "tests.json"


def load_cases() -> list[tuple[Any, Any, Any]]:
    data = json.loads(SUITE.read_text(encoding="utf-8"))
    return [(c[0], c[1], c[2]) for c in data if isinstance(c, list)]


def _type_of(value: Any) -> Field:
    if isinstance(value, bool):
        return Field(T.BOOLEAN)
    if isinstance(value, int | float):
        return Field(T.NUMBER)
    if isinstance(value, str):
        return Field(T.TEXT)
    if isinstance(value, list):
        return Field(T.LIST)
    return Field(T.ANY)


def _vars(rule: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(rule, dict):
        for op, arg in rule.items():
            if op == "var":
                first = arg[0] if isinstance(arg, list) and arg else arg
                if isinstance(first, str):
                    found.add(first)
            found |= _vars(arg)
    elif isinstance(rule, list):
        for item in rule:
            found |= _vars(item)
    return found


def scope_for(rule: Any, data: Any) -> Scope:
    values = data if isinstance(data, dict) else {}
    fields = {k: _type_of(values.get(k)) for k in _vars(rule) if k.isidentifier()}
    return Scope(fields)


