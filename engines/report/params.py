"""The viewer's parameter values: given, or the default, or the default expression.

Values usually arrive as strings from a query string; they are converted by the
parameter's type here, once, so a bad value is a clear 422 and never reaches SQL
as text. `now` comes from the caller (engines read no clock), which is what makes a
`TODAY() - DAYS(365)` default testable.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from engines.report.compile import CompiledReport
from engines.report.query import QueryError
from engines.report.spec import Param

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


def convert(param: Param, value: Any, tz: ZoneInfo = DEFAULT_TZ) -> Any:
    """A given value in the parameter's type; raises QueryError when it is not one.
    A date given for a datetime parameter is the start of that day in `tz`; an
    instant without an offset is taken in `tz` too."""
    if value is None or value == "":
        return None
    try:
        if param.type == "date":
            if isinstance(value, datetime):
                return value.date()
            return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
        if param.type == "datetime":
            if isinstance(value, date) and not isinstance(value, datetime):
                value = datetime.combine(value, time(0))
            if not isinstance(value, datetime):
                value = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
        if param.type == "number":
            return float(value)
        if param.type == "integer":
            return int(value)
        if param.type == "money":
            return Decimal(str(value))
        if param.type == "boolean":
            if isinstance(value, str):
                return value.lower() in ("1", "true", "yes", "on")
            return bool(value)
    except (ValueError, TypeError, InvalidOperation) as exc:
        raise QueryError("bad_param", f"参数 {param.key} 的值无效：{value!r}",
                         f"bad value for parameter {param.key}: {value!r}") from exc
    text = str(value)
    if param.options is not None and text not in [str(o) for o in param.options]:
        raise QueryError("bad_param", f"参数 {param.key} 不允许取值 {text}",
                         f"parameter {param.key} does not allow {text}")
    return text


def resolve_params(report: CompiledReport, given: Mapping[str, Any], *,
                   now: datetime) -> dict[str, Any]:
    """Every parameter's value for one call (None when it has none: its filter is
    then not applied). Unknown names and missing required values are refused."""
    known = {p.key: p for p in report.spec.params}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise QueryError("unknown_param", f"报表没有参数：{', '.join(unknown)}",
                         f"the report has no parameter: {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for key, param in known.items():
        value = convert(param, given.get(key), report.tz)
        if value is None and param.default is not None:
            value = convert(param, param.default, report.tz)
        if value is None and param.default_expr is not None:
            value = convert(param, report.backend.evaluate(
                param.default_expr, {}, now, report.tz.key), report.tz)
        if value is None and param.required:
            raise QueryError("missing_param", f"缺少参数：{key}", f"missing parameter: {key}")
        out[key] = value
    return out
