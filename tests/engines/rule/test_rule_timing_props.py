"""Property: the SQL-side window on the date field selects exactly (or, for month
offsets on date-time fields, at least) the records `is_due` says are due."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from engines.rule.spec import DateTrigger
from engines.rule.timing import field_window, is_due

ZONES = st.sampled_from([ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York"),
                         ZoneInfo("UTC")])
OFFSETS = st.one_of(
    st.integers(-400, 400).map(lambda d: f"-P{-d}D" if d < 0 else f"P{d}D"),
    st.integers(-24, 24).filter(bool).map(lambda m: f"-P{-m}M" if m < 0 else f"P{m}M"),
    st.integers(-72, 72).map(lambda h: f"-PT{-h}H" if h < 0 else f"PT{h}H"),
)
INSTANTS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(offset=OFFSETS, tz=ZONES, hour=st.sampled_from([0, 9, 18]),
       day=st.dates(min_value=date(2023, 1, 1), max_value=date(2028, 12, 31)),
       since=INSTANTS, span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)))
def test_date_field_window_is_exact(offset: str, tz: ZoneInfo, hour: int, *, day: date,
                                    since: datetime, span: timedelta) -> None:
    trigger = DateTrigger(kind="date", field="d", offset=offset, at=time(hour))
    now = since + span
    window = field_window(trigger, is_datetime=False, tz=tz, since=since, now=now)
    assert window.contains(day) == is_due(trigger, day, tz, since, now)


@settings(max_examples=300, deadline=None)
@given(offset=OFFSETS, value=INSTANTS, since=INSTANTS,
       span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)))
def test_datetime_field_window_never_misses(offset: str, value: datetime, since: datetime,
                                            span: timedelta) -> None:
    trigger = DateTrigger(kind="date", field="d", offset=offset)
    tz = ZoneInfo("Asia/Shanghai")
    now = since + span
    window = field_window(trigger, is_datetime=True, tz=tz, since=since, now=now)
    due = is_due(trigger, value, tz, since, now)
    if due:
        assert window.contains(value)
    if "M" not in offset.split("T", maxsplit=1)[0]:  # no months: exact
        assert window.contains(value) == due
