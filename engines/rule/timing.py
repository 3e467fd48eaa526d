"""When scheduled and date-relative rules are due, with the clock passed in.

Cron schedules are read in the deployment's zone (`LOOM_TIMEZONE`), so "0 9 * * *"
is nine in the morning in Shanghai, daylight saving or not. Runtime keeps, per rule,
the last instant it ran up to (`since`); a tick at `now` handles what fell due in
`(since, now]`. Running the same tick twice is harmless because every firing is
claimed by its (rule, record, episode) key, but the window keeps the SQL small.

A date trigger on field D with offset O (and local time `at` for date fields) is due
for a record at `D + O` (at `at` o'clock local time). `field_window` turns "due in
(since, now]" into bounds on D itself, `lo < D <= hi`, so runtime can push it into
SQL next to the rule's condition, using D's index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from engines.rule.durations import Offset, parse_offset
from engines.rule.spec import DateTrigger

MAX_OCCURRENCES = 1000
"""A tick that missed more slots than this (a long outage) runs the latest ones only."""


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("instants passed to the rule engine must be timezone-aware")
    return at


def previous_occurrence(cron: str, tz: ZoneInfo, now: datetime) -> datetime:
    """The latest slot at or before `now` (UTC)."""
    local = _aware(now).astimezone(tz)
    itr = croniter(cron, local + timedelta(microseconds=1))
    found: datetime = itr.get_prev(datetime)
    return found.astimezone(UTC)


def next_occurrence(cron: str, tz: ZoneInfo, after: datetime) -> datetime:
    """The first slot strictly after `after` (UTC): when the job runner should wake."""
    itr = croniter(cron, _aware(after).astimezone(tz))
    found: datetime = itr.get_next(datetime)
    return found.astimezone(UTC)


def occurrences(cron: str, tz: ZoneInfo, since: datetime | None, now: datetime) -> list[datetime]:
    """Slots in `(since, now]`, oldest first; with no `since`, the latest slot only."""
    latest = previous_occurrence(cron, tz, now)
    if since is None:
        return [latest]
    if latest <= _aware(since):
        return []
    found: list[datetime] = []
    itr = croniter(cron, latest.astimezone(tz) + timedelta(microseconds=1))
    while len(found) < MAX_OCCURRENCES:
        slot: datetime = itr.get_prev(datetime)
        slot = slot.astimezone(UTC)
        if slot <= since:
            break
        found.append(slot)
    return found[::-1]


@dataclass(frozen=True, slots=True)
class FieldWindow:
    """Bounds on the trigger field's value: `lo < value <= hi` (lo None: no lower bound)."""

    lo: date | datetime | None
    hi: date | datetime

    def contains(self, value: date | datetime) -> bool:
        if isinstance(self.hi, datetime) != isinstance(value, datetime):
            raise TypeError("compare dates with dates and instants with instants")
        return (self.lo is None or value > self.lo) and value <= self.hi


def due_at(trigger: DateTrigger, value: date | datetime, tz: ZoneInfo) -> datetime:
    """When the rule is due for a record whose trigger field holds `value` (UTC)."""
    offset = parse_offset(trigger.offset)
    if isinstance(value, datetime):
        return offset.add_to_datetime(_aware(value).astimezone(UTC))
    day = offset.add_to_date(value)
    return datetime.combine(day, trigger.at, tzinfo=tz).astimezone(UTC) + (
        offset.delta - timedelta(days=offset.delta.days))


def _latest_date(offset: Offset, today: date) -> date:
    """The latest date D with D + offset <= today (months make it non-invertible)."""
    guess = offset.negated().add_to_date(today)
    while offset.add_to_date(guess + timedelta(days=1)) <= today:
        guess += timedelta(days=1)
    while offset.add_to_date(guess) > today:
        guess -= timedelta(days=1)
    return guess


def is_due(trigger: DateTrigger, value: date | datetime | None, tz: ZoneInfo,
           since: datetime | None, now: datetime) -> bool:
    """Exactly: does this record's due instant fall in `(since, now]`?"""
    if value is None:
        return False
    due = due_at(trigger, value, tz)
    return due <= now and (since is None or due > since)


def field_window(trigger: DateTrigger, *, is_datetime: bool, tz: ZoneInfo,
                 since: datetime | None, now: datetime) -> FieldWindow:
    """Values of the trigger field whose due instant falls in `(since, now]`.

    Exact for date fields and for day/time offsets. A month offset on a date-time
    field is not monotone at month ends (Jan 30 15:00 + P1M is after Jan 31 09:00 +
    P1M), so there the window is widened by a few days and `is_due` decides.
    """
    offset = parse_offset(trigger.offset)
    if is_datetime:
        back = offset.negated()
        slack = timedelta(days=4) if offset.months else timedelta(0)
        hi = back.add_to_datetime(_aware(now).astimezone(UTC)) + slack
        lo = back.add_to_datetime(_aware(since).astimezone(UTC)) - slack if since else None
        return FieldWindow(lo, hi)
    sub_day = offset.delta - timedelta(days=offset.delta.days)
    shift = timedelta(hours=trigger.at.hour, minutes=trigger.at.minute,
                      seconds=trigger.at.second) + sub_day

    def last_due_day(at: datetime) -> date:
        return (_aware(at).astimezone(tz) - shift).date()

    date_offset = Offset(offset.months, timedelta(days=offset.delta.days))
    hi_date = _latest_date(date_offset, last_due_day(now))
    lo_date = _latest_date(date_offset, last_due_day(since)) if since else None
    return FieldWindow(lo_date, hi_date)


def window_bucket(window: str, at: datetime) -> str:
    """The fixed window `at` falls in, named by its start (for `once_window` episodes).

    Windows are counted from 1970-01-05 (a Monday, UTC) so weekly windows start on
    Mondays; the name is stable, so two schedulers compute the same episode.
    """
    size = parse_offset(window).delta
    origin = datetime(1970, 1, 5, tzinfo=UTC)
    index = (_aware(at) - origin) // size
    return (origin + index * size).strftime("%Y-%m-%dT%H:%MZ")
