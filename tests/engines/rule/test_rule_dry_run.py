from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from rule_fixtures import crm_app, load_forms, rule

from engines.effects import CreateTask, Notify
from engines.expr import FixedEnv
from engines.rule import compile_rules, dry_run

APP = crm_app()
NOW = FixedEnv(at=datetime(2026, 3, 10, 1, tzinfo=UTC))


def _receivables() -> list[dict[str, object]]:
    return [
        {"id": "1", "code": "AR-1", "due_date": date(2026, 1, 15), "status": "open",
         "amount": Decimal("10.00"), "owner": "li"},
        {"id": "2", "code": "AR-2", "due_date": date(2026, 3, 1), "status": "open",
         "amount": Decimal("10.00"), "owner": "li"},
        {"id": "3", "code": "AR-3", "due_date": date(2025, 12, 1), "status": "open",
         "amount": Decimal("10.00"), "owner": "amy"},
    ]


def test_dry_run_lists_what_would_happen_and_what_was_done() -> None:
    rule = APP.rules["receivable_overdue"]
    report = dry_run(rule, _receivables(), NOW,
                     claimed={"receivable_overdue:3:2025-12-01"})
    assert [(i.record_id, i.outcome) for i in report.items] == [
        ("1", "fires"), ("2", "condition_false"), ("3", "already_fired")]
    assert report.counts() == {"fires": 1, "condition_false": 1, "already_fired": 1}
    (item,) = report.firing
    assert [type(e) for e in item.effects] == [Notify, CreateTask]
    assert item.claim is not None and item.claim.episode == "2026-01-15"


def test_dry_run_of_a_date_rule_reports_due_times() -> None:
    rule = APP.rules["lead_not_contacted"]
    leads = [{"id": "1", "name": "a", "assigned_at": datetime(2026, 3, 1, tzinfo=UTC),
              "contacted_at": None},
             {"id": "2", "name": "b", "assigned_at": datetime(2026, 3, 9, tzinfo=UTC),
              "contacted_at": None},
             {"id": "3", "name": "c", "assigned_at": None, "contacted_at": None}]
    report = dry_run(rule, leads, NOW)
    assert [(i.record_id, i.outcome) for i in report.items] == [
        ("1", "fires"), ("2", "not_due"), ("3", "not_due")]
    assert report.items[0].due_at == datetime(2026, 3, 4, tzinfo=UTC)
    assert report.items[1].due_at == datetime(2026, 3, 12, tzinfo=UTC)


def test_dry_run_of_event_rules_and_errors() -> None:
    specs = [rule("paid", trigger={"kind": "field_changed", "field": "status", "to": "paid"}),
             rule("agg", when="COUNT('complaint', customer == record.customer) > 0")]
    app = compile_rules(specs, load_forms())
    records = _receivables()
    records[1]["status"] = "paid"
    assert [i.outcome for i in dry_run(app.rules["paid"], records, NOW).items] == [
        "condition_false", "fires", "condition_false"]
    failed = dry_run(app.rules["agg"], records[:1], NOW).items[0]
    assert failed.outcome == "error"
    assert failed.error is not None and failed.error["code"] == "no_records"
