"""Text functions. Every result is bounded in size; REGEXMATCH uses RE2 (linear time,
no catastrophic backtracking)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import re2

from engines.expr import limits, ops
from engines.expr.formats import format_value
from engines.expr.registry import Example, Fn, register
from engines.expr.types import T


def _s(x: Any) -> str:
    return ops.text(x)


def _count(n: Any) -> int:
    v = int(ops.num(n))
    return max(v, 0)


def _len(x: Any) -> int:
    return len(x) if isinstance(x, list) else len(_s(x))


def _left(x: Any, n: Any = 1) -> str:
    return _s(x)[: _count(n)]


def _right(x: Any, n: Any = 1) -> str:
    k = _count(n)
    return _s(x)[-k:] if k else ""


def _mid(x: Any, start: Any, n: Any) -> str:
    s = max(int(ops.num(start)), 1) - 1
    return _s(x)[s: s + _count(n)]


def _trim(x: Any) -> str:
    return " ".join(_s(x).split())


def _contains(container: Any, item: Any) -> bool:
    return ops.contains(container, item)


def _replace(x: Any, old: Any, new: Any) -> str:
    s, o, n = _s(x), _s(old), _s(new)
    if not o:
        return s
    if len(n) > len(o) and len(s) // len(o) * (len(n) - len(o)) + len(s) > limits.MAX_TEXT:
        raise ops.fail("text_too_long", f"文本超过 {limits.MAX_TEXT} 个字符",
                       f"text longer than {limits.MAX_TEXT} characters")
    return s.replace(o, n)


def _value(x: Any) -> Any:
    if x is None or x == "":
        return None
    if isinstance(x, int | float | Decimal):
        return x
    s = _s(x).strip().replace(",", "")
    pct = s.endswith("%")
    try:
        d = Decimal(s[:-1] if pct else s)
    except InvalidOperation as exc:
        raise ops.fail("not_a_number", f"“{s[:50]}”不是数字", f"'{s[:50]}' is not a number") \
            from exc
    if not d.is_finite() or abs(d.adjusted()) > 300 or len(s) > 400:
        raise ops.fail("number_too_large", "数值超出范围", "the number is out of range")
    if pct:
        d = d / 100
    return int(d) if d == d.to_integral_value() and not pct else float(d)


@lru_cache(maxsize=256)
def _regex(pattern: str) -> Any:
    if len(pattern) > limits.MAX_REGEX:
        raise ops.fail("regex_too_long", "正则表达式过长", "the regular expression is too long")
    try:
        options = re2.Options()
        options.max_mem = 8 << 20
        return re2.compile(pattern, options)
    except re2.error as exc:
        raise ops.fail("bad_regex", f"无效的正则表达式：{exc}",
                       f"invalid regular expression: {exc}") from exc


def _regexmatch(x: Any, pattern: Any) -> bool:
    return _regex(_s(pattern)).search(_s(x)) is not None


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL = ("", "拾", "佰", "仟")
_BIG = ("", "万", "亿", "万亿")


def _four(n: int) -> str:
    """Up to four digits with the small units, zeros collapsed."""
    out, zero = "", False
    for i in range(3, -1, -1):
        d = n // 10**i % 10
        if d == 0:
            zero = bool(out)
        else:
            if zero:
                out += "零"
            out += _DIGITS[d] + _SMALL[i]
            zero = False
    return out


def rmb_upper(x: Any) -> str:
    """An amount in Chinese capital numerals (大写金额), e.g. 壹佰元整."""
    if x is None:
        return ""
    amount = ops.dec(x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if abs(amount) >= Decimal(10) ** 16:
        raise ops.fail("number_too_large", "金额过大", "the amount is too large")
    sign = "负" if amount < 0 else ""
    cents = int(abs(amount) * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    parts: list[str] = []
    group, need_zero = 0, False
    while yuan:
        chunk = yuan % 10000
        if chunk:
            text = _four(chunk) + _BIG[group]
            if need_zero:
                text += "零"
            parts.insert(0, text)
            need_zero = chunk < 1000
        else:
            need_zero = bool(parts)
        yuan //= 10000
        group += 1
    head = "".join(parts)
    if head.startswith("零"):
        head = head[1:]
    head = head.replace("零零", "零")
    if head.endswith("零"):
        head = head[:-1]
    result = head + "元" if head else ""
    if jiao == 0 and fen == 0:
        return sign + (result or "零元") + "整"
    if jiao:
        result += _DIGITS[jiao] + "角"
    elif head:
        result += "零"
    if fen:
        result += _DIGITS[fen] + "分"
    return sign + result


def _text(env: Any, value: Any, fmt: Any = None) -> str:
    return format_value(env, value, None if fmt is None else _s(fmt))


register(Fn("CONCAT", "text", ("any", "any*"), T.TEXT,
            "把各参数连接成一个文本（空值为空文本）；也可写作 a & b",
            "Joins the arguments into one text (blank is empty); also written a & b",
            (Example('CONCAT(code, "-", region)', "T1-华东", {"code": "T1", "region": "华东"}),
             Example('CONCAT("n=", 3)', "n=3")),
            impl=ops.cat, nullable=False))
register(Fn("LEN", "text", ("any",), T.INTEGER, "文本的字符数（列表的项数）",
            "The number of characters of a text (items of a list)",
            (Example('LEN("你好abc")', 5), Example("LEN(name)", 0, {"name": None})),
            impl=_len, nullable=False))
register(Fn("LEFT", "text", ("text", "number?"), T.TEXT, "左起若干个字符",
            "The first characters of a text",
            (Example('LEFT("Loom", 2)', "Lo"), Example('LEFT("Loom")', "L")), impl=_left,
            nullable=False))
register(Fn("RIGHT", "text", ("text", "number?"), T.TEXT, "右起若干个字符",
            "The last characters of a text",
            (Example('RIGHT("Loom", 2)', "om"), Example('RIGHT("Loom", 0)', "")), impl=_right,
            nullable=False))
register(Fn("MID", "text", ("text", "number", "number"), T.TEXT,
            "从第 start 个字符起取 n 个字符（从 1 开始）",
            "n characters from position start (counting from 1)",
            (Example('MID("Loom rules", 6, 5)', "rules"),), impl=_mid, nullable=False))
register(Fn("UPPER", "text", ("text",), T.TEXT, "转为大写", "Upper case",
            (Example('UPPER("abc")', "ABC"),), impl=lambda x: _s(x).upper(), nullable=False))
register(Fn("LOWER", "text", ("text",), T.TEXT, "转为小写", "Lower case",
            (Example('LOWER("ABC")', "abc"),), impl=lambda x: _s(x).lower(), nullable=False))
register(Fn("TRIM", "text", ("text",), T.TEXT, "去掉首尾空白，并把中间的连续空白合并为一个",
            "Removes leading and trailing spaces and collapses inner runs",
            (Example('TRIM("  a   b ")', "a b"),), impl=_trim, nullable=False))
register(Fn("CONTAINS", "text", ("any", "any"), T.BOOLEAN,
            "文本是否包含子串；或列表（多选）是否包含某项",
            "Whether a text contains a substring, or a list (multiselect) an item",
            (Example('CONTAINS("hello", "ell")', True),
             Example('CONTAINS(tags, "vip")', True, {"tags": ["new", "vip"]}),
             Example('CONTAINS(tags, "vip")', False, {"tags": None})),
            impl=_contains, nullable=False))
register(Fn("STARTSWITH", "text", ("text", "text"), T.BOOLEAN, "文本是否以指定内容开头",
            "Whether a text starts with another",
            (Example('STARTSWITH("TK-001", "TK")', True),),
            impl=lambda x, p: _s(x).startswith(_s(p)), nullable=False))
register(Fn("ENDSWITH", "text", ("text", "text"), T.BOOLEAN, "文本是否以指定内容结尾",
            "Whether a text ends with another",
            (Example('ENDSWITH("report.pdf", ".pdf")', True),),
            impl=lambda x, p: _s(x).endswith(_s(p)), nullable=False))
register(Fn("REPLACE", "text", ("text", "text", "text"), T.TEXT,
            "把文本中所有 old 替换为 new", "Replaces every occurrence of old with new",
            (Example('REPLACE("a-b-c", "-", "/")', "a/b/c"),), impl=_replace, nullable=False))
register(Fn("SUBSTITUTE", "text", ("text", "text", "text"), T.TEXT,
            "同 REPLACE（Excel 名称）", "Same as REPLACE (Excel's name)",
            (Example('SUBSTITUTE("a-b", "-", "+")', "a+b"),), impl=_replace, nullable=False))
register(Fn("TEXT", "text", ("any", "text?"), T.TEXT,
            "按格式把值转为文本：数字如 \"0.00\"、\"#,##0.00\"、\"0%\"，"
            "日期如 \"YYYY-MM-DD\"、\"YYYY年MM月DD日\"",
            "Formats a value as text: numbers like \"0.00\", \"#,##0.00\", \"0%\"; "
            "dates like \"YYYY-MM-DD\", \"YYYY年MM月DD日\"",
            (Example('TEXT(1234.5, "#,##0.00")', "1,234.50"),
             Example('TEXT(0.256, "0.0%")', "25.6%"),
             Example('TEXT(DATE(2026, 3, 5), "YYYY年MM月DD日")', "2026年03月05日"),
             Example("TEXT(42)", "42")),
            impl=_text, needs_env=True, nullable=False))
register(Fn("VALUE", "text", ("any",), T.NUMBER, "把文本转为数字（可含千分位和 %）",
            "Turns a text into a number (thousands separators and % allowed)",
            (Example('VALUE("1,234")', 1234), Example('VALUE("12.5%")', 0.125)),
            impl=_value))
register(Fn("REGEXMATCH", "text", ("text", "text"), T.BOOLEAN,
            "文本是否匹配正则表达式（RE2 语法，线性时间）",
            "Whether a text matches a regular expression (RE2 syntax, linear time)",
            (Example('REGEXMATCH("TK-2026", "^TK-[0-9]{4}$")', True),
             Example('REGEXMATCH("abc", "[0-9]")', False)),
            impl=_regexmatch, nullable=False))
register(Fn("RMBUPPER", "text", ("number",), T.TEXT, "金额的中文大写（大写金额）",
            "An amount in Chinese capital numerals (for invoices and contracts)",
            (Example("RMBUPPER(1234.56)", "壹仟贰佰叁拾肆元伍角陆分"),
             Example("RMBUPPER(100)", "壹佰元整"),
             Example("RMBUPPER(100010)", "壹拾万零壹拾元整"),
             Example("RMBUPPER(0.5)", "伍角")),
            impl=rmb_upper, nullable=False))
