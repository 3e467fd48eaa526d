"""Loom's expression language: one safe, compiled language for formulas, defaults,
conditions, filters and rules, with a Python and a SQL back end.

    from engines.expr import compile_expr, Scope, Field, T
    c = compile_expr('amount > 1000 and status == "open"',
                     Scope({"amount": Field(T.MONEY), "status": Field(T.TEXT)}), T.BOOLEAN)
    c.evaluate({"amount": Decimal("1200"), "status": "open"})   # True
    c.to_sql(ctx)                                               # a SQLAlchemy condition

Syntax is Python's expression syntax, checked against a whitelist: literals, field
names, `record.x` / `old.x` / `user.x`, `lines.col` (a subform column, as a list),
`and or not`, `== != < <= > >= in`, `+ - * / % **`, `&` (text concatenation),
`a if c else b`, lists `[1, 2]`, and calls of the upper-case functions in FUNCTIONS.

Blank (null) rules, as in spreadsheets — both back ends follow them:
1. A blank is a missing value, None, "" or an empty list (`ISBLANK`).
2. In arithmetic on numbers and money a blank counts as 0 (`a + b` with b blank is a);
   date arithmetic with a blank gives blank; dividing by 0 or blank gives blank.
3. `==` and `!=`: blank equals blank, and equals 0, "" and FALSE (a blank number is 0,
   a blank text is ""); a blank date equals only blank. So `status != "done"` is true
   for a blank status.
4. `< <= > >=`: a blank number is 0 and a blank text is ""; a blank date or time never
   compares (the comparison is false), so an empty due date is never "overdue".
5. In conditions (`and`, `or`, `not`, IF) a blank is false; `and`/`or` give TRUE/FALSE.
6. Text functions see a blank as ""; number functions (SUM, AVERAGE, MIN, MAX) skip
   blanks; date parts of a blank date are blank; CONCAT and `&` show a blank as "".
7. Aggregates over other records skip blank values; COUNT counts records.

Time: instants are aware UTC datetimes; TODAY(), date parts and comparisons between a
date and an instant use the deployment's zone (`Env.tz`). Money is `Decimal` end to
end (ROUND is half-up). Run-time bounds (limits.py) stop any expression within
milliseconds: text and list sizes, POWER, RE2 for regular expressions.
"""

from engines.expr import functions_agg, functions_date, functions_logic, functions_math
from engines.expr import functions_text as _functions_text
from engines.expr.compiled import Compiled, compile_expr
from engines.expr.env import DEFAULT_TZ, Env, FixedEnv
from engines.expr.registry import FUNCTIONS, Example, Fn
from engines.expr.sqlcontext import SqlContext
from engines.expr.types import (
    SYSTEM_FIELDS,
    ExprError,
    Field,
    Scope,
    T,
    UserInfo,
    fields_to_native,
    to_json,
    to_native,
)

del functions_agg, functions_date, functions_logic, functions_math, _functions_text


def jsonlogic_to_expr(doc: object) -> str:
    """A JsonLogic document as an equivalent Loom expression (ExprError if it has none)."""
    from engines.expr.jsonlogic import jsonlogic_to_expr as convert

    return convert(doc)


__all__ = [
    "DEFAULT_TZ",
    "FUNCTIONS",
    "SYSTEM_FIELDS",
    "Compiled",
    "Env",
    "Example",
    "ExprError",
    "Field",
    "FixedEnv",
    "Fn",
    "Scope",
    "SqlContext",
    "T",
    "UserInfo",
    "compile_expr",
    "fields_to_native",
    "jsonlogic_to_expr",
    "to_json",
    "to_native",
]
