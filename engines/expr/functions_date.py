"""Dates, durations and the current user. TODAY() and date parts use the deployment's
time zone (Env.tz); instants are aware UTC datetimes. Blank dates give blank results."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engines.expr import ops
from engines.expr.registry import Example, Fn, register
from engines.expr.types import T
from engines.expr.workcal import DEFAULT_CALENDAR, WorkCalendar

MAX_WORKDAY_SPAN = 36600  # days WORKDAYS will count over (about a century)


def local_date(env: Any, x: Any) -> date | None:
    """A date or an instant as the calendar date in the deployment's zone."""
    if x is None or x == "":
        return None
    if isinstance(x, datetime):
        tz = env.tz if env is not None else UTC
        return x.astimezone(tz).date()
    if isinstance(x, date):
        return x
    raise ops.fail("not_a_date", f"{x!r} 不是日期", f"{x!r} is not a date")


class _TodayCache:
    """A one-entry cache of (instant, zone) → local date: one evaluation loop over many
    records asks for TODAY() with the same instant every time. The entry is replaced as
    a whole tuple, so threads never see a torn one."""

    entry: tuple[Any, Any, date] | None = None


def _today(env: Any) -> date:
    e = ops.need_env(env)
    now, tz = e.now(), e.tz
    last = _TodayCache.entry
    if last is not None and last[0] == now and last[1] is tz:
        return last[2]
    today: date = now.astimezone(tz).date()
    _TodayCache.entry = (now, tz, today)
    return today


def _now(env: Any) -> datetime:
    return ops.need_env(env).now().astimezone(UTC)  # type: ignore[no-any-return]


def _date(y: Any, m: Any, d: Any) -> date | None:
    if y is None or m is None or d is None:
        return None
    try:
        # Excel rolls months over: DATE(2026, 13, 1) is 2027-01-01.
        yy, mm = int(y) + (int(m) - 1) // 12, (int(m) - 1) % 12 + 1
        return date(yy, mm, 1) + timedelta(days=int(d) - 1)
    except (ValueError, OverflowError) as exc:
        raise ops.fail("bad_date", "无效的日期", "invalid date") from exc


def _part(name: str) -> Any:
    def part(env: Any, x: Any) -> int | None:
        d = local_date(env, x)
        return None if d is None else int(getattr(d, name))
    return part


def _weekday(env: Any, x: Any, kind: Any = 1) -> int | None:
    d = local_date(env, x)
    if d is None:
        return None
    mon0 = d.weekday()  # Monday = 0
    k = int(ops.num(kind))
    if k == 1:
        return (mon0 + 1) % 7 + 1   # Sunday = 1 … Saturday = 7
    if k == 2:
        return mon0 + 1             # Monday = 1 … Sunday = 7
    if k == 3:
        return mon0                 # Monday = 0 … Sunday = 6
    raise ops.fail("bad_weekday_type", "WEEKDAY 的类型须为 1、2 或 3",
                   "WEEKDAY's type must be 1, 2 or 3")


def _days(env: Any, a: Any, b: Any = ...) -> Any:
    """DAYS(n) is a duration of n days; DAYS(end, start) the days between two dates."""
    if b is ...:
        return None if a is None else timedelta(days=float(a))
    if type(a) is date and type(b) is date:  # the common case, without zone work
        return (a - b).days
    end, start = local_date(env, a), local_date(env, b)
    if end is None or start is None:
        return None
    return (end - start).days


def _days_result(types: list[T]) -> T:
    return T.DURATION if len(types) == 1 else T.INTEGER


def _instant(env: Any, x: Any) -> datetime | None:
    """A date (its local midnight) or an instant, for the time between two of them."""
    if x is None or x == "":
        return None
    if isinstance(x, datetime):
        return x
    if isinstance(x, date):
        return ops.local_midnight(env, x)
    raise ops.fail("not_a_date", f"{x!r} 不是日期或时刻", f"{x!r} is not a date or an instant")


