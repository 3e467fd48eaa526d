"""ISO 8601 durations (`P1D`, `PT2H`, `P1DT30M`) and due-time arithmetic.

Working-day arithmetic depends on holidays and office hours that live in the
deployment, so it goes through the injected `WorkCalendar`; the engine itself only
does calendar arithmetic.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from engines.flow.ports import WorkCalendar

_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$")


def parse_duration(text: str) -> timedelta:
    """`P1DT2H` → timedelta; raises ValueError on anything else (years/months too)."""
    match = _DURATION.match(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"not an ISO 8601 duration in weeks/days/hours/minutes/seconds: {text!r}")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    return timedelta(weeks=parts.get("w", 0), days=parts.get("d", 0), hours=parts.get("h", 0),
                     minutes=parts.get("m", 0), seconds=parts.get("s", 0))


def add_duration(start: datetime, delta: timedelta, days: str,
                 calendar: WorkCalendar | None) -> datetime:
    """`start + delta`, counting only working time when `days == "working"`.

    Without a calendar, working days fall back to calendar days: a missing calendar
    must not stop a flow, and the deployment decides whether to configure one.
    """
    if days == "working" and calendar is not None:
        return calendar.add_working(start, delta)
    return start + delta
