from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from pydantic import ValidationError
from rule_fixtures import FIXTURES, load_rules, rule

from engines.rule.durations import parse_offset
from engines.rule.spec import FieldChangedTrigger, RuleSpec, rule_json_schema


def test_formats_example_rule_parses() -> None:
    doc = {
        "schema_version": 1, "key": "overdue_ticket",
        "name": {"zh": "工单超期提醒", "en": "Overdue ticket"}, "form": "ticket",
        "trigger": {"kind": "schedule", "cron": "0 9 * * *"},
        "when": "status != 'done' and due_at < NOW()", "once_per": "due_at",
        "priority": 100, "enabled": True,
        "actions": [
            {"kind": "notify", "channels": ["inbox", "email"],
             "to": [{"kind": "field", "field": "owner"}, {"kind": "role", "role": "supervisor"}],
             "message": {"zh": "工单 {code} 已超期", "en": "Ticket {code} is overdue"}},
            {"kind": "create_record", "form": "task",
             "values": {"title": "CONCAT('跟进 ', record.code)", "assignee": "record.owner",
                        "due": "TODAY() + DAYS(1)", "related": "record.id"}}]}
    spec = RuleSpec.model_validate(doc)
    assert spec.is_timed
    assert spec.actions[1].kind == "create_record"
    assert spec.model_dump(by_alias=True, exclude_unset=True) == doc


def test_every_fixture_round_trips() -> None:
    assert sorted(load_rules()) == ["complaint_burst", "customer_win_back",
                                    "lead_not_contacted", "receivable_overdue"]
    assert len(list((FIXTURES / "rules").glob("*.json"))) == 4


def test_unknown_keys_and_bad_settings_are_all_reported() -> None:
    with pytest.raises(ValidationError) as info:
        RuleSpec.model_validate({
            "key": "r", "name": "r", "form": "f", "colour": "red",
            "trigger": {"kind": "schedule", "cron": "61 * * * *"},
            "actions": [{"kind": "notify", "message": "x", "bogus": 1},
                        {"kind": "explode"}]})
    locations = {tuple(str(p) for p in e["loc"]) for e in info.value.errors()}
    assert ("colour",) in locations
    assert ("trigger", "schedule", "cron") in locations
    assert ("actions", "0", "notify", "bogus") in locations
    assert any(loc[:2] == ("actions", "1") for loc in locations)


def test_field_changed_tells_missing_from_null() -> None:
    t = rule("r", trigger={"kind": "field_changed", "field": "status", "from": None,
                           "to": "paid"}).trigger
    assert isinstance(t, FieldChangedTrigger)
    assert (t.has_from, t.from_, t.has_to, t.to) == (True, None, True, "paid")
    t2 = rule("r", trigger={"kind": "field_changed", "field": "status"}).trigger
    assert isinstance(t2, FieldChangedTrigger)
    assert (t2.has_from, t2.has_to) == (False, False)


@pytest.mark.parametrize("window", ["P1M", "-P7D", "P0D", "week"])
def test_once_window_must_be_a_positive_fixed_duration(window: str) -> None:
    with pytest.raises(ValidationError):
        rule("r", once_window=window)


def test_date_offset_is_checked() -> None:
    with pytest.raises(ValidationError, match="ISO 8601"):
        rule("r", trigger={"kind": "date", "field": "due_date", "offset": "3 days"})


def test_json_schema_uses_the_written_key_names() -> None:
    text = str(rule_json_schema())
    assert "'from'" in text and "from_" not in text
    assert "allow_cycle" in text


@pytest.mark.parametrize(("text", "start", "expected"), [
    ("P30D", date(2026, 1, 1), date(2026, 1, 31)),
    ("-P3D", date(2026, 1, 1), date(2025, 12, 29)),
    ("P1M", date(2026, 1, 31), date(2026, 2, 28)),
    ("P1Y2M", date(2024, 2, 29), date(2025, 4, 29)),
    ("-P3M", date(2026, 5, 31), date(2026, 2, 28)),
    ("P1W", date(2026, 1, 1), date(2026, 1, 8)),
])
def test_calendar_offsets(text: str, start: date, expected: date) -> None:
    assert parse_offset(text).add_to_date(start) == expected


def test_time_offsets() -> None:
    at = datetime(2026, 1, 1, 12)
    assert parse_offset("PT2H30M").add_to_datetime(at) == at + timedelta(hours=2, minutes=30)
    assert parse_offset("-P1DT1H").add_to_datetime(at) == at - timedelta(days=1, hours=1)
    assert not parse_offset("PT2H").is_date_only
    assert parse_offset("P2D").is_date_only


@pytest.mark.parametrize("text", ["P", "PT", "30D", "P1.5D", "P99999999Y", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_offset(text)


def test_importing_the_spec_stays_light() -> None:
    """The bundle loader imports only the spec; it must not pull in the compiler."""
    import subprocess
    import sys

    code = ("import sys, engines.rule.spec; "
            "print(sorted(m for m in ('engines.form.spec', 'engines.expr', "
            "'engines.rule.compile') if m in sys.modules))")
    root = FIXTURES.parents[3]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,  # noqa: S603
                         check=True, cwd=root)
    assert out.stdout.strip() == "[]"