def _span(unit: float, make: str) -> Any:
    """HOURS(n) / MINUTES(n) make a duration; with two instants, HOURS(end, start) is
    the time between them in that unit, a fraction included (a duration as a number)."""
    def span(env: Any, a: Any, b: Any = ...) -> Any:
        if b is ...:
            return None if a is None else timedelta(**{make: float(a)})
        end, start = _instant(env, a), _instant(env, b)
        if end is None or start is None:
            return None
        return (end - start).total_seconds() / unit
    return span


def _span_result(types: list[T]) -> T:
    return T.DURATION if len(types) == 1 else T.NUMBER


def add_months(d: date, months: int) -> date:
    total = d.year * 12 + d.month - 1 + months
    y, m = divmod(total, 12)
    if not 1 <= y <= 9999:
        raise ops.fail("bad_date", "日期超出范围", "date out of range")
    return date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def _edate(env: Any, x: Any, months: Any) -> date | None:
    d = local_date(env, x)
    return None if d is None else add_months(d, int(ops.num(months)))


def _eomonth(env: Any, x: Any, months: Any) -> date | None:
    d = local_date(env, x)
    if d is None:
        return None
    e = add_months(d.replace(day=1), int(ops.num(months)))
    return e.replace(day=calendar.monthrange(e.year, e.month)[1])


def _adddays(x: Any, n: Any) -> Any:
    if x is None:
        return None
    return x + timedelta(days=int(ops.num(n)))


