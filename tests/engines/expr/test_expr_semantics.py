"""Spreadsheet semantics: blanks, rounding, weekdays, money, time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from expr_fixtures import ENV, SCOPE

from engines.expr import ExprError, FixedEnv, T, compile_expr, to_json, to_native


def ev(source: str, **values: Any) -> Any:
    return compile_expr(source, SCOPE).evaluate(values, ENV)


@pytest.mark.parametrize(("source", "want"), [
    ("amount + 1", 1), ("a > 1000", False), ("a < 1", True), ("a == 0", True),
    ('status != "done"', True), ('status == ""', True), ("status == None", True),
    ("ISBLANK(status)", True), ("flag == False", True), ("not flag", True),
    ("due_date < TODAY()", False), ("due_date >= TODAY()", False), ("due_date == None", True),
    ("due_date + DAYS(1)", None), ("a / 0", None), ('CONCAT(name, "!")', "!"),
    ("LEN(name)", 0), ("SUM(a, b)", 0), ("AVERAGE(scores)", None), ("YEAR(d)", None),
    ("flag and a < 1", False), ("flag or a < 1", True), ('IF(flag, "y", "n")', "n"),
])
def test_blank_rules(source: str, want: Any) -> None:
    assert ev(source) == want


def test_and_or_give_booleans() -> None:
    assert ev("flag and True", flag=None) is False
    assert ev("flag or False", flag=None) is False
    assert ev("not flag", flag=True) is False


def test_round_is_half_up_like_excel() -> None:
    assert ev("ROUND(2.5)") == 3
    assert ev("ROUND(0.125, 2)") == 0.13
    assert ev("ROUND(amount, 1)", amount=Decimal("2.25")) == Decimal("2.3")
    assert ev("ROUND(-2.5)") == -3


def test_money_stays_exact() -> None:
    total = ev("amount * 3 + 0.1", amount=Decimal("0.1"))
    assert total == Decimal("0.4")
    assert isinstance(total, Decimal)
    assert ev("SUM(lines.subtotal)", lines=[{"subtotal": Decimal("0.1")}] * 3) == Decimal("0.3")
    assert to_json(Decimal("1200.5"), T.MONEY) == "1200.5"
    assert to_native("1200.50", T.MONEY) == Decimal("1200.50")


def test_weekday_counts_as_excel() -> None:
    sunday = date(2026, 1, 4)
    assert ev("WEEKDAY(d)", d=sunday) == 1
    assert ev("WEEKDAY(d, 2)", d=sunday) == 7
    assert ev("WEEKDAY(d, 3)", d=date(2026, 1, 5)) == 0


def test_today_is_in_the_deployment_zone() -> None:
    late_utc = datetime(2026, 1, 1, 20, 0, tzinfo=UTC)  # already Jan 2 in Shanghai
    shanghai = FixedEnv(at=late_utc, tz=ZoneInfo("Asia/Shanghai"))
    london = FixedEnv(at=late_utc, tz=ZoneInfo("Europe/London"))
    c = compile_expr("TODAY()", SCOPE)
    assert c.evaluate({}, shanghai) == date(2026, 1, 2)
    assert c.evaluate({}, london) == date(2026, 1, 1)
    day = compile_expr("DAY(due_at)", SCOPE)
    assert day.evaluate({"due_at": late_utc}, shanghai) == 2


def test_date_and_instant_compare_at_local_midnight() -> None:
    c = compile_expr("due_at >= since", SCOPE)
    env = FixedEnv(tz=ZoneInfo("Asia/Shanghai"))
    # 2026-01-01 00:00 in Shanghai is 2025-12-31 16:00 UTC
    assert c.evaluate({"due_at": datetime(2025, 12, 31, 16, 0, tzinfo=UTC),
                       "since": date(2026, 1, 1)}, env) is True
    assert c.evaluate({"due_at": datetime(2025, 12, 31, 15, 59, tzinfo=UTC),
                       "since": date(2026, 1, 1)}, env) is False


def test_aggregates_see_record_as_the_record_in_scope() -> None:
    c = compile_expr('COUNT("complaint", customer == record.code and '
                     'created_at >= NOW() - DAYS(7)) >= 2', SCOPE)
    assert c.evaluate({"code": "7"}, ENV) is True
    assert c.evaluate({"code": "8"}, ENV) is False
    assert ev('MAX("complaint", score, customer == record.code)', code="7") == 4
    assert ev('SUM("complaint", score)') == 11


def test_people() -> None:
    assert ev("USER()") == "alice"
    assert ev('CONTAINS(user.roles, "finance") and user.department == "sales"') is True


def test_env_is_required_where_time_is_read() -> None:
    with pytest.raises(ExprError) as info:
        compile_expr("TODAY()", SCOPE).evaluate({})
    assert info.value.code == "needs_env"
    assert compile_expr("1 + 1", SCOPE).evaluate({}) == 2


def test_switch_ifs_and_membership() -> None:
    assert ev('SWITCH(level, 1, "a", 2, "b")', level=3) is None
    assert ev('status in ["open", "new"]', status="new") is True
    assert ev('"vip" in tags', tags=["vip"]) is True
    assert ev('"vip" not in tags', tags=None) is True
    assert ev("1 < level < 3", level=2) is True


def test_bad_stored_data_is_an_expr_error() -> None:
    with pytest.raises(ExprError) as info:
        ev("a > 1", a="not a number")
    assert info.value.code == "eval_error"
    assert info.value.source == "a > 1"


def test_workdays_use_the_holiday_calendar() -> None:
    env = FixedEnv(holidays=frozenset({date(2026, 1, 1)}))
    c = compile_expr("WORKDAYS(DATE(2025, 12, 29), DATE(2026, 1, 4))", SCOPE)
    assert c.evaluate({}, env) == 4
    assert c.evaluate({}, FixedEnv()) == 5


def test_money_compares_exactly_with_decimal_literals() -> None:
    tenth = Decimal("0.1")
    assert ev("amount == 0.1", amount=tenth) is True
    assert ev("amount < 0.1", amount=tenth) is False
    assert ev("amount <= score", amount=tenth, score=0.1) is True
    assert ev("COALESCE(amount, 0) == 0.1", amount=tenth) is True
