"""Working time (`engines.expr.workcal`, WORKHOURS / ADDWORKHOURS / WORKDAYS): office
hours with a lunch break, holidays and weekend days worked (调休), in the deployment's
zone; and the laws any calendar must keep."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.expr import ExprError, Field, FixedEnv, Scope, T, compile_expr
from engines.expr.workcal import WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
OFFICE = WorkCalendar(hours=((time(9), time(12)), (time(13, 30), time(18))),
                      holidays=frozenset(date(2026, 10, d) for d in range(1, 8)),
                      workdays=frozenset({date(2026, 9, 27), date(2026, 10, 10)}))
ENV = FixedEnv(at=datetime(2026, 1, 1, tzinfo=UTC), tz=TZ, calendar=OFFICE)
SCOPE = Scope({"a": Field(T.DATETIME), "b": Field(T.DATETIME), "n": Field(T.NUMBER)})


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc]


def ev(source: str, env: FixedEnv = ENV, **values: Any) -> Any:
    return compile_expr(source, SCOPE).evaluate(values, env)


def test_working_hours_skip_the_evening_the_weekend_and_lunch() -> None:
    friday_five = local(2026, 1, 9, 17)
    due = ev("ADDWORKHOURS(a, 8)", a=friday_five)
    assert due == local(2026, 1, 12, 17, 30)  # 1 h Friday, 3 h + 4 h Monday
    assert ev("WORKHOURS(b, a)", a=friday_five, b=due) == 8.0
    assert ev("WORKHOURS(a, b)", a=friday_five, b=due) == -8.0
    assert ev("ADDWORKHOURS(a, 1)", a=local(2026, 1, 12, 12, 30)) == local(2026, 1, 12, 14, 30)
    assert ev("ADDWORKHOURS(a, 1)", a=local(2026, 1, 10, 15)) == local(2026, 1, 12, 10)
    assert ev("ADDWORKHOURS(a, -2)", a=local(2026, 1, 12, 10)) == local(2026, 1, 9, 17)
    assert ev("ADDWORKHOURS(a, 0)", a=local(2026, 1, 10, 3)) == local(2026, 1, 10, 3)


def test_holidays_are_skipped_and_weekend_days_worked_instead_count() -> None:
    # 30 September, a Wednesday, 17:00: one hour that day, then the National Day week
    assert ev("ADDWORKHOURS(a, 2)", a=local(2026, 9, 30, 17)) == local(2026, 10, 8, 10)
    # Sunday 27 September is worked (调休): Saturday 26th at noon + 1 h is its 10:00
    assert ev("ADDWORKHOURS(a, 1)", a=local(2026, 9, 26, 12)) == local(2026, 9, 27, 10)
    # WORKDAYS, 28 Sep – 11 Oct: three days of September, none of 1-7 October, the
    # 8th and 9th, and Saturday the 10th (worked)
    assert ev("WORKDAYS(DATE(2026, 9, 28), DATE(2026, 10, 11))") == 3 + 2 + 1
    assert ev("WORKDAYS(DATE(2026, 9, 26), DATE(2026, 9, 27))") == 1


def test_without_an_app_calendar_days_are_monday_to_friday_all_day() -> None:
    plain = FixedEnv(tz=TZ)
    assert ev("WORKHOURS(b, a)", plain, a=local(2026, 1, 9, 12),
              b=local(2026, 1, 12, 12)) == 24.0
    assert ev("WORKDAYS(DATE(2026, 9, 28), DATE(2026, 10, 11))", plain) == 10


def test_blank_in_blank_out_and_runaway_spans_stop() -> None:
    assert ev("WORKHOURS(b, a)", a=None, b=local(2026, 1, 9)) is None
    assert ev("ADDWORKHOURS(a, n)", a=local(2026, 1, 9), n=None) is None
    with pytest.raises(ExprError) as err:
        ev("ADDWORKHOURS(a, 10000000)", a=local(2026, 1, 9))
    assert err.value.code == "span_too_long"
    with pytest.raises(ExprError) as err:
        ev("WORKHOURS(b, a)", a=local(2026, 1, 9), b=local(2300, 1, 1))
    assert err.value.code == "span_too_long"


def test_a_calendar_without_working_hours_is_refused_when_used() -> None:
    with pytest.raises(ExprError) as err:
        WorkCalendar(hours=()).add_seconds(local(2026, 1, 9), 3600, TZ)
    assert err.value.code == "no_working_time"


INSTANTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(UTC))


@settings(max_examples=150, deadline=None)
@given(start=INSTANTS, hours=st.floats(-300, 300, allow_nan=False))
def test_adding_working_hours_then_counting_them_gives_them_back(start: datetime,
                                                                 hours: float) -> None:
    due = OFFICE.add_seconds(start, hours * 3600, TZ)
    assert (due >= start) == (hours >= 0) or due == start
    assert OFFICE.work_seconds(start, due, TZ) / 3600 == pytest.approx(hours, abs=1e-6)


@settings(max_examples=150, deadline=None)
@given(a=INSTANTS, b=INSTANTS, c=INSTANTS)
def test_working_time_adds_up_over_consecutive_spans(a: datetime, b: datetime,
                                                     c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    whole = OFFICE.work_seconds(a, c, TZ)
    assert whole == pytest.approx(OFFICE.work_seconds(a, b, TZ) + OFFICE.work_seconds(b, c, TZ))
    assert 0 <= whole <= (c - a).total_seconds()
    assert whole <= ((c - a).days + 2) * OFFICE.seconds_per_day + 1e-6


def test_working_windows_follow_the_wall_clock_across_a_dst_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    week = WorkCalendar(weekdays=frozenset(range(7)), hours=((time(1), time(4)),))
    day = datetime(2026, 3, 29, tzinfo=berlin)  # 02:00 → 03:00 that night
    assert week.work_seconds(day, day + timedelta(days=1), berlin) == 2 * 3600
