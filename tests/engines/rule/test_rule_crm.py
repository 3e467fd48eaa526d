"""The four credit-CRM warning rules of issue 5, as pure behaviour: which records
match at a given `now`, the effects, and once per episode across ticks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from rule_fixtures import ClaimTable, by_type, crm_app

from engines.effects import CreateTask, Notify, Recipient, StartFlow, UpdateRecords
from engines.expr import FixedEnv
from engines.rule import RecordEvent, fire_scheduled
from engines.rule.spec import DateTrigger
from engines.rule.timing import field_window, occurrences

APP = crm_app()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def receivable(rid: str, due: date, status: str = "open") -> dict[str, Any]:
    return {"id": rid, "code": f"AR-{rid}", "customer": "c1", "amount": Decimal("5000.00"),
            "due_date": due, "status": status, "owner": "li"}


def test_overdue_receivable_notifies_and_opens_a_task_once() -> None:
    rule = APP.rules["receivable_overdue"]
    records = [receivable("1", date(2026, 1, 15)), receivable("2", date(2026, 2, 20)),
               receivable("3", date(2026, 1, 1), status="paid")]
    claims = ClaimTable()
    # 2026-03-10 09:00 in Shanghai
    env = FixedEnv(at=utc(2026, 3, 10, 1))
    (first,) = claims.apply(fire_scheduled(rule, records, env))
    assert first.record_id == "1"
    assert first.claim is not None and first.claim.key == "receivable_overdue:1:2026-01-15"
    effects = by_type(first.effects)
    (notify,) = effects["Notify"]
    assert isinstance(notify, Notify)
    assert notify.to == (Recipient("user", "li"), Recipient("role", "finance"))
    assert notify.channels == ("inbox", "email")
    assert notify.message["zh"] == "应收款 AR-1（5000.00 元）已逾期 30 天以上，到期日 2026-01-15"
    assert notify.subject == {"zh": "应收款 AR-1 逾期", "en": "Receivable AR-1 overdue"}
    (task,) = effects["CreateTask"]
    assert isinstance(task, CreateTask)
    assert task.title["zh"] == "催收 AR-1"
    assert task.assignees == (Recipient("user", "li"),)
    assert task.due == utc(2026, 3, 17, 15, 59, 59)  # end of the 17th in Shanghai

    # the same tick again, and the following days: nothing new for AR-1
    assert claims.apply(fire_scheduled(rule, records, env)) == []
    for day in range(11, 23):
        assert claims.apply(fire_scheduled(rule, records, FixedEnv(at=utc(2026, 3, day, 1)))) \
            == []
    # AR-2 (due Feb 20) is more than 30 days overdue on Mar 23
    (second,) = claims.apply(fire_scheduled(rule, records, FixedEnv(at=utc(2026, 3, 23, 1))))
    assert second.record_id == "2"
    # a new due date is a new episode
    records[0] = receivable("1", date(2026, 2, 1))
    (again,) = claims.apply(fire_scheduled(rule, records, FixedEnv(at=utc(2026, 3, 23, 1))))
    assert again.claim is not None and again.claim.episode == "2026-02-01"


def test_overdue_schedule_runs_at_nine_shanghai_time() -> None:
    cron = APP.rules["receivable_overdue"].spec.trigger
    assert cron.kind == "schedule"
    slots = occurrences(cron.cron, FixedEnv().tz, utc(2026, 3, 9, 2), utc(2026, 3, 11, 2))
    assert slots == [utc(2026, 3, 10, 1), utc(2026, 3, 11, 1)]


def complaint(cid: str, customer: str, at: datetime) -> dict[str, Any]:
    return {"id": cid, "customer": customer, "subject": "差评", "created_at": at}


def test_three_complaints_in_seven_days_escalate_once() -> None:
    rules = APP.for_form("complaint")
    claims = ClaimTable()
    stored: list[dict[str, Any]] = [complaint("0", "c7", utc(2026, 2, 20))]  # too old
    fired = []
    for i, day in enumerate([3, 5, 6, 7], start=1):
        now = utc(2026, 3, day, 3)
        row = complaint(str(i), "c7", now)
        stored.append(row)
        stored.append(complaint(f"x{i}", "c8", now))  # another customer's complaints
        env = FixedEnv(at=now, records={"complaint": list(stored)})
        fired += claims.apply(rules.fire(RecordEvent("created", "complaint", row), env))
    # the 3rd complaint (day 6) fires; the 4th (day 7) is the same episode
    (firing,) = fired
    assert firing.record_id == "3"
    assert firing.claim is not None
    assert firing.claim.subject == "*"
    assert firing.claim.episode == "c7|2026-03-02T00:00Z"
    effects = by_type(firing.effects)
    assert effects["UpdateRecords"] == [UpdateRecords("customer", 'id == "c7"',
                                                      {"risk_level": "high"})]
    (task,) = effects["CreateTask"]
    assert isinstance(task, CreateTask)
    assert task.assignees == (Recipient("role", "risk_manager"),)
    assert task.due == utc(2026, 3, 7, 3)
    assert effects["StartFlow"] == [StartFlow("complaint_escalation", record_id="3",
                                              form="complaint")]


def lead(lid: str, assigned: datetime, contacted: datetime | None = None) -> dict[str, Any]:
    return {"id": lid, "name": f"线索{lid}", "assignee": "zhang", "assigned_at": assigned,
            "contacted_at": contacted}


def test_lead_not_contacted_three_days_after_assignment() -> None:
    rule = APP.rules["lead_not_contacted"]
    trigger = rule.spec.trigger
    assert isinstance(trigger, DateTrigger)
    leads = [lead("1", utc(2026, 3, 5, 2)), lead("2", utc(2026, 3, 5, 2), utc(2026, 3, 6)),
             lead("3", utc(2026, 3, 9))]
    claims = ClaimTable()

    def tick(since: datetime | None, now: datetime) -> list[Any]:
        window = field_window(trigger, is_datetime=True, tz=FixedEnv().tz, since=since,
                              now=now)
        candidates = [r for r in leads if window.contains(r["assigned_at"])]
        return claims.apply(fire_scheduled(rule, candidates, FixedEnv(at=now), since=since))

    (first,) = tick(None, utc(2026, 3, 10, 1))
    assert first.record_id == "1"
    notify, task = first.effects
    assert isinstance(notify, Notify) and isinstance(task, CreateTask)
    assert notify.to == (Recipient("role", "sales_director"), Recipient("user", "zhang"))
    assert notify.message["en"] == "Lead 线索1 not contacted 3 days after assignment"
    assert task.assignees == (Recipient("role", "sales_director"),)
    assert tick(None, utc(2026, 3, 10, 1)) == []  # the same tick twice
    assert tick(utc(2026, 3, 10, 1), utc(2026, 3, 11, 1)) == []  # lead 3 not due yet
    (third,) = tick(utc(2026, 3, 11, 1), utc(2026, 3, 12, 1))
    assert third.record_id == "3"
    # reassigned: a new assignment is a new episode
    leads[0] = lead("1", utc(2026, 3, 9, 1, 30))
    (again,) = tick(utc(2026, 3, 12, 1), utc(2026, 3, 12, 2))
    assert again.record_id == "1"
    assert again.claim is not None and again.claim.episode == "2026-03-09T01:30:00Z"


def test_no_order_for_three_months_opens_a_win_back_task_once() -> None:
    rule = APP.rules["customer_win_back"]
    customers = [{"id": c, "name": f"客户{c}", "owner": "wang"} for c in ("c1", "c2", "c3")]
    orders = [{"id": "o1", "customer": "c1", "order_date": date(2025, 10, 1)},
              {"id": "o2", "customer": "c1", "order_date": date(2025, 11, 1)},
              {"id": "o3", "customer": "c2", "order_date": date(2026, 2, 20)}]
    claims = ClaimTable()
    monday = utc(2026, 3, 9)  # 08:00 in Shanghai
    (firing,) = claims.apply(fire_scheduled(
        rule, customers, FixedEnv(at=monday, records={"order": orders})))
    assert firing.record_id == "c1"
    assert firing.claim is not None and firing.claim.episode == "2025-11-01"
    (task,) = firing.effects
    assert isinstance(task, CreateTask)
    assert task.title == {"zh": "挽回客户 客户c1", "en": "Win back 客户c1"}
    assert task.assignees == (Recipient("user", "wang"),)
    for week in range(1, 4):
        env = FixedEnv(at=monday + timedelta(weeks=week), records={"order": orders})
        assert claims.apply(fire_scheduled(rule, customers, env)) == []
    # c1 orders again, then goes quiet for another three months: a new episode
    # (and c2's last order, Feb 20, is now more than 90 days ago as well)
    orders.append({"id": "o4", "customer": "c1", "order_date": date(2026, 3, 10)})
    later = FixedEnv(at=utc(2026, 6, 15), records={"order": orders})
    fired = claims.apply(fire_scheduled(rule, customers, later))
    assert [(f.record_id, f.claim.episode if f.claim else None) for f in fired] == [
        ("c1", "2026-03-10"), ("c2", "2026-02-20")]
