"""`app.json`: the app's identity, roles and menu (FORMATS.md)."""

from __future__ import annotations

from datetime import date, time

from pydantic import Field, field_validator, model_validator

from engines.common import Key, Label, StrictModel, Versioned
from engines.expr.workcal import WorkCalendar

HHMM = r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$"

SEMVER = r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$"


class RoleSpec(StrictModel):
    key: Key
    name: Label
    description: Label | None = None


class MenuItem(StrictModel):
    """One entry of the app's menu: exactly one of form, dashboard, report or flow."""

    form: Key | None = None
    dashboard: Key | None = None
    report: Key | None = None
    flow: Key | None = None
    label: Label | None = None

    @model_validator(mode="after")
    def _one_target(self) -> MenuItem:
        targets = [t for t in (self.form, self.dashboard, self.report, self.flow) if t]
        if len(targets) != 1:
            raise ValueError("a menu item names exactly one of form, dashboard, report, flow")
        return self

    @property
    def target(self) -> tuple[str, str]:
        for kind in ("form", "dashboard", "report", "flow"):
            value = getattr(self, kind)
            if value:
                return kind, value
        raise AssertionError("unreachable: validated above")


class CalendarSpec(StrictModel):
    """The app's working time (`app.json` "calendar", docs/formats-extensions.md): WORKHOURS,
    ADDWORKHOURS and WORKDAYS count by it. Weekdays are ISO (Monday 1 … Sunday 7);
    hours are "HH:MM" windows of a working day ("24:00" ends it); `holidays` are days
    off, `workdays` weekend days worked instead (调休)."""

    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    hours: list[tuple[str, str]] = Field(default_factory=lambda: [("00:00", "24:00")])
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)

    @field_validator("weekdays")
    @classmethod
    def _iso_weekdays(cls, value: list[int]) -> list[int]:
        if any(d < 1 or d > 7 for d in value) or len(set(value)) != len(value):
            raise ValueError("weekdays are distinct ISO day numbers, Monday 1 to Sunday 7")
        return value

    @field_validator("hours")
    @classmethod
    def _windows(cls, value: list[tuple[str, str]]) -> list[tuple[str, str]]:
        import re

        if not value:
            raise ValueError("a working day needs at least one window of hours")
        last = "00:00"
        for start, end in value:
            for t in (start, end):
                if not re.match(HHMM, t):
                    raise ValueError(f"{t!r} is not a time of day as HH:MM")
            if start == "24:00" or not start < end:
                raise ValueError(f"the window {start}-{end} must end after it starts")
            if start < last:
                raise ValueError(f"the window {start}-{end} overlaps or precedes the one "
                                 "before it; list windows in order")
            last = end
        return value

    @model_validator(mode="after")
    def _no_day_both_ways(self) -> CalendarSpec:
        both = sorted(set(self.holidays) & set(self.workdays))
        if both:
            raise ValueError(f"{both[0].isoformat()} is both a holiday and a working day")
        if not self.weekdays and not self.workdays:
            raise ValueError("the calendar has no working day")
        return self

    def compile(self) -> WorkCalendar:
        def clock(t: str) -> time | None:
            return None if t == "24:00" else time.fromisoformat(t)

        return WorkCalendar(
            weekdays=frozenset(d - 1 for d in self.weekdays),
            hours=tuple((time.fromisoformat(s), clock(e)) for s, e in self.hours),
            holidays=frozenset(self.holidays), workdays=frozenset(self.workdays))


class AppSpec(Versioned):
    key: Key
    name: Label
    version: str = Field(pattern=SEMVER)
    description: Label | None = None
    roles: list[RoleSpec] = Field(default_factory=list)
    menu: list[MenuItem] = Field(default_factory=list)
    icon: str | None = None
    calendar: CalendarSpec | None = None
