"""Scalar normalisers: one builder per value shape, run once per field at compile time.

A builder takes the field's settings and returns a closure `(value, tz) -> stored JSON`
that accepts the reasonable spellings a person or a spreadsheet produces (" 12 ",
"1,200.50", "2024/1/5", "+86 138 1234 5678") and returns the one canonical stored
form (trimmed text, JSON numbers, money as a decimal string, ISO dates, UTC instants
`YYYY-MM-DDTHH:MM:SSZ`), or raises `Invalid` with a code and a zh/en message. Range,
length, pattern and option checks are folded into the same closure, so a submission
pays for only the checks its form actually has (jsonschema's build-once idea).

Blank values (None, "", whitespace, [], {}) never reach a normaliser: the caller maps
them to "no value" first, so each closure only sees something to judge.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import re2

from engines.form.issues import Invalid

Normaliser = Callable[[Any, tzinfo], Any]


def re2_fullmatcher(pattern: str) -> Callable[[str], bool]:
    """`text` matches all of `pattern` (RE2: linear time, no catastrophic backtracking).

    google-re2's `fullmatch` spends ~10 µs in Python building a match object we do
    not need; when its compiled program is reachable we ask it directly (~1 µs).
    """
    compiled = re2.compile(pattern, quiet_re2())
    program = getattr(compiled, "_regexp", None)
    anchor = getattr(getattr(program, "Anchor", None), "ANCHOR_BOTH", None)
    if program is None or anchor is None:
        return lambda text: compiled.fullmatch(text) is not None

    def matches(text: str) -> bool:
        encoded = text.encode("utf-8")
        return bool(program.Match(anchor, encoded, 0, len(encoded))[0][0] != -1)
    return matches


def quiet_re2() -> Any:
    """RE2 options that do not log a bad pattern to stderr (we report it ourselves)."""
    options = re2.Options()
    options.log_errors = False
    return options

_THOUSANDS = re.compile(r"(?<=\d)[,，_ ](?=\d{3})")


def _not_a(kind_zh: str, kind_en: str) -> Invalid:
    return Invalid("type", f"应为{kind_zh}", f"Must be {kind_en}")


def _decimal(value: Any, kind_zh: str, kind_en: str) -> Decimal:
    """Any numeric spelling as an exact Decimal (floats through their repr)."""
    if isinstance(value, bool):
        raise _not_a(kind_zh, kind_en)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        return Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = _THOUSANDS.sub("", value.strip().lstrip("¥￥$").strip())
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise _not_a(kind_zh, kind_en) from None
    else:
        raise _not_a(kind_zh, kind_en)
    if not result.is_finite():
        raise _not_a(kind_zh, kind_en)
    return result


def _quantize(exact: Decimal, quantum: Decimal) -> Decimal:
    """Round half-up to `quantum`; a number too large for 28 significant digits is
    refused rather than raising from deep inside decimal."""
    try:
        return exact.quantize(quantum, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise Invalid("number_range", "数值超出范围", "The number is out of range") from None


def _bounds(lo: Any, hi: Any, show: Callable[[Any], str] = str) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if lo is not None and value < lo:
            raise Invalid("min", f"不能小于 {show(lo)}", f"Must be at least {show(lo)}")
        if hi is not None and value > hi:
            raise Invalid("max", f"不能大于 {show(hi)}", f"Must be at most {show(hi)}")
    return check


def number(lo: float | None, hi: float | None, precision: int | None,
           *, percent: bool = False) -> Normaliser:
    """A JSON number; ints stay ints; rounded half-up to `precision` places."""
    check = _bounds(lo, hi)
    quantum = Decimal(1).scaleb(-precision) if precision is not None else None

    def run(value: Any, tz: tzinfo) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            result: Any = value
        elif isinstance(value, float) and (precision is None or _places(value) <= precision):
            if not math.isfinite(value):
                raise _not_a("数字", "a number")
            result = value
        else:
            if percent and isinstance(value, str) and value.strip().endswith("%"):
                value = _decimal(value.strip()[:-1], "百分数", "a percentage") / 100
            exact = _decimal(value, "数字", "a number")
            if quantum is not None:
                exact = _quantize(exact, quantum)
            result = int(exact) if exact == exact.to_integral_value() and (
                precision == 0 or isinstance(value, int | str)) else float(exact)
        check(result)
        return result
    return run


def _places(value: float) -> int:
    """Decimal places of a float as written (99 when it is written with an exponent)."""
    text = repr(value)
    if "e" in text or "n" in text:  # 1e-07, inf, nan
        return 99
    dot = text.find(".")
    return 0 if dot < 0 else len(text) - dot - 1


def integer(lo: int | None, hi: int | None) -> Normaliser:
    check = _bounds(lo, hi)

    def run(value: Any, tz: tzinfo) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            result = value
        else:
            exact = _decimal(value, "整数", "a whole number")
            if exact != exact.to_integral_value():
                raise _not_a("整数", "a whole number")
            result = int(exact)
        check(result)
        return result
    return run


def money(lo: Decimal | None, hi: Decimal | None, precision: int) -> Normaliser:
    """An exact decimal string with exactly `precision` places; more places is an
    error rather than a silent rounding of someone's money."""
    quantum = Decimal(1).scaleb(-precision)
    check = _bounds(lo, hi, lambda d: format(d, "f"))

    def run(value: Any, tz: tzinfo) -> Any:
        exact = _decimal(value, "金额", "an amount of money")
        rounded = _quantize(exact, quantum)
        if rounded != exact:
            raise Invalid("money_precision", f"金额最多保留 {precision} 位小数",
                          f"An amount may have at most {precision} decimal places")
        check(rounded)
        return format(rounded, "f")
    return run


