"""Every field type: accepted spellings → one stored form; refusals with a code."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from engines.expr import FixedEnv

OPTIONS = [{"value": "a", "label": {"zh": "甲", "en": "A"}},
           {"value": "b", "label": "B"}, {"value": "c", "label": "C"}]
FILE = {"id": "f1", "name": "x.pdf", "size": 10, "content_type": "application/pdf"}
PNG = {"id": "p1", "name": "x.png", "size": 10, "content_type": "image/png"}

ACCEPTED: list[tuple[dict[str, Any], Any, Any]] = [
    ({"type": "text"}, "  hello ", "hello"),
    ({"type": "text"}, 12, "12"),
    ({"type": "textarea", "max_length": 5}, "abcde", "abcde"),
    ({"type": "richtext"}, " <p>x</p> ", " <p>x</p> "),
    ({"type": "email"}, " Info@Example.COM ", "Info@example.com"),
    ({"type": "url"}, "www.example.com/a", "https://www.example.com/a"),
    ({"type": "phone"}, "+86 138 1234 5678", "13812345678"),
    ({"type": "uscc"}, "91310000ma1fl8xq37", "91310000MA1FL8XQ37"),
    ({"type": "resident_id"}, "11010519491231002x", "11010519491231002X"),
    ({"type": "number"}, "1,234.5", 1234.5),
    ({"type": "number"}, 7, 7),
    ({"type": "number", "precision": 2}, 1.005, 1.01),
    ({"type": "percent"}, "25%", 0.25),
    ({"type": "integer"}, "42", 42),
    ({"type": "integer"}, 3.0, 3),
    ({"type": "money"}, "¥1,200.5", "1200.50"),
    ({"type": "money"}, 0.1, "0.10"),
    ({"type": "money", "precision": 0, "currency": "JPY"}, "300", "300"),
    ({"type": "date"}, "2024/1/5", "2024-01-05"),
    ({"type": "date"}, "2024年1月5日", "2024-01-05"),
    ({"type": "date"}, "2024-01-05T10:00:00", "2024-01-05"),
    ({"type": "datetime"}, "2024-01-05 08:30", "2024-01-05T00:30:00Z"),
    ({"type": "datetime"}, "2024-01-05T08:30:00+00:00", "2024-01-05T08:30:00Z"),
    ({"type": "time"}, "9:30".zfill(5), "09:30:00"),
    ({"type": "select", "options": OPTIONS}, "b", "b"),
    ({"type": "radio", "options": OPTIONS}, "a", "a"),
    ({"type": "multiselect", "options": OPTIONS}, ["a", "c", "a"], ["a", "c"]),
    ({"type": "checkbox", "options": OPTIONS}, "b", ["b"]),
    ({"type": "boolean"}, "是", True),
    ({"type": "boolean"}, "false", False),
    ({"type": "boolean"}, 1, True),
    ({"type": "address", "level": "city"}, {"province": "广东", "city": "深圳市"},
     {"province": "广东省", "city": "深圳市", "code": "440300"}),
    ({"type": "address"}, "北京市海淀区中关村大街1号",
     {"province": "北京市", "city": "北京市", "district": "海淀区",
      "detail": "中关村大街1号", "code": "110108"}),
    ({"type": "address"}, {"province": "内蒙古自治区", "city": "包头市", "district": "昆都仑区"},
     {"province": "内蒙古自治区", "city": "包头市", "district": "昆都仑区", "code": "150200"}),
    ({"type": "location"}, {"lat": "31.2", "lng": 121.5, "address": " 外滩 "},
     {"lat": 31.2, "lng": 121.5, "address": "外滩"}),
    ({"type": "attachment"}, FILE, [FILE]),
    ({"type": "image"}, [PNG], [PNG]),
    ({"type": "signature"}, PNG, [PNG]),
    ({"type": "rating"}, "4", 4),
    ({"type": "rating", "allow_half": True}, 3.5, 3.5),
    ({"type": "user"}, " zhang ", "zhang"),
    ({"type": "user", "multiple": True}, ["a", "b", "a"], ["a", "b"]),
    ({"type": "department"}, ["sales"], "sales"),
    ({"type": "relation", "form": "customer"}, 17, "17"),
    ({"type": "relation", "form": "customer", "multiple": True}, "17", ["17"]),
]


@pytest.mark.parametrize(("settings", "given", "stored"), ACCEPTED)
def test_accepted_values_are_normalised(make_form: Any, env: FixedEnv,
                                        settings: dict[str, Any], given: Any,
                                        stored: Any) -> None:
    form = make_form([{"key": "v", **settings}])
    result = form.process({"v": given}, env=env)
    assert result.errors == []
    assert result.data == {"v": stored}
    Draft202012Validator(form.schema).validate(result.data)
    again = form.process(result.data, env=env)  # stored data re-submitted is unchanged
    assert again.ok and again.data == result.data


REFUSED: list[tuple[dict[str, Any], Any, str]] = [
    ({"type": "text", "max_length": 3}, "abcd", "max_length"),
    ({"type": "text", "min_length": 3}, "ab", "min_length"),
    ({"type": "text", "pattern": "[A-Z]{2}-\\d+"}, "ab-1", "pattern"),
    ({"type": "text"}, {"x": 1}, "type"),
    ({"type": "email"}, "a@b", "email"),
    ({"type": "url"}, "ftp://example.com", "url"),
    ({"type": "phone", "kind": "mobile"}, "12345678901", "phone_mobile"),
    ({"type": "uscc"}, "91310000MA1FL8XQ38", "uscc_checksum"),
    ({"type": "resident_id"}, "110105194912310021", "resident_id_checksum"),
    ({"type": "number"}, "abc", "type"),
    ({"type": "number"}, True, "type"),
    ({"type": "number"}, "NaN", "type"),
    ({"type": "number", "min": 0}, -1, "min"),
    ({"type": "number", "max": 10}, 11, "max"),
    ({"type": "integer"}, 2.5, "type"),
    ({"type": "money"}, "1.005", "money_precision"),
    ({"type": "money", "min": 0}, "-1", "min"),
    ({"type": "money"}, "1e40", "number_range"),
    ({"type": "number", "precision": 2}, "1e40", "number_range"),
    ({"type": "date"}, "2024-02-30", "date"),
    ({"type": "date", "min": "2024-01-01"}, "2023-12-31", "min"),
    ({"type": "datetime"}, "yesterday", "datetime"),
    ({"type": "time"}, "25:00", "time"),
    ({"type": "select", "options": OPTIONS}, "z", "option"),
    ({"type": "multiselect", "options": OPTIONS, "max_items": 1}, ["a", "b"], "max_items"),
    ({"type": "multiselect", "options": OPTIONS}, ["a", "z"], "option"),
    ({"type": "boolean"}, "maybe", "type"),
    ({"type": "address"}, {"province": "火星省"}, "address_region"),
    ({"type": "address"}, {"province": "广东省", "city": "杭州市"}, "address_region"),
    ({"type": "address"}, {"province": "北京市", "district": "南山区"}, "address_region"),
    ({"type": "address"}, {"province": "广东省", "city": "深圳市"}, "address_incomplete"),
    ({"type": "address"}, {"street": "x"}, "type"),
    ({"type": "location"}, {"lat": 91, "lng": 0}, "location_range"),
    ({"type": "location", "center": [31.23, 121.47], "radius_m": 500},
     {"lat": 31.30, "lng": 121.47}, "location_out_of_range"),
    ({"type": "attachment"}, [{"id": "x"}], "file_ref"),
    ({"type": "attachment", "max_files": 1}, [FILE, {**FILE, "id": "f2"}], "max_files"),
    ({"type": "attachment"}, [FILE, FILE], "file_duplicate"),
    ({"type": "attachment", "max_size": 5}, [FILE], "file_size"),
    ({"type": "image"}, [FILE], "file_type"),
    ({"type": "rating"}, 6, "rating"),
    ({"type": "rating"}, 2.5, "rating"),
    ({"type": "user"}, 3.5, "type"),
]


@pytest.mark.parametrize(("settings", "given", "code"), REFUSED)
def test_refused_values_have_a_code_and_both_languages(
        make_form: Any, env: FixedEnv, settings: dict[str, Any], given: Any,
        code: str) -> None:
    form = make_form([{"key": "v", **settings}])
    result = form.process({"v": given}, env=env, lang="en")
    assert [(i.field, i.code) for i in result.issues] == [("v", code)]
    assert result.issues[0].message["zh"] and result.issues[0].message["en"]
    assert "v" not in result.data


def test_location_inside_radius_is_accepted(make_form: Any, env: FixedEnv) -> None:
    form = make_form([{"key": "v", "type": "location", "center": [31.23, 121.47],
                       "radius_m": 500}])
    assert form.process({"v": {"lat": 31.231, "lng": 121.471}}, env=env).ok


@pytest.mark.parametrize("blank", [None, "", "   ", [], {}])
def test_blank_values_are_not_stored(make_form: Any, env: FixedEnv, blank: Any) -> None:
    form = make_form([{"key": "v", "type": "text"}, {"key": "w", "type": "multiselect",
                                                     "options": OPTIONS}])
    result = form.process({"v": blank, "w": blank}, env=env)
    assert result.ok and result.data == {}


def test_naive_datetime_uses_the_deployment_zone(make_form: Any) -> None:
    from zoneinfo import ZoneInfo

    form = make_form([{"key": "v", "type": "datetime"}])
    tokyo = FixedEnv(tz=ZoneInfo("Asia/Tokyo"))
    assert form.process({"v": "2024-01-05T09:00"}, env=tokyo).data == {
        "v": "2024-01-05T00:00:00Z"}


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    ("[0-9]{6}", "600000", True), ("[0-9]{6}", "6000001", False),
    ("[0-9]{6}", "60000", False), ("(a|b)+c", "ababc", True), ("中.+", "中文", True),
    ("中.+", "文中", False), ("x*", "", True),
])
def test_re2_fullmatcher_matches_the_whole_text(pattern: str, text: str,
                                                expected: bool) -> None:
    import re2

    from engines.form.normalisers import re2_fullmatcher

    assert re2_fullmatcher(pattern)(text) is expected
    assert (re2.compile(pattern).fullmatch(text) is not None) is expected
