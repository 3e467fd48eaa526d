"""The engine's Directory and WorkCalendar over the store: roles, department heads
(a head's superior is the parent department's head), admins, expression assignees,
and working days in the deployment's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flow_runtime_kit import setup

from engines.expr import Field, Scope, T
from runtime.context import Context
from runtime.flows.directory import StoreDirectory, WeekdayCalendar


def test_directory_reads_people_roles_and_departments(ctx: Context) -> None:
    setup(ctx)
    scope = Scope({"handler": Field(T.TEXT), "amount": Field(T.NUMBER)})
    with ctx.engine.connect() as conn:
        people = StoreDirectory(conn, scope=scope)
        assert people.users_with_role("signer") == ["ann", "ben"]
        assert people.users_with_role("nobody") == []
        assert people.department_head("alice", 1) == "sam"
        assert people.department_head("alice", 2) == "grace"
        assert people.department_head("sam", 1) == "grace"  # sam heads sales himself
        assert people.department_head("grace", 1) is None
        assert people.department_head("mallory", 1) is None  # no department
        assert people.admins() == ["admin"]
        expr = "IF(amount > 10, handler, 'sue')"
        assert people.users_from_expression(expr, {"handler": "olga", "amount": 20}) == ["olga"]
        assert people.users_from_expression(expr, {"handler": "olga", "amount": 1}) == ["sue"]
        assert people.users_from_expression("amount +", {"amount": 1}) == []


def test_working_days_skip_the_weekend_in_the_deployment_zone() -> None:
    calendar = WeekdayCalendar(ZoneInfo("Asia/Shanghai"))
    friday_10 = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai
    assert calendar.add_working(friday_10, timedelta(days=3)) == friday_10 + timedelta(days=5)
    assert calendar.add_working(friday_10, timedelta(hours=2)) == friday_10 + timedelta(hours=2)
    # Friday 23:00 local + 2 working hours = Monday 01:00 local
    late = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    assert calendar.add_working(late, timedelta(hours=2)) == late + timedelta(days=2, hours=2)


def test_an_apps_calendar_counts_a_day_as_its_working_hours() -> None:
    """With app.json's calendar (09:00-18:00, a holiday on Monday 9 March): a duration's
    day is one working day's nine hours, the rest working time."""
    from datetime import date, time

    from engines.expr.workcal import WorkCalendar
    from runtime.flows.directory import AppCalendar

    tz = ZoneInfo("Asia/Shanghai")
    calendar = AppCalendar(WorkCalendar(hours=((time(9), time(18)),),
                                        holidays=frozenset({date(2026, 3, 9)})), tz)
    friday_five = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai
    # 1 h on Friday, 8 h on Tuesday (Monday is off): Tuesday 17:00; then 2 h more
    due = calendar.add_working(friday_five, timedelta(days=1, hours=2))
    assert due == datetime(2026, 3, 11, 2, 0, tzinfo=UTC)  # Wednesday 10:00
    assert calendar.add_working(friday_five, timedelta(0)) == friday_five
