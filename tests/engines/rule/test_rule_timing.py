from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from engines.rule.spec import DateTrigger
from engines.rule.timing import (
    due_at,
    field_window,
    next_occurrence,
    occurrences,
    previous_occurrence,
    window_bucket,
)

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_cron_is_read_in_the_deployment_zone() -> None:
    # 09:00 in Shanghai is 01:00 UTC
    assert previous_occurrence("0 9 * * *", SH, utc(2026, 3, 10, 1, 30)) == utc(2026, 3, 10, 1)
    assert previous_occurrence("0 9 * * *", SH, utc(2026, 3, 10, 0, 59)) == utc(2026, 3, 9, 1)
    assert previous_occurrence("0 9 * * *", SH, utc(2026, 3, 10, 1)) == utc(2026, 3, 10, 1)
    assert next_occurrence("0 9 * * *", SH, utc(2026, 3, 10, 1)) == utc(2026, 3, 11, 1)


def test_cron_across_daylight_saving() -> None:
    # New York moves to summer time on 2026-03-08: 09:00 local is 14:00 then 13:00 UTC
    assert previous_occurrence("0 9 * * *", NY, utc(2026, 3, 7, 20)) == utc(2026, 3, 7, 14)
    assert previous_occurrence("0 9 * * *", NY, utc(2026, 3, 9, 20)) == utc(2026, 3, 9, 13)


def test_occurrences_in_a_window() -> None:
    slots = occurrences("0 9 * * *", SH, utc(2026, 3, 7, 1), utc(2026, 3, 10, 2))
    assert slots == [utc(2026, 3, 8, 1), utc(2026, 3, 9, 1), utc(2026, 3, 10, 1)]
    assert occurrences("0 9 * * *", SH, utc(2026, 3, 10, 1), utc(2026, 3, 10, 2)) == []
    assert occurrences("0 9 * * *", SH, None, utc(2026, 3, 10, 2)) == [utc(2026, 3, 10, 1)]


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        previous_occurrence("0 9 * * *", SH, datetime(2026, 1, 1))


def test_due_at_for_dates_and_instants() -> None:
    three_before = DateTrigger(kind="date", field="due_date", offset="-P3D", at=time(9))
    assert due_at(three_before, date(2026, 3, 10), SH) == utc(2026, 3, 7, 1)
    after = DateTrigger(kind="date", field="assigned_at", offset="P3D")
    assert due_at(after, utc(2026, 3, 1, 5, 30), SH) == utc(2026, 3, 4, 5, 30)


def test_field_window_for_datetime_fields() -> None:
    trigger = DateTrigger(kind="date", field="assigned_at", offset="P3D")
    window = field_window(trigger, is_datetime=True, tz=SH, since=utc(2026, 3, 9),
                          now=utc(2026, 3, 10))
    assert (window.lo, window.hi) == (utc(2026, 3, 6), utc(2026, 3, 7))
    assert window.contains(utc(2026, 3, 6, 12))
    assert not window.contains(utc(2026, 3, 6))  # already due at the previous tick
    assert window.contains(utc(2026, 3, 7))
    with pytest.raises(TypeError):
        window.contains(date(2026, 3, 6))


def test_field_window_for_date_fields_matches_due_at() -> None:
    trigger = DateTrigger(kind="date", field="due_date", offset="P1M", at=time(9))
    since, now = utc(2026, 3, 29, 2), utc(2026, 3, 31, 2)
    window = field_window(trigger, is_datetime=False, tz=SH, since=since, now=now)
    for day in range(1, 90):
        value = date(2026, 1, 1) + timedelta(days=day)
        due = due_at(trigger, value, SH)
        assert window.contains(value) == (since < due <= now), value
    assert window.hi == date(2026, 2, 28)  # Mar 1 + 1 month is Apr 1: not due yet
    no_since = field_window(trigger, is_datetime=False, tz=SH, since=None, now=now)
    assert no_since.lo is None and no_since.contains(date(2020, 1, 1))


def test_window_buckets_are_stable_and_monday_based() -> None:
    assert window_bucket("P7D", utc(2026, 3, 10, 12)) == "2026-03-09T00:00Z"
    assert window_bucket("P7D", utc(2026, 3, 15, 23, 59)) == "2026-03-09T00:00Z"
    assert window_bucket("P7D", utc(2026, 3, 16)) == "2026-03-16T00:00Z"
    assert window_bucket("PT6H", utc(2026, 3, 16, 7)) == "2026-03-16T06:00Z"
