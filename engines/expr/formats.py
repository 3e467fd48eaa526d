"""TEXT(value, format): the small set of spreadsheet formats analysts use."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engines.expr import ops

_DATE_TOKENS = (("YYYY", "%Y"), ("yyyy", "%Y"), ("MM", "%m"), ("DD", "%d"), ("dd", "%d"),
                ("HH", "%H"), ("hh", "%H"), ("mm", "%M"), ("ss", "%S"))


def _date_format(env: Any, value: date, fmt: str) -> str:
    if isinstance(value, datetime):
        tz = env.tz if env is not None else UTC
        value = value.astimezone(tz)
    out, i = [], 0
    while i < len(fmt):
        for token, code in _DATE_TOKENS:
            if fmt.startswith(token, i):
                out.append(value.strftime(code) if isinstance(value, datetime) or code in
                           ("%Y", "%m", "%d") else "00")
                i += len(token)
                break
        else:
            out.append(fmt[i])
            i += 1
    return "".join(out)


def _number_format(value: Any, fmt: str) -> str:
    pct = fmt.endswith("%")
    core = fmt[:-1] if pct else fmt
    d = ops.dec(value) * (100 if pct else 1)
    decimals = len(core.split(".", 1)[1]) if "." in core else 0
    q = d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    body = f"{q:,.{decimals}f}" if "," in core else f"{q:.{decimals}f}"
    return body + ("%" if pct else "")


def format_value(env: Any, value: Any, fmt: str | None) -> str:
    if value is None:
        return ""
    if fmt is None or fmt == "":
        return ops.text(value)
    if len(fmt) > 100:
        raise ops.fail("bad_format", "格式过长", "the format is too long")
    if isinstance(value, date):
        return _date_format(env, value, fmt)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        if set(fmt) <= set("0#,.%"):
            return _number_format(value, fmt)
        raise ops.fail("bad_format", f"不支持的数字格式：{fmt}",
                       f"unsupported number format: {fmt}")
    return ops.text(value)
