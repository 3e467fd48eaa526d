"""Chinese identifier checks and canonical forms: USCC, resident ID, phone numbers.

Each `canonical_*` function returns the canonical text or raises `Invalid`; they are
pure and small so the catalogue, the import and the expression library can share them.

- Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters over
  the 31-character alphabet without I, O, Z, S, V; the 18th is a check character,
  `31 - (Σ value·weight mod 31)`, weights 3^i mod 31.
- Resident ID (居民身份证号码, GB 11643-1999): 17 digits then a check character,
  ISO 7064 MOD 11-2 (`X` stands for 10); positions 7-14 are a real birth date and the
  first two a province code.
- Phone: mainland mobile `1[3-9]` + 9 digits, canonical without a country code;
  landline `0AA(A)-NNNNNNN(N)` with an optional `-extension`; service numbers
  `400-NNN-NNNN` / `800-NNN-NNNN`.
"""

from __future__ import annotations

import re
from datetime import date

from engines.form.issues import Invalid

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
    "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
    "63", "64", "65", "71", "81", "82", "83", "91",
})

_SEPARATORS = re.compile(r"[\s\-()（）]+")
_MOBILE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)
_SERVICE = re.compile(r"^[48]00\d{7}$")
_ID_SHAPE = re.compile(r"\d{17}[\dX]", re.ASCII)
_AREA = re.compile(r"0[1-9]\d{1,2}", re.ASCII)
_LOCAL = re.compile(r"[1-9]\d{6,7}", re.ASCII)
_EXTENSION = re.compile(r"(?:转|ext\.?|x|#)\s*(\d{1,6})$", re.IGNORECASE)


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters."""
    total = sum(_USCC_VALUE[ch] * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def canonical_uscc(text: str) -> str:
    code = text.strip().upper()
    if len(code) != 18 or any(ch not in _USCC_VALUE for ch in code):
        raise Invalid("uscc_format", "统一社会信用代码应为18位数字或大写字母（不含I、O、Z、S、V）",
                      "A unified social credit code has 18 digits or capital letters "
                      "(no I, O, Z, S or V)")
    if uscc_check_char(code[:17]) != code[17]:
        raise Invalid("uscc_checksum", "统一社会信用代码校验位不正确",
                      "The check character of the unified social credit code is wrong")
    return code


def resident_id_check_char(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character of the first 17 digits."""
    total = sum(int(ch) * w for ch, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def canonical_resident_id(text: str) -> str:
    code = text.strip().upper()
    if not _ID_SHAPE.fullmatch(code):
        raise Invalid("resident_id_format", "身份证号码应为17位数字加1位数字或X",
                      "A resident ID number has 17 digits then a digit or X")
    try:
        date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        raise Invalid("resident_id_birth_date", "身份证号码中的出生日期无效",
                      "The birth date in the resident ID number is not a real date") from None
    if code[:2] not in _ID_PROVINCES or int(code[6:10]) < 1850:
        raise Invalid("resident_id_region", "身份证号码的地区码或年份无效",
                      "The region code or year of the resident ID number is not valid")
    if resident_id_check_char(code[:17]) != code[17]:
        raise Invalid("resident_id_checksum", "身份证号码校验位不正确",
                      "The check digit of the resident ID number is wrong")
    return code


def _strip_country(digits: str) -> str:
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            return digits[len(prefix):]
    if digits.startswith("86") and len(digits) == 13:
        return digits[2:]
    return digits


def canonical_mobile(text: str) -> str | None:
    """The 11-digit mobile number, or None when `text` is not one."""
    digits = _strip_country(_SEPARATORS.sub("", text))
    return digits if _MOBILE.match(digits) else None


def _area_and_number(digits: str) -> tuple[str, str] | None:
    if not digits.startswith("0"):
        digits = "0" + digits
    area_len = 3 if digits[1:2] in ("1", "2") else 4
    area, number = digits[:area_len], digits[area_len:]
    if _AREA.fullmatch(area) and _LOCAL.fullmatch(number):
        return area, number
    return None


def canonical_landline(text: str) -> str | None:
    """`0AA(A)-NNNNNNN(N)[-EXT]` or `400-NNN-NNNN`, or None when `text` is not one.

    An extension is written after 转, ext, x or #, or as a last group after a
    complete number (`0755-1234567-123`).
    """
    raw = text.strip()
    ext = ""
    found = _EXTENSION.search(raw)
    if found:
        ext, raw = found.group(1), raw[:found.start()]
    parts = [p for p in _SEPARATORS.split(_strip_country(raw.strip())) if p]
    if not parts or not all(p.isdigit() and p.isascii() for p in parts):
        return None
    digits = "".join(parts)
    if _SERVICE.match(digits):
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    split = _area_and_number(digits)
    if split is None and not ext and len(parts) >= 3 and len(parts[-1]) <= 6:
        ext = parts[-1]
        split = _area_and_number("".join(parts[:-1]))
    if split is None:
        return None
    return f"{split[0]}-{split[1]}" + (f"-{ext}" if ext else "")


def canonical_phone(text: str, kind: str) -> str:
    """The canonical number of `kind` (mobile, landline, any) or `Invalid`."""
    if kind in ("mobile", "any"):
        mobile = canonical_mobile(text)
        if mobile:
            return mobile
    if kind in ("landline", "any"):
        landline = canonical_landline(text)
        if landline:
            return landline
    if kind == "mobile":
        raise Invalid("phone_mobile", "请输入11位手机号码",
                      "Enter an 11-digit mainland mobile number")
    if kind == "landline":
        raise Invalid("phone_landline", "请输入带区号的固定电话，如 010-12345678",
                      "Enter a landline number with its area code, e.g. 010-12345678")
    raise Invalid("phone_format", "请输入手机号码或带区号的固定电话",
                  "Enter a mobile number or a landline number with its area code")
