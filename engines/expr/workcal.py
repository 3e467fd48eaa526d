"""Working time: which days are worked, the hours of a working day, holidays and the
weekend days worked instead (调休). SLA clocks run on it — a ticket opened on Friday
at 17:00 with eight working hours to respond is due on Monday at 16:00, not at 01:00 on
Saturday — and WORKDAYS counts its days.

Pure: the zone comes from the caller (the deployment's), and every instant is aware.
Windows are wall-clock times of each local day, so a day that changes its UTC offset
still works its hours as written. Spans are bounded (`MAX_DAYS`), so a formula over a
typing mistake (a due date in the year 9999) fails with a message instead of looping.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engines.expr.types import ExprError

MAX_DAYS = 36600  # about a century, as WORKDAYS
ALL_DAY = ((time(0), None),)  # None as an end: the day's end (midnight after it)


@dataclass(frozen=True)
class WorkCalendar:
    """A working week and its exceptions. `hours` are (start, end) windows of a working
    day in local wall-clock time, in order and not overlapping; an end of None is the
    end of the day. `weekdays` are Python's (Monday 0 … Sunday 6)."""

    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    hours: tuple[tuple[time, time | None], ...] = ALL_DAY
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()  # weekend days worked (调休)
    seconds_per_day: float = field(init=False)

    def __post_init__(self) -> None:
        total = sum(_seconds(end) - _seconds(start) for start, end in self.hours)
        object.__setattr__(self, "seconds_per_day", float(total))

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() in self.weekdays and day not in self.holidays

    def count_workdays(self, start: date, end: date) -> int:
        """Working days from `start` to `end`, both included (`start <= end`): whole
        weeks counted at once, then the exceptions inside the span."""
        weeks, rest = divmod((end - start).days + 1, 7)
        count = weeks * len(self.weekdays) + sum(
            1 for i in range(rest)
            if (start + timedelta(days=weeks * 7 + i)).weekday() in self.weekdays)
        count -= sum(1 for h in self.holidays
                     if start <= h <= end and h.weekday() in self.weekdays)
        count += sum(1 for w in self.workdays
                     if start <= w <= end and w.weekday() not in self.weekdays
                     and w not in self.holidays)
        return count

    def work_seconds(self, start: datetime, end: datetime, tz: ZoneInfo) -> float:
        """Working seconds from `start` to `end` (negative when `end` is earlier)."""
        if end < start:
            return -self.work_seconds(end, start, tz)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        total = 0.0
        for opens, closes in self._windows(start.astimezone(tz).date(), tz, forward=True):
            if opens >= end:
                break
            lo, hi = max(opens, start), min(closes, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        return total

    def add_seconds(self, start: datetime, seconds: float, tz: ZoneInfo) -> datetime:
        """The instant `seconds` of working time after `start` (before it when
        negative). Zero gives `start` itself, even outside working hours."""
        if seconds == 0:
            return start
        start = start.astimezone(UTC)
        forward = seconds > 0
        left = timedelta(seconds=abs(seconds))
        for opens, closes in self._windows(start.astimezone(tz).date(), tz, forward=forward):
            lo, hi = (max(opens, start), closes) if forward else (opens, min(closes, start))
            if hi <= lo:
                continue
            if hi - lo >= left:
                return lo + left if forward else hi - left
            left -= hi - lo
        raise ExprError("span_too_long", "工作时间跨度过大（超过一百年）",
                        "the working time span is too long (over a century)")

    def _windows(self, first: date, tz: ZoneInfo, *,
                 forward: bool) -> Iterator[tuple[datetime, datetime]]:
        """Working windows as UTC instants (differences of instants in one zone are
        wall-clock ones in Python), day by day from `first` (its day before included),
        at most MAX_DAYS days; raises when no day in that span is worked."""
        if not self.seconds_per_day:
            raise ExprError("no_working_time", "工作日历没有任何工作时间",
                            "the working calendar has no working time")
        step = timedelta(days=1 if forward else -1)
        day = first - step
        for _ in range(MAX_DAYS):
            if self.is_workday(day):
                windows = [(datetime.combine(day, start, tz).astimezone(UTC),
                            (datetime.combine(day + timedelta(days=1), time(0), tz)
                             if end is None else datetime.combine(day, end, tz)
                             ).astimezone(UTC))
                           for start, end in self.hours]
                yield from windows if forward else reversed(windows)
            day += step
        raise ExprError("span_too_long", "工作时间跨度过大（超过一百年）",
                        "the working time span is too long (over a century)")


def _seconds(t: time | None) -> int:
    if t is None:
        return 24 * 3600
    return t.hour * 3600 + t.minute * 60 + t.second


DEFAULT_CALENDAR = WorkCalendar()
"""Monday to Friday, all day, no holidays: what WORKDAYS counted before apps had
calendars, and what an app without one gets."""
