"""Run-time helpers the compiled Python code calls: spreadsheet blank rules and bounds.

Generated code inlines the common cases (numbers and texts compared with constants);
everything that needs a bound, a decimal conversion or a blank rule goes through here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from engines.expr import limits
from engines.expr.types import ExprError


def fail(code: str, zh: str, en: str) -> ExprError:
    return ExprError(code, zh, en)


def need_env(env: Any) -> Any:
    if env is None:
        raise fail("needs_env", "此表达式需要运行环境（时间、用户或其他记录）",
                   "this expression needs an environment (time, user or other records)")
    return env


def blank(x: Any) -> bool:
    """Blank as a spreadsheet sees it: nothing, an empty text or an empty list."""
    return x is None or x == "" or (isinstance(x, list | tuple) and not x)


def dec(x: Any) -> Decimal:
    if isinstance(x, Decimal):
        return x
    if x is None:
        return Decimal(0)
    if isinstance(x, float):
        return Decimal(repr(x))
    return Decimal(x)


def num(x: Any) -> Any:
    return 0 if x is None else x


# A value's Python kind follows its static type, so generated code can inline `a + b`
# for numbers: a `number`/`integer` is never a Decimal, a `money` never a float. The
# back end wraps a result in one of these only where the checker cannot promise it
# (a function or an aggregate given money, `money / money`, an IF mixing both).

def as_number(x: Any) -> Any:
    """A `number` result: a Decimal (money went in) becomes a float."""
    return float(x) if isinstance(x, Decimal) else x


def as_integer(x: Any) -> Any:
    """An `integer` result: a whole Decimal (a SQL sum) becomes an int."""
    if isinstance(x, Decimal):
        return int(x) if x == x.to_integral_value() else float(x)
    return x


def as_money(x: Any) -> Any:
    """A `money` result: an int or float (a number picked by MIN, POWER…) becomes exact."""
    if x is None or isinstance(x, Decimal | bool):
        return x
    return dec(x) if isinstance(x, int | float) else x


def text(x: Any) -> str:
    """A value as text (blank → empty), as CONCAT and `&` show it."""
    if x is None:
        return ""
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        return "TRUE" if x else "FALSE"
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    if isinstance(x, Decimal):
        return format(x, "f")
    if isinstance(x, datetime):
        return x.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(x, date | time):
        return x.isoformat()
    if isinstance(x, list):
        return ", ".join(text(i) for i in x)
    return str(x)


def bounded_text(s: str) -> str:
    if len(s) > limits.MAX_TEXT:
        raise fail("text_too_long", f"文本超过 {limits.MAX_TEXT} 个字符",
                   f"text longer than {limits.MAX_TEXT} characters")
    return s


def cat(*parts: Any) -> str:
    return bounded_text("".join(text(p) for p in parts))


def _money_or_num(a: Any, b: Any) -> tuple[Any, Any]:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return dec(a), dec(b)
    return num(a), num(b)


def add(a: Any, b: Any) -> Any:
    """`+`: numbers (blank = 0), money exactly, date/time + duration, text + text."""
    if isinstance(a, date | datetime) or isinstance(b, date | datetime):
        return shift(a, b, 1)
    if isinstance(a, timedelta) or isinstance(b, timedelta):
        if a is None or b is None:
            return None
        return a + b
    if isinstance(a, str) or isinstance(b, str):
        return cat(a, b)
    x, y = _money_or_num(a, b)
    return x + y


def sub(a: Any, b: Any) -> Any:
    if isinstance(a, date | datetime):
        if isinstance(b, date | datetime):
            return a - b if type(a) is type(b) else None
        return shift(a, b, -1)
    if isinstance(a, timedelta) or isinstance(b, timedelta):
        if a is None or b is None:
            return None
        return a - b
    x, y = _money_or_num(a, b)
    return x - y


def shift(a: Any, b: Any, sign: int) -> Any:
    """date/datetime ± duration (either order for +); blank in, blank out."""
    if isinstance(b, date | datetime):
        a, b = b, a
    if a is None or b is None:
        return None
    if not isinstance(b, timedelta):
        b = timedelta(days=float(b))
    if isinstance(a, datetime):
        return a + b * sign
    return a + timedelta(days=b.days) * sign if b.seconds == 0 else \
        datetime(a.year, a.month, a.day, tzinfo=UTC) + b * sign


def mul(a: Any, b: Any) -> Any:
    if isinstance(a, timedelta):
        return a * float(num(b))
    if isinstance(b, timedelta):
        return b * float(num(a))
    x, y = _money_or_num(a, b)
    r = x * y
    if isinstance(r, int) and r.bit_length() > limits.MAX_POWER_BITS:
        raise _too_big()
    return r


def div(a: Any, b: Any) -> Any:
    """`/`: true division; dividing by zero or blank gives blank (as SQL's NULLIF)."""
    x, y = _money_or_num(a, b)
    if not y:
        return None
    if isinstance(x, int) and isinstance(y, int):
        return x / y
    return x / y


def mod(a: Any, b: Any) -> Any:
    """MOD as in spreadsheets: the result has the sign of the divisor."""
    x, y = _money_or_num(a, b)
    if not y:
        return None
    return x - y * ((x / y) // 1) if isinstance(x, Decimal) else x % y


def _too_big() -> ExprError:
    return fail("number_too_large", "数值过大", "the number is too large")


def power(a: Any, b: Any) -> Any:
    """`**` and POWER, bounded so a formula cannot build a huge integer."""
    x, y = num(a), num(b)
    if abs(y) > limits.MAX_EXPONENT:
        raise _too_big()
    if isinstance(x, Decimal) or isinstance(y, Decimal):
        x, y = float(x), float(y)
    if isinstance(x, int) and isinstance(y, int) and y >= 0:
        if max(x.bit_length(), 1) * y > limits.MAX_POWER_BITS:
            raise _too_big()
        return x**y
    try:
        r = float(x) ** float(y)
    except (OverflowError, ZeroDivisionError) as exc:
        raise _too_big() from exc
    if isinstance(r, complex):
        return None
    return r


def neg(a: Any) -> Any:
    return None if a is None else -a


# ------------------------------------------------------------------ comparison

def _zero_like(other: Any) -> Any:
    if isinstance(other, str):
        return ""
    if isinstance(other, bool):
        return False
    if isinstance(other, int | float | Decimal):
        return 0
    return None


def eq(a: Any, b: Any) -> bool:
    """Spreadsheet equality: blank equals blank, 0, "" and FALSE."""
    if blank(a):
        if blank(b):
            return True
        a = _zero_like(b)
    elif blank(b):
        b = _zero_like(a)
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, Decimal) != isinstance(b, Decimal) and isinstance(a, float | Decimal) \
            and isinstance(b, float | Decimal):
        a, b = dec(a), dec(b)
    return bool(a == b)


def ne(a: Any, b: Any) -> bool:
    return not eq(a, b)


def _ordered(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Operands for <, <=, >, >=: a blank number or text is 0 or ""; a blank date never
    compares (so an empty due date is neither overdue nor not)."""
    if a is None:
        a = _zero_like(b)
    elif b is None:
        b = _zero_like(a)
    if a is None or b is None:
        return None
    if isinstance(a, datetime) != isinstance(b, datetime) and \
            isinstance(a, date) and isinstance(b, date):
        return None
    if isinstance(a, Decimal) != isinstance(b, Decimal) and isinstance(a, float | Decimal) \
            and isinstance(b, float | Decimal):
        return dec(a), dec(b)
    return a, b


def lt(a: Any, b: Any) -> bool:
    p = _ordered(a, b)
    return p is not None and p[0] < p[1]


def le(a: Any, b: Any) -> bool:
    p = _ordered(a, b)
    return p is not None and p[0] <= p[1]


def gt(a: Any, b: Any) -> bool:
    p = _ordered(a, b)
    return p is not None and p[0] > p[1]


def ge(a: Any, b: Any) -> bool:
    p = _ordered(a, b)
    return p is not None and p[0] >= p[1]


def contains(container: Any, item: Any) -> bool:
    """`in` and CONTAINS: membership in a list, or a substring of a text."""
    if container is None:
        return False
    if isinstance(container, str):
        return text(item) in container
    return any(eq(x, item) for x in container)


def truthy(x: Any) -> bool:
    if isinstance(x, bool):
        return x
    return not blank(x) and x != 0


def column(rows: Any, key: str) -> list[Any]:
    """`lines.subtotal`: one subform column as a list."""
    if not rows:
        return []
    return [r.get(key) if isinstance(r, dict) else None for r in rows]


def bounded_list(items: Iterable[Any]) -> list[Any]:
    out = list(items)
    if len(out) > limits.MAX_LIST:
        raise fail("list_too_long", f"列表超过 {limits.MAX_LIST} 项",
                   f"list longer than {limits.MAX_LIST} items")
    return out


def local_midnight(env: Any, d: date) -> datetime:
    """A date as the instant its day starts in the deployment's zone."""
    tz = need_env(env).tz
    return datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(UTC)


def as_instant(env: Any, x: Any) -> Any:
    if isinstance(x, datetime) or x is None:
        return x
    if isinstance(x, date):
        return local_midnight(env, x)
    return x
