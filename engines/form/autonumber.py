"""Running numbers (流水号) such as `TK-{YYYY}{MM}-{0000}`: pure formatting.

The store owns the counters (one sequence row per form, field and period, incremented
in the writing transaction); this module only says which period a moment falls in
(`period_key`) and how the n-th number of that period is written
(`format_autonumber`). `when` is the creation time already converted to the
deployment's time zone (DESIGN §10), so a number issued at 23:30 UTC on 31 January
belongs to February in Shanghai.

Tokens: `{YYYY}` `{YY}` `{MM}` `{DD}` for the date, `{0…0}` (1-12 zeros) for the
counter padded to that width (a larger number simply grows). Every other character
is literal; a pattern has exactly one counter.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

Reset = Literal["never", "year", "month", "day"]

TOKEN = re.compile(r"\{([^{}]*)\}")
_DATE_TOKENS = frozenset({"YYYY", "YY", "MM", "DD"})


def pattern_problems(pattern: str) -> list[tuple[str, str, str]]:
    """(code, zh, en) for each problem of a pattern; empty when it is usable."""
    problems: list[tuple[str, str, str]] = []
    counters = 0
    for token in TOKEN.findall(pattern):
        if re.fullmatch(r"0{1,12}", token):
            counters += 1
        elif token not in _DATE_TOKENS:
            problems.append(("autonumber_token", f"未知的编号占位符 {{{token}}}",
                             f"Unknown token {{{token}}} in the number pattern"))
    if counters != 1:
        problems.append(("autonumber_counter", "编号规则必须恰好包含一个计数器，如 {0000}",
                         "A number pattern needs exactly one counter such as {0000}"))
    if "{" in TOKEN.sub("", pattern) or "}" in TOKEN.sub("", pattern):
        problems.append(("autonumber_brace", "编号规则中的花括号不成对",
                         "Unbalanced braces in the number pattern"))
    return problems


def period_key(reset: Reset, when: date) -> str:
    """The counter's period: '' (never resets), 'YYYY', 'YYYY-MM' or 'YYYY-MM-DD'."""
    if reset == "year":
        return f"{when.year:04d}"
    if reset == "month":
        return f"{when.year:04d}-{when.month:02d}"
    if reset == "day":
        return f"{when.year:04d}-{when.month:02d}-{when.day:02d}"
    return ""


def format_autonumber(pattern: str, n: int, when: date) -> str:
    """The n-th number of the period containing `when`."""
    def token(found: re.Match[str]) -> str:
        name = found.group(1)
        if name == "YYYY":
            return f"{when.year:04d}"
        if name == "YY":
            return f"{when.year % 100:02d}"
        if name == "MM":
            return f"{when.month:02d}"
        if name == "DD":
            return f"{when.day:02d}"
        return str(n).zfill(len(name))
    return TOKEN.sub(token, pattern)