def _datedif(env: Any, a: Any, b: Any, unit: Any) -> int | None:
    start, end = local_date(env, a), local_date(env, b)
    if start is None or end is None:
        return None
    if end < start:
        raise ops.fail("bad_dates", "DATEDIF 的结束日期早于开始日期",
                       "DATEDIF's end date is before its start date")
    u = ops.text(unit).upper()
    months = (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)
    if u == "Y":
        return months // 12
    if u == "M":
        return months
    if u == "D":
        return (end - start).days
    if u == "YM":
        return months % 12
    if u == "MD":
        anchor = add_months(start, months)
        return (end - anchor).days
    if u == "YD":
        anchor = add_months(start, months // 12 * 12)
        return (end - anchor).days
    raise ops.fail("bad_unit", "DATEDIF 的单位须为 Y、M、D、YM、MD 或 YD",
                   "DATEDIF's unit must be Y, M, D, YM, MD or YD")


def work_calendar(env: Any) -> WorkCalendar:
    """The app's working calendar (`app.json` "calendar"), or Monday to Friday with
    the env's holidays."""
    if env is None:
        return DEFAULT_CALENDAR
    calendar: WorkCalendar | None = env.calendar
    if calendar is not None:
        return calendar
    holidays = env.holidays
    return WorkCalendar(holidays=holidays) if holidays else DEFAULT_CALENDAR


def _workdays(env: Any, a: Any, b: Any) -> int | None:
    """Working days from a to b, both included (the app's calendar: Monday–Friday minus
    holidays unless it says otherwise)."""
    start, end = local_date(env, a), local_date(env, b)
    if start is None or end is None:
        return None
    sign = 1
    if end < start:
        start, end, sign = end, start, -1
    span = (end - start).days + 1
    if span > MAX_WORKDAY_SPAN:
        raise ops.fail("span_too_long", "日期跨度过大", "the date span is too long")
    return sign * work_calendar(env).count_workdays(start, end)


def _workhours(env: Any, a: Any, b: Any) -> float | None:
    """WORKHOURS(end, start): the working hours between two instants (dates from their
    local midnight), negative when end is earlier."""
    end, start = _instant(env, a), _instant(env, b)
    if end is None or start is None:
        return None
    e = ops.need_env(env)
    return work_calendar(e).work_seconds(start, end, e.tz) / 3600.0


def _addworkhours(env: Any, a: Any, hours: Any) -> datetime | None:
    """ADDWORKHOURS(start, n): the instant n working hours after start."""
    start = _instant(env, a)
    if start is None or hours is None:
        return None
    e = ops.need_env(env)
    return work_calendar(e).add_seconds(start, float(hours) * 3600.0, e.tz)


def _user(env: Any) -> str | None:
    user = ops.need_env(env).user
    return None if user is None else str(user.username)


def _same_date_kind(types: list[T]) -> T:
    return types[0] if types and types[0] in (T.DATE, T.DATETIME) else T.DATE


register(Fn("TODAY", "dates", (), T.DATE, "今天（部署时区）",
         "Today (in the deployment's time zone)",
            (Example("TODAY()", "2026-01-01"),), impl=_today, needs_env=True, nullable=False))
register(Fn("NOW", "dates", (), T.DATETIME, "当前时刻", "The current instant",
            (Example("NOW()", "2026-01-01T00:00:00Z"),), impl=_now, needs_env=True,
            nullable=False))
register(Fn("DATE", "dates", ("number", "number", "number"), T.DATE,
            "由年、月、日组成日期（月份可溢出，如 13 月为次年 1 月）",
            "A date from year, month and day (months roll over: month 13 is next January)",
            (Example("DATE(2026, 3, 5)", "2026-03-05"), Example("DATE(2026, 13, 1)", "2027-01-01")),
            impl=_date))
register(Fn("YEAR", "dates", ("date",), T.INTEGER, "日期的年份", "The year of a date",
            (Example("YEAR(DATE(2026, 3, 5))", 2026),), impl=_part("year"), needs_env=True))
register(Fn("MONTH", "dates", ("date",), T.INTEGER, "日期的月份（1-12）",
         "The month of a date (1-12)",
            (Example("MONTH(DATE(2026, 3, 5))", 3),), impl=_part("month"), needs_env=True))
register(Fn("DAY", "dates", ("date",), T.INTEGER, "日期是当月第几天", "The day of the month",
            (Example("DAY(DATE(2026, 3, 5))", 5), Example("DAY(d)", None, {"d": None})),
            impl=_part("day"), needs_env=True))
register(Fn("WEEKDAY", "dates", ("date", "number?"), T.INTEGER,
            "星期几，与 Excel 相同：类型 1 周日=1…周六=7（默认），"
            "类型 2 周一=1…周日=7，类型 3 周一=0…周日=6",
            "The day of the week as in Excel: type 1 Sunday=1…Saturday=7 (default), "
            "type 2 Monday=1…Sunday=7, type 3 Monday=0…Sunday=6",
            (Example("WEEKDAY(DATE(2026, 1, 4))", 1), Example("WEEKDAY(DATE(2026, 1, 4), 2)", 7),
             Example("WEEKDAY(DATE(2026, 1, 5), 3)", 0)),
            impl=_weekday, needs_env=True))
register(Fn("DAYS", "dates", ("any", "date?"), _days_result,
            "DAYS(n) 为 n 天的时长（如 NOW() - DAYS(7)）；DAYS(结束, 开始) 为两个日期相差的天数",
            "DAYS(n) is a duration of n days (as in NOW() - DAYS(7)); DAYS(end, start) counts "
            "the days between two dates",
            (Example("DAYS(DATE(2026, 3, 1), DATE(2026, 2, 1))", 28),
             Example("DATE(2026, 1, 1) + DAYS(3)", "2026-01-04")),
            impl=_days, needs_env=True))
register(Fn("HOURS", "dates", ("any", "date?"), _span_result,
            "HOURS(n) 为 n 小时的时长；HOURS(结束, 开始) 为两个时刻相差的小时数（含小数；"
            "日期从部署时区的零点算起）",
            "HOURS(n) is a duration of n hours; HOURS(end, start) is the hours between two "
            "instants, with a fraction (a date counts from its midnight in the deployment's "
            "zone)",
            (Example("HOURS(24) == DAYS(1)", True),
             Example("HOURS(due_at, NOW())", 6.5, {"due_at": "2026-01-01T06:30:00Z"}),
             Example("HOURS(due_at, DATE(2026, 1, 1))", 14.5, {"due_at": "2026-01-01T06:30:00Z"}),
             Example("HOURS(due_at, NOW())", None, {"due_at": None})),
            impl=_span(3600.0, "hours"), needs_env=True))
register(Fn("MINUTES", "dates", ("any", "date?"), _span_result,
            "MINUTES(n) 为 n 分钟的时长；MINUTES(结束, 开始) 为两个时刻相差的分钟数",
            "MINUTES(n) is a duration of n minutes; MINUTES(end, start) is the minutes between "
            "two instants",
            (Example("MINUTES(90) == HOURS(1.5)", True),
             Example("MINUTES(NOW(), due_at)", -30.0, {"due_at": "2026-01-01T00:30:00Z"})),
            impl=_span(60.0, "minutes"), needs_env=True))
register(Fn("DATEDIF", "dates", ("date", "date", "text"), T.INTEGER,
            "两个日期之差，单位 \"Y\" 年、\"M\" 月、\"D\" 天、\"YM\"、\"MD\"、\"YD\"（同 Excel）",
            "The difference of two dates in \"Y\" years, \"M\" months, \"D\" days, or "
            "\"YM\", \"MD\", \"YD\" (as in Excel)",
            (Example('DATEDIF(DATE(2020, 5, 20), DATE(2026, 3, 1), "Y")', 5),
             Example('DATEDIF(DATE(2026, 1, 31), DATE(2026, 3, 1), "M")', 1),
             Example('DATEDIF(DATE(2026, 1, 31), DATE(2026, 3, 1), "MD")', 1)),
            impl=_datedif, needs_env=True))
register(Fn("EDATE", "dates", ("date", "number"), T.DATE,
            "若干个月之前或之后的同一天（月末对齐）",
                "The same day some months later or earlier (clamped to month end)",
            (Example("EDATE(DATE(2026, 1, 31), 1)", "2026-02-28"),), impl=_edate, needs_env=True))
register(Fn("EOMONTH", "dates", ("date", "number"), T.DATE,
            "若干个月之后那个月的最后一天", "The last day of the month some months later",
            (Example("EOMONTH(DATE(2026, 1, 15), 1)", "2026-02-28"),
             Example("EOMONTH(DATE(2026, 1, 15), 0)", "2026-01-31")),
            impl=_eomonth, needs_env=True))
register(Fn("ADDDAYS", "dates", ("date", "number"), _same_date_kind,
            "日期加上若干天（可为负）", "A date plus some days (negative to go back)",
            (Example("ADDDAYS(DATE(2026, 2, 27), 2)", "2026-03-01"),), impl=_adddays))
register(Fn("WORKDAYS", "dates", ("date", "date"), T.INTEGER,
            "两个日期之间（含首尾）的工作日数，不计周末和节假日日历中的日期",
            "Working days between two dates, both included, without weekends and the holiday "
            "calendar's days",
            (Example("WORKDAYS(DATE(2026, 1, 5), DATE(2026, 1, 11))", 5),
             Example("WORKDAYS(DATE(2026, 1, 9), DATE(2026, 1, 5))", -5)),
            impl=_workdays, needs_env=True))
register(Fn("WORKHOURS", "dates", ("date", "date"), T.NUMBER,
            "WORKHOURS(结束, 开始)：两个时刻之间的工作小时数（按应用的工作日历：工作日、"
            "上班时段、节假日与调休；日期从部署时区的零点算起）",
            "WORKHOURS(end, start): the working hours between two instants (by the app's "
            "working calendar: working days, office hours, holidays and weekend days worked; "
            "a date counts from its midnight in the deployment's zone)",
            (Example("WORKHOURS(DATE(2026, 1, 12), DATE(2026, 1, 9))", 24.0),
             Example("WORKHOURS(due_at, NOW())", None, {"due_at": None})),
            impl=_workhours, needs_env=True))
register(Fn("ADDWORKHOURS", "dates", ("date", "number"), T.DATETIME,
            "开始时刻之后若干工作小时的时刻（按应用的工作日历；负数为之前）",
            "The instant some working hours after a start (by the app's working calendar; "
            "negative to go back)",
            (Example("ADDWORKHOURS(DATE(2026, 1, 9), 30)", "2026-01-11T22:00:00Z"),),
            impl=_addworkhours, needs_env=True))
register(Fn("USER", "people", (), T.TEXT,
            "当前用户的用户名；部门和角色见 user.department、user.roles",
            "The current user's username; see user.department and user.roles",
            (Example("USER()", "alice"), Example('CONTAINS(user.roles, "finance")', True)),
            impl=_user, needs_env=True))
