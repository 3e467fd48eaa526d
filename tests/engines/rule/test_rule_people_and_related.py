"""Rule features the credit CRM needed (issue 8): a `department_head` recipient and task
assignee, the `assign` action (round robin / least open within a pool), and
`update_related` values that read each related record (`target.x`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from engines.effects import CreateTask, Notify, Recipient, UpdateRecords
from engines.expr import FixedEnv
from engines.form.spec import FormSpec
from engines.rule import compile_rules, find_cycles
from engines.rule.actions import related_values
from engines.rule.compile import check_rule
from engines.rule.effects import AssignInTurn, UpdateEach
from engines.rule.events import RecordEvent
from engines.rule.forms import form_infos
from engines.rule.related import rewrite_targets
from engines.rule.spec import RuleSpec

NOW = FixedEnv(at=datetime(2026, 3, 10, 1, tzinfo=UTC))


def _form(key: str, *fields: dict[str, Any]) -> FormSpec:
    return FormSpec.model_validate({"schema_version": 1, "key": key, "name": key,
                                    "fields": list(fields)})


FORMS = {f.key: f for f in (
    _form("customer", {"key": "name", "type": "text", "label": "n"},
          {"key": "manager", "type": "user", "label": "m"},
          {"key": "team", "type": "text", "label": "t"}),
    _form("ticket", {"key": "subject", "type": "text", "label": "s"},
          {"key": "customer", "type": "relation", "form": "customer", "label": "c"},
          {"key": "account_manager", "type": "lookup", "through": "customer",
           "field": "manager", "label": "a"},
          {"key": "handler", "type": "user", "label": "h"},
          {"key": "priority", "type": "text", "label": "p"}),
    _form("lead", {"key": "company", "type": "text", "label": "c"},
          {"key": "team", "type": "text", "label": "t"},
          {"key": "assigned_to", "type": "user", "label": "a"},
          {"key": "status", "type": "select", "label": "s", "options": [
              {"value": "new", "label": "n"}, {"value": "assigned", "label": "a"}]},
          {"key": "assigned_at", "type": "datetime", "label": "at"},
          {"key": "score", "type": "integer", "label": "sc"}),
    _form("invoice", {"key": "code", "type": "text", "label": "c"},
          {"key": "paid_date", "type": "date", "label": "p"},
          {"key": "target_note", "type": "text", "label": "tn"}),
    _form("promise", {"key": "invoice", "type": "relation", "form": "invoice", "label": "i"},
          {"key": "due_at", "type": "datetime", "label": "d"},
          {"key": "status", "type": "select", "label": "s", "options": [
              {"value": "open", "label": "o"}, {"value": "kept", "label": "k"},
              {"value": "kept_late", "label": "l"}]},
          {"key": "fulfilled_at", "type": "datetime", "label": "f"},
          {"key": "note", "type": "text", "label": "n"}),
)}
INFOS = form_infos(FORMS)


def _rule(form: str, actions: list[dict[str, Any]], **extra: Any) -> RuleSpec:
    return RuleSpec.model_validate({"key": "r", "name": "r", "form": form,
                                    "trigger": {"kind": "created"}, "actions": actions,
                                    **extra})


def _problems(spec: RuleSpec) -> dict[str, str]:
    compiled, problems = check_rule(spec, INFOS)
    assert (compiled is None) == bool(problems)
    return {p.path: p.code for p in problems}


def _effects(spec: RuleSpec, record: dict[str, Any]) -> list[Any]:
    app = compile_rules([spec], FORMS)
    (firing,) = app.for_form(spec.form).fire(RecordEvent("created", spec.form, record), NOW)
    assert firing.error is None, firing.error
    return list(firing.effects)


# ------------------------------------------------------------------- department_head
def _head(**recipient: Any) -> dict[str, Any]:
    return {"kind": "notify", "message": "{subject}",
            "to": [{"kind": "department_head", **recipient}]}


def test_department_head_names_the_head_of_a_user_fields_department() -> None:
    spec = _rule("ticket", [_head(of="account_manager"),
                            {"kind": "create_task", "title": "t",
                             "to": [{"kind": "department_head", "of": "handler", "levels": 2}]}])
    notify, task = _effects(spec, {"id": "7", "subject": "x", "account_manager": "li",
                                   "handler": "amy"})
    assert isinstance(notify, Notify) and isinstance(task, CreateTask)
    assert notify.to == (Recipient("department_head", "li", 1),)
    assert task.assignees == (Recipient("department_head", "amy", 2),)


def test_department_head_defaults_to_the_owner_and_knows_the_initiator() -> None:
    spec = _rule("ticket", [_head(), _head(of="initiator")])
    assert spec.actions[0].to[0].of == "owner"  # type: ignore[union-attr]
    first, second = _effects(spec, {"id": "7", "subject": "x", "owner": "zhao"})
    assert first.to == (Recipient("department_head", "zhao", 1),)
    assert second.to == (Recipient("department_head", None, 1),)  # runtime: the actor's


def test_department_head_of_a_blank_field_names_nobody() -> None:
    (notify,) = _effects(_rule("ticket", [_head(of="handler")]), {"id": "7", "subject": "x"})
    assert notify.to == ()


def test_department_head_needs_a_user_field() -> None:
    spec = _rule("ticket", [_head(of="subject"), _head(of="nope")])
    assert _problems(spec) == {"actions[0].to[0].of": "not_a_user_field",
                               "actions[1].to[0].of": "unknown_field"}
    with pytest.raises(ValidationError):
        _rule("ticket", [_head(of="handler", levels=0)])


# --------------------------------------------------------------------------- assign
def _assign(**action: Any) -> dict[str, Any]:
    return {"kind": "assign", "field": "assigned_to", **action}


def test_assign_describes_the_pool_and_the_values_written_with_it() -> None:
    spec = _rule("lead", [_assign(
        pool={"role": "sales_rep", "department_expr": "CONCAT('sales_', team)"},
        values={"status": "'assigned'", "assigned_at": "NOW()"})],
        when="ISBLANK(assigned_to)")
    (effect,) = _effects(spec, {"id": "3", "team": "east"})
    assert effect == AssignInTurn(
        rule="r", form="lead", record_id="3", field="assigned_to", role="sales_rep",
        department="sales_east", values={"status": "assigned",
                                         "assigned_at": "2026-03-10T01:00:00Z"})
    assert effect.pool_key == "role=sales_rep|dept=sales_east"


def test_assign_without_a_department_to_take_turns_in_does_nothing() -> None:
    spec = _rule("lead", [_assign(pool={"department_expr": "team"})])
    assert _effects(spec, {"id": "3", "team": None}) == []


def test_assign_pool_keys_are_stable_and_bounded() -> None:
    a = AssignInTurn("r", "lead", "1", "assigned_to", users=("b", "a"))
    b = AssignInTurn("r", "lead", "2", "assigned_to", users=("a", "b"))
    assert a.pool_key == b.pool_key == "role=|dept=|users=a,b"
    big = AssignInTurn("r", "lead", "1", "assigned_to", users=tuple(f"u{i:03}" for i in range(90)))
    assert len(big.pool_key) == 128


def test_assign_is_checked_when_saved() -> None:
    assert _problems(_rule("lead", [_assign(pool={})])) == {"actions[0].pool": "empty_pool"}
    assert _problems(_rule("lead", [_assign(
        field="company", pool={"department": "d", "department_expr": "team"},
        open_when="status == 'new'", values={"score": "'x'"})])) == {
        "actions[0].field": "not_a_user_field", "actions[0].pool": "department_twice",
        "actions[0].open_when": "open_when_unused", "actions[0].values.score": "wrong_type"}
    assert _problems(_rule("lead", [_assign(
        pool={"role": "x"}, strategy="least_open", open_when="status",
        values={"assigned_to": "'li'"})])) == {
        "actions[0].open_when": "wrong_type",
        "actions[0].values.assigned_to": "assigned_field_in_values"}
    deleted = _rule("lead", [_assign(pool={"role": "x"})], trigger={"kind": "deleted"})
    assert _problems(deleted) == {"actions[0].kind": "deleted_record"}


def test_assign_writes_count_in_the_loop_finder() -> None:
    assign = _rule("lead", [_assign(pool={"role": "x"}, values={"status": "'assigned'"})],
                   trigger={"kind": "field_changed", "field": "status"})
    (cycle,) = find_cycles([assign])
    assert cycle.rules == ("r",) and cycle.via == ("lead.status",)


# ------------------------------------------------------------------------- target.x
SETTLED = {"kind": "update_related", "form": "promise", "relation": "invoice",
           "where": "status == 'open'",
           "values": {"status": "IF(record.paid_date <= target.due_at, 'kept', 'kept_late')",
                      "fulfilled_at": "paid_date",
                      "note": "CONCAT(code, ' / ', TEXT(target.due_at))"}}


def test_target_is_rewritten_in_place_outside_strings() -> None:
    source = "IF(target.a > 1, 'target.b', record.target.c)"
    rewritten, refs = rewrite_targets(source)
    assert rewritten == "IF(target_a > 1, 'target.b', record.target.c)"
    assert len(rewritten) == len(source)
    assert [(r.field, r.line, r.column) for r in refs] == [("a", 1, 4)]


def test_values_reading_the_related_record_are_computed_per_record() -> None:
    spec = _rule("invoice", [SETTLED])
    (effect,) = _effects(spec, {"id": "5", "code": "INV-5", "paid_date": date(2026, 3, 5)})
    assert isinstance(effect, UpdateEach)
    assert effect.where == "(invoice == \"5\") and (status == 'open')"
    assert effect.values == {"fulfilled_at": "2026-03-05"}  # computed once, as before
    assert effect.bound == {"code": "INV-5", "paid_date": date(2026, 3, 5)}
    rule = compile_rules([spec], FORMS).rules["r"]
    on_time = related_values(rule, 0, effect.bound,
                             {"id": "1", "due_at": datetime(2026, 3, 5, 9, tzinfo=UTC)}, NOW)
    late = related_values(rule, 0, effect.bound,
                          {"id": "2", "due_at": datetime(2026, 3, 1, 9, tzinfo=UTC)}, NOW)
    assert on_time["status"] == "kept" and late["status"] == "kept_late"
    assert set(on_time) == {"status", "note"} and on_time["note"].startswith("INV-5 / 2026")


def test_without_target_the_values_are_computed_once_as_before() -> None:
    plain = {**SETTLED, "values": {"status": "'kept'"}}
    (effect,) = _effects(_rule("invoice", [plain]), {"id": "5", "code": "I"})
    assert isinstance(effect, UpdateRecords) and effect.values == {"status": "kept"}


def test_target_fields_are_checked_when_saved() -> None:
    bad = {**SETTLED, "values": {"status": "IF(target.nope, 'kept', 'x')",
                                 "fulfilled_at": "target.status"}}
    problems = _problems(_rule("invoice", [bad]))
    assert problems == {"actions[0].values.status": "unknown_field",
                        "actions[0].values.fulfilled_at": "wrong_type"}
    _, found = check_rule(_rule("invoice", [bad]), INFOS)
    assert "column 4" in found[0].message["en"]
    ambiguous = {**SETTLED, "values": {"note": "target.note"}}
    assert _problems(_rule("invoice", [ambiguous])) == {
        "actions[0].values.note": "ambiguous_target"}


# ------------------------------------------------------------------ read-only fields
def test_read_only_binds_people_but_not_a_trusted_system_write() -> None:
    from engines.form.compile import compile_form

    form = compile_form(FormSpec.model_validate({
        "schema_version": 1, "key": "c", "name": "c", "fields": [
            {"key": "name", "type": "text", "label": "n"},
            {"key": "score", "type": "integer", "label": "s", "read_only": True,
             "default": 0},
            {"key": "level", "type": "text", "label": "l",
             "read_only_when": "score >= 50"}]}))
    old = {"name": "a", "score": 60, "level": "x"}
    person = form.process({**old, "score": 99, "level": "y"}, env=NOW, old=old)
    system = form.process({**old, "score": 99, "level": "y"}, env=NOW, old=old, trusted=True)
    assert person.ok and system.ok
    assert (person.data["score"], person.data["level"]) == (60, "x")
    assert (system.data["score"], system.data["level"]) == (99, "y")
    created = form.process({"name": "b", "score": 7}, env=NOW, trusted=True)
    assert created.data["score"] == 7
    assert form.process({"name": "b", "score": 7}, env=NOW).data["score"] == 0