def money_from_formula(precision: int) -> Callable[[Any], str]:
    """Formula results are rounded half-up (a computed 1/3 has to land somewhere)."""
    quantum = Decimal(1).scaleb(-precision)

    def run(value: Any) -> str:
        exact = _decimal(value, "金额", "an amount of money")
        return format(_quantize(exact, quantum), "f")
    return run


def text(min_length: int | None, max_length: int | None, pattern: str | None,
         *, trim: bool = True) -> Normaliser:
    matches = re2_fullmatcher(pattern) if pattern else None

    def run(value: Any, tz: tzinfo) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise _not_a("文本", "text")
        result = str(value).strip() if trim else str(value)
        if max_length is not None and len(result) > max_length:
            raise Invalid("max_length", f"最多 {max_length} 个字符",
                          f"At most {max_length} characters")
        if min_length is not None and len(result) < min_length:
            raise Invalid("min_length", f"至少 {min_length} 个字符",
                          f"At least {min_length} characters")
        if matches is not None and not matches(result):
            raise Invalid("pattern", "格式不正确", "Does not match the required format")
        return result
    return run


_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def email(max_length: int | None) -> Normaliser:
    limit = max_length or 254

    def run(value: Any, tz: tzinfo) -> Any:
        if not isinstance(value, str) or not _EMAIL.match(value.strip()):
            raise Invalid("email", "邮箱地址格式不正确", "Not a valid email address")
        local, _, domain = value.strip().rpartition("@")
        result = f"{local}@{domain.lower()}"
        if len(result) > limit:
            raise Invalid("max_length", f"最多 {limit} 个字符", f"At most {limit} characters")
        return result
    return run


def url(max_length: int | None) -> Normaliser:
    limit = max_length or 2048

    def run(value: Any, tz: tzinfo) -> Any:
        if not isinstance(value, str) or any(ch.isspace() for ch in value.strip()):
            raise Invalid("url", "网址格式不正确", "Not a valid web address")
        result = value.strip()
        if "://" not in result:
            result = "https://" + result
        try:
            parts = urlsplit(result)
            host = parts.hostname or ""
        except ValueError:  # e.g. an unbalanced "[" (IPv6 syntax)
            host = ""
            parts = urlsplit("")
        if parts.scheme.lower() not in ("http", "https") or "." not in host:
            raise Invalid("url", "网址应以 http:// 或 https:// 开头并包含域名",
                          "A web address must be http(s) and name a host")
        if len(result) > limit:
            raise Invalid("max_length", f"最多 {limit} 个字符", f"At most {limit} characters")
        return result
    return run


def checked_text(canonical: Callable[[str], str]) -> Normaliser:
    """Text with a canonical form and a checksum (USCC, resident ID, phone)."""
    def run(value: Any, tz: tzinfo) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise _not_a("文本", "text")
        return canonical(value)
    return run


