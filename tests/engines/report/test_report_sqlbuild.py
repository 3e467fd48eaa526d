"""The zone data behind PostgreSQL's fixed-offset shortcut for local times
(`engines.report.sqlbuild.steady_offset`): wherever it says the offset is steady, the
zone database must agree, to the second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.report.sqlbuild import steady_offset

ZONES = sorted(available_timezones())


def test_shanghai_is_steady_since_the_end_of_its_1991_summer_time() -> None:
    steady = steady_offset(ZoneInfo("Asia/Shanghai"))
    assert steady is not None
    since, until, offset = steady
    assert offset == timedelta(hours=8)
    assert datetime(1991, 9, 14, 17, tzinfo=UTC) <= since <= datetime(1991, 9, 14, 17, 0, 1,
                                                                      tzinfo=UTC)
    assert until == datetime(2100, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Africa/Casablanca",
                                  "Australia/Sydney"])
def test_zones_that_still_change_their_offset_have_no_steady_one(zone: str) -> None:
    assert steady_offset(ZoneInfo(zone)) is None


def test_utc_is_steady_over_the_whole_range() -> None:
    assert steady_offset(ZoneInfo("UTC")) == (datetime(1900, 1, 1, tzinfo=UTC),
                                              datetime(2100, 1, 1, tzinfo=UTC), timedelta(0))


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(ZONES), fraction=st.floats(0, 1))
def test_the_steady_offset_is_the_zones_offset_at_every_instant_it_covers(
        zone: str, fraction: float) -> None:
    tz = ZoneInfo(zone)
    steady = steady_offset(tz)
    if steady is None:
        return
    since, until, offset = steady
    at = since + (until - since) * fraction
    assert at.astimezone(tz).utcoffset() == offset
    assert until.astimezone(tz).utcoffset() == offset
    if since > datetime(1900, 1, 1, tzinfo=UTC):  # and it changed just before
        assert (since - timedelta(seconds=2)).astimezone(tz).utcoffset() != offset
