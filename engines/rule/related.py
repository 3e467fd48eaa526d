"""`target.x` in `update_related` values: a field of the related record being updated.

The expression language reads attributes only on `record`, `old` and `user`, and a
rule's value expressions are over the triggering record. So that a value can compare
the two records (a promise's own due time with the invoice's settlement date), the
rule compiler rewrites each `target.x` to the extra scope name `target_x`, declared
with the type of field `x` of the related form. The rewrite keeps the source's length
(the dot becomes an underscore), so the line and column of an error still point at
what the analyst wrote. Runtime then evaluates such a value once per related record,
binding `target_x` to that record's `x` (`engines.rule.actions.related_values`).

Only names written exactly `target.x` are rewritten (not `record.target.x`, not
inside string literals); a form field called `target_x` on the rule's form would be
ambiguous and is refused by the compiler.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass

TARGET = "target"
PREFIX = "target_"


@dataclass(frozen=True, slots=True)
class TargetRef:
    field: str
    line: int
    column: int  # 1-based, as expression errors count


def rewrite_targets(source: str) -> tuple[str, tuple[TargetRef, ...]]:
    """The source with `target.x` spelled `target_x`, and every reference found.

    A source the tokenizer cannot read is returned unchanged: the expression compiler
    then reports it with its own position.
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source, ()
    lines = source.splitlines(keepends=True) or [source]
    edits: list[tuple[int, int]] = []  # (row, col) of each dot to replace
    refs: list[TargetRef] = []
    for i in range(len(tokens) - 2):
        name, dot, attr = tokens[i], tokens[i + 1], tokens[i + 2]
        if not (name.type == tokenize.NAME and name.string == TARGET
                and dot.type == tokenize.OP and dot.string == "."
                and attr.type == tokenize.NAME
                and name.end == dot.start and dot.end == attr.start):
            continue
        before = tokens[i - 1] if i > 0 else None
        if before is not None and before.type == tokenize.OP and before.string == ".":
            continue  # record.target.x is an attribute path, not the related record
        edits.append(dot.start)
        refs.append(TargetRef(attr.string, name.start[0], name.start[1] + 1))
    for row, col in edits:
        text = lines[row - 1]
        lines[row - 1] = text[:col] + "_" + text[col + 1:]
    return "".join(lines), tuple(refs)


def target_name(field: str) -> str:
    return PREFIX + field