_DATE_SPELLINGS = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def _as_date(value: Any, tz: tzinfo) -> date:
    if isinstance(value, datetime):
        return (value.astimezone(tz) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text_ = value.strip()
        found = _DATE_SPELLINGS.match(text_[:10] if "T" in text_ else text_)
        if found:
            try:
                return date(int(found[1]), int(found[2]), int(found[3]))
            except ValueError:
                pass
    raise Invalid("date", "日期格式应为 YYYY-MM-DD", "A date must look like YYYY-MM-DD")


def date_value(lo: date | None, hi: date | None) -> Normaliser:
    check = _bounds(lo, hi, date.isoformat)

    def run(value: Any, tz: tzinfo) -> Any:
        result = _as_date(value, tz)
        check(result)
        return result.isoformat()
    return run


def as_instant(value: Any, tz: tzinfo) -> datetime:
    """An aware UTC instant; naive input is wall-clock time in the deployment zone."""
    result: datetime | None = None
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text_ = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        try:
            result = datetime.fromisoformat(text_.replace("/", "-"))
        except ValueError:
            result = None
    if result is None:
        raise Invalid("datetime", "时间格式应为 ISO 8601，如 2024-01-31T09:30:00+08:00",
                      "A date and time must be ISO 8601, e.g. 2024-01-31T09:30:00+08:00")
    if result.tzinfo is None:
        result = result.replace(tzinfo=tz)
    return result.astimezone(UTC).replace(microsecond=0)


def datetime_value(lo: datetime | None, hi: datetime | None) -> Normaliser:
    def show(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    lo_utc = lo.astimezone(UTC) if lo and lo.tzinfo else (lo.replace(tzinfo=UTC) if lo else None)
    hi_utc = hi.astimezone(UTC) if hi and hi.tzinfo else (hi.replace(tzinfo=UTC) if hi else None)
    check = _bounds(lo_utc, hi_utc, show)

    def run(value: Any, tz: tzinfo) -> Any:
        result = as_instant(value, tz)
        check(result)
        return show(result)
    return run


def time_value(lo: time | None, hi: time | None) -> Normaliser:
    check = _bounds(lo, hi, lambda t: t.isoformat(timespec="seconds"))

    def run(value: Any, tz: tzinfo) -> Any:
        result: time | None = None
        if isinstance(value, datetime):
            result = value.time()
        elif isinstance(value, time):
            result = value
        elif isinstance(value, str):
            try:
                result = time.fromisoformat(value.strip())
            except ValueError:
                result = None
        if result is None or result.tzinfo is not None:
            raise Invalid("time", "时间格式应为 HH:MM 或 HH:MM:SS",
                          "A time must look like HH:MM or HH:MM:SS")
        result = result.replace(microsecond=0)
        check(result)
        return result.isoformat(timespec="seconds")
    return run


_TRUE = frozenset({"true", "yes", "y", "1", "是", "对", "真", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "否", "错", "假", "off"})


def boolean() -> Normaliser:
    def run(value: Any, tz: tzinfo) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
        raise _not_a("是或否", "true or false")
    return run


def choice(values: Sequence[str]) -> Normaliser:
    allowed = frozenset(values)

    def run(value: Any, tz: tzinfo) -> Any:
        key = str(value).strip() if isinstance(value, str | int) and not isinstance(
            value, bool) else None
        if key is None or key not in allowed:
            raise Invalid("option", "不是可选的选项", "Is not one of the options")
        return key
    return run


def choices(values: Sequence[str], min_items: int | None, max_items: int | None) -> Normaliser:
    one = choice(values)

    def run(value: Any, tz: tzinfo) -> Any:
        items = [value] if isinstance(value, str | int) else value
        if not isinstance(items, list | tuple):
            raise _not_a("选项列表", "a list of options")
        result: list[str] = []
        for item in items:
            key = one(item, tz)
            if key not in result:
                result.append(key)
        if min_items is not None and len(result) < min_items:
            raise Invalid("min_items", f"至少选择 {min_items} 项",
                          f"Choose at least {min_items}")
        if max_items is not None and len(result) > max_items:
            raise Invalid("max_items", f"最多选择 {max_items} 项",
                          f"Choose at most {max_items}")
        return result
    return run


def keys(multiple: bool, kind_zh: str, kind_en: str) -> Normaliser:
    """User / department keys and relation record ids: strings, one or a list."""
    def one(value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.strip() and len(value) <= 128:
            return value.strip()
        raise _not_a(kind_zh, kind_en)

    def run(value: Any, tz: tzinfo) -> Any:
        if not multiple:
            if isinstance(value, list) and len(value) == 1:
                value = value[0]
            return one(value)
        items = value if isinstance(value, list) else [value]
        result: list[str] = []
        for item in items:
            key = one(item)
            if key not in result:
                result.append(key)
        return result
    return run


def rating(top: int, allow_half: bool) -> Normaliser:
    def run(value: Any, tz: tzinfo) -> Any:
        exact = _decimal(value, "评分", "a rating")
        step_ok = (exact * 2 if allow_half else exact) == (exact * 2 if allow_half else
                                                            exact).to_integral_value()
        if not step_ok or not 1 <= exact <= top:
            raise Invalid("rating", f"评分应为 1 到 {top}", f"A rating is from 1 to {top}")
        return int(exact) if exact == exact.to_integral_value() else float(exact)
    return run
