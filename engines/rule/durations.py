"""ISO 8601 durations as rule authors write them: `P30D`, `-P3D`, `PT2H`, `P3M`, `P1W`.

Why our own parser: analysts write calendar offsets ("3 months after the last order",
"30 days after the due date"), so months and years must move along the calendar
(Jan 31 + P1M = Feb 28), which `timedelta` cannot express. The sign in front (`-P3D`)
means *before*, as in FORMATS.md.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_DURATION_RE = re.compile(
    r"^(?P<sign>[-+])?P(?!$)"
    r"(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)

MAX_PART = 100_000
"""Guards against absurd offsets (`P99999999Y`) that would overflow date arithmetic."""


@dataclass(frozen=True, slots=True)
class Offset:
    """A signed calendar offset: months move along the calendar, the rest is exact."""

    months: int = 0
    delta: timedelta = timedelta(0)

    @property
    def is_date_only(self) -> bool:
        """True when the offset has no time part, so it maps a date to a date."""
        return self.delta % timedelta(days=1) == timedelta(0)

    def negated(self) -> Offset:
        return Offset(-self.months, -self.delta)

    def add_to_date(self, value: date) -> date:
        """`value` moved by this offset; the time part (if any) is dropped."""
        moved = _add_months(value, self.months)
        return moved + timedelta(days=self.delta.days)

    def add_to_datetime(self, value: datetime) -> datetime:
        moved = _add_months(value.date(), self.months)
        return datetime.combine(moved, value.timetz()) + self.delta


def _add_months(value: date, months: int) -> date:
    if not months:
        return value
    index = value.year * 12 + (value.month - 1) + months
    year, month = divmod(index, 12)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def parse_offset(text: str) -> Offset:
    """Parse `[-]PnYnMnWnDTnHnMnS`; raises ValueError with the reason."""
    match = _DURATION_RE.match(text.strip())
    if not match:
        raise ValueError(f"not an ISO 8601 duration such as P30D, -P3D or PT2H: {text!r}")
    parts = {k: int(v) for k, v in match.groupdict().items() if v and k != "sign"}
    if any(v > MAX_PART for v in parts.values()):
        raise ValueError(f"duration too large: {text!r}")
    sign = -1 if match.group("sign") == "-" else 1
    months = parts.get("years", 0) * 12 + parts.get("months", 0)
    delta = timedelta(
        weeks=parts.get("weeks", 0),
        days=parts.get("days", 0),
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
    )
    return Offset(sign * months, sign * delta)
