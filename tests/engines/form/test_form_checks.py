"""USCC (GB 32100), resident ID (GB 11643) and mainland phone numbers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.form.checks import (
    USCC_ALPHABET,
    canonical_landline,
    canonical_mobile,
    canonical_phone,
    canonical_resident_id,
    canonical_uscc,
    resident_id_check_char,
    uscc_check_char,
)
from engines.form.issues import Invalid


@pytest.mark.parametrize("code", ["91310000MA1FL8XQ37", "91110000802100433B",
                                  "91440300708461136T"])
def test_real_credit_codes_pass(code: str) -> None:
    assert canonical_uscc(code.lower()) == code


@pytest.mark.parametrize(("code", "reason"), [
    ("91310000MA1FL8XQ38", "uscc_checksum"),
    ("91310000MA1FL8XQ3", "uscc_format"),
    ("91310000MA1FL8XQIO", "uscc_format"),
])
def test_bad_credit_codes_fail(code: str, reason: str) -> None:
    with pytest.raises(Invalid) as caught:
        canonical_uscc(code)
    assert caught.value.code == reason
    assert caught.value.message["zh"] and caught.value.message["en"]


@settings(deadline=None)
@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17),
       st.integers(0, 16), st.sampled_from(USCC_ALPHABET))
def test_uscc_check_char_catches_any_single_change(body: str, at: int, new: str) -> None:
    code = body + uscc_check_char(body)
    assert canonical_uscc(code) == code
    changed = body[:at] + new + body[at + 1:]
    if changed != body:
        with pytest.raises(Invalid):
            canonical_uscc(changed + code[17])


def test_resident_id_standard_example() -> None:
    assert canonical_resident_id("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(("number", "reason"), [
    ("110105194912310021", "resident_id_checksum"),
    ("110105194902300020", "resident_id_birth_date"),
    ("000105194912310021", "resident_id_region"),
    ("11010519491231002", "resident_id_format"),
])
def test_bad_resident_ids(number: str, reason: str) -> None:
    with pytest.raises(Invalid) as caught:
        canonical_resident_id(number)
    assert caught.value.code == reason


@settings(deadline=None)
@given(st.dates(min_value=__import__("datetime").date(1900, 1, 1)),
       st.integers(0, 999))
def test_resident_id_generated_numbers_validate(born: object, seq: int) -> None:
    body = f"440305{born:%Y%m%d}{seq:03d}"
    number = body + resident_id_check_char(body)
    assert canonical_resident_id(number) == number


@pytest.mark.parametrize(("text", "expected"), [
    ("+86 138-1234-5678", "13812345678"), ("008613812345678", "13812345678"),
    ("8613812345678", "13812345678"), ("138 1234 5678", "13812345678"),
])
def test_mobile_canonical(text: str, expected: str) -> None:
    assert canonical_mobile(text) == expected
    assert canonical_phone(text, "mobile") == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("010-12345678", "010-12345678"), ("(0755)88886666", "0755-88886666"),
    ("(0755) 8888 6666", "0755-88886666"), ("075588886666", "0755-88886666"),
    ("0755-1234567-123", "0755-1234567-123"), ("010 1234 5678 转 12", "010-12345678-12"),
    ("4008001234", "400-800-1234"), ("21-12345678", "021-12345678"),
])
def test_landline_canonical(text: str, expected: str) -> None:
    assert canonical_landline(text) == expected
    assert canonical_phone(text, "any") == expected


@pytest.mark.parametrize(("text", "kind", "code"), [
    ("12345", "any", "phone_format"), ("010-12345678", "mobile", "phone_mobile"),
    ("13812345678", "landline", "phone_landline"), ("23812345678", "mobile", "phone_mobile"),
])
def test_phone_refusals(text: str, kind: str, code: str) -> None:
    with pytest.raises(Invalid) as caught:
        canonical_phone(text, kind)
    assert caught.value.code == code
