"""Value expressions in flows: an SLA due time taken from the record (`sla.due_at`) and
an action node that creates a record (`create_record`, values by expression).

The engine core is tested with a fake value compiler (simpleeval, as the conditions);
the adapter over engines.expr (`ExprCompiler`) is tested for typing and conversion.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flow_testkit import T0, Driver, FakeDirectory, compile_condition
from pydantic import ValidationError
from simpleeval import SimpleEval

from engines.effects import CreateRecord
from engines.expr import Field, FixedEnv, Scope, T
from engines.flow import FlowDefinitionError, FlowSpec, compile_flow, validate_flow
from engines.flow.conditions import ExprCompiler, expr_conditions
from engines.flow.ports import Value, ValueCompiler


class FakeValues:
    """Python syntax through simpleeval; `instant` passes datetimes through."""

    def _eval(self, source: str) -> Value:
        if "!" in source:
            raise ValueError(f"bad expression {source!r}")
        evaluator = SimpleEval()
        parsed = evaluator.parse(source)

        def value(record: Mapping[str, Any]) -> Any:
            evaluator.names = lambda node: record.get(node.id)  # blank when missing
            return evaluator.eval(source, previously_parsed=parsed)
        return value

    def instant(self, source: str) -> Value:
        return self._eval(source)

    def field_value(self, source: str, form: str, field: str) -> Value:
        return self._eval(source)


def _doc(sla: dict[str, Any], do: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "schema_version": 1, "key": "delivery", "name": "Delivery", "form": "contract",
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "promise", "type": "action", "do": do or []},
            {"id": "deliver", "type": "handle", "assignees": [{"kind": "field",
                                                               "field": "owner"}],
             "sla": sla},
            {"id": "end", "type": "end"},
        ],
        "edges": [{"from": "start", "to": "promise"}, {"from": "promise", "to": "deliver"},
                  {"from": "deliver", "to": "end"}],
    }


def _build(doc: dict[str, Any], values: ValueCompiler | None = None) -> Any:
    return compile_flow(FlowSpec.model_validate(doc), compile_condition,
                        values if values is not None else FakeValues())


DUE = datetime(2026, 3, 20, 15, 59, 59, tzinfo=UTC)
SLA = {"due_at": "delivery_due", "remind_before": "P3D", "on_timeout": "escalate",
       "escalate_to": [{"kind": "role", "role": "director"}]}
PEOPLE = FakeDirectory(roles={"director": ["dora"]})


def test_the_due_time_comes_from_the_record() -> None:
    d = Driver(_build(_doc(SLA)), PEOPLE, record={"owner": "olga", "delivery_due": DUE})
    d.start()
    timeout, remind = d.timers("timeout")[0], d.timers("remind")[0]
    assert timeout.at == DUE and remind.at == DUE - timedelta(days=3)
    assert d.s.tasks[d.task_of("olga")].due == DUE
    d.fire(timeout)
    assert d.holders() == {"deliver": ["dora", "olga"]}  # escalated at the promised date


def test_a_blank_due_time_falls_back_to_the_duration() -> None:
    d = Driver(_build(_doc({**SLA, "due": "P30D"})), PEOPLE, record={"owner": "olga"})
    d.start()
    assert d.timers("timeout")[0].at == T0 + timedelta(days=30)
    d = Driver(_build(_doc({**SLA, "due": "P30D"})), PEOPLE,
               record={"owner": "olga", "delivery_due": DUE})
    d.start()
    assert d.timers("timeout")[0].at == DUE  # due_at wins when it has a value


def test_a_blank_due_time_without_fallback_arms_nothing() -> None:
    d = Driver(_build(_doc(SLA)), PEOPLE, record={"owner": "olga", "delivery_due": None})
    d.start()
    assert d.timers() == []
    assert d.s.tasks[d.task_of("olga")].due is None
    assert any(t.action == "no_due" and t.node == "deliver" for t in d.s.trail)


def test_a_past_due_time_is_scheduled_as_is_and_no_reminder_is_armed() -> None:
    past = T0 - timedelta(days=1)
    d = Driver(_build(_doc(SLA)), PEOPLE, record={"owner": "olga", "delivery_due": past})
    d.start()
    assert [t.at for t in d.timers()] == [past]


def test_an_sla_needs_a_due_time_of_some_kind() -> None:
    with pytest.raises(ValidationError, match="due"):
        FlowSpec.model_validate(_doc({"on_timeout": "remind"}))


def test_an_action_node_creates_a_record_with_values_by_expression() -> None:
    do = [{"kind": "create_record", "form": "commitment",
           "values": {"title": "'deliver ' + code", "contract": "id", "due_at": "delivery_due",
                      "made_by": "owner"}},
          {"kind": "set_fields", "values": {"status": "delivering"}}]
    record = {"id": "7", "code": "HT-7", "owner": "olga", "delivery_due": DUE}
    d = Driver(_build(_doc(SLA, do)), PEOPLE, record=record)
    d.start()
    created = [e for e in d.effects if isinstance(e, CreateRecord)]
    assert created == [CreateRecord(form="commitment", values={
        "title": "deliver HT-7", "contract": "7", "due_at": DUE, "made_by": "olga"})]


def test_value_expressions_are_checked_when_compiling_and_located() -> None:
    do = [{"kind": "create_record", "form": "commitment", "values": {"title": "bad !"}}]
    issues = validate_flow(FlowSpec.model_validate(_doc({**SLA, "due_at": "x !"}, do)),
                           compile_condition, FakeValues())
    assert {(i.code, i.node, i.path) for i in issues} == {
        ("bad_value", "deliver", "nodes[2].sla.due_at"),
        ("bad_value", "promise", "nodes[1].do[0].values.title")}


def test_value_expressions_need_a_value_compiler() -> None:
    with pytest.raises(FlowDefinitionError) as info:
        compile_flow(FlowSpec.model_validate(_doc(SLA)), compile_condition)
    assert [i.code for i in info.value.issues] == ["no_value_compiler"]


# ---------------------------------------------------------------- over engines.expr

CONTRACT = {"code": Field(T.TEXT), "owner": Field(T.TEXT), "amount": Field(T.MONEY),
            "delivery_due": Field(T.DATE), "signed_at": Field(T.DATETIME)}
COMMITMENT = {"title": Field(T.TEXT), "contract": Field(T.TEXT), "due_at": Field(T.DATETIME),
              "amount": Field(T.MONEY), "weight": Field(T.NUMBER)}
SCOPE = Scope(CONTRACT, forms={"commitment": COMMITMENT, "contract": CONTRACT})
ENV = FixedEnv(at=T0)  # Asia/Shanghai


def test_the_expr_compiler_is_both_a_condition_and_a_value_compiler() -> None:
    compiler = expr_conditions(SCOPE, ENV)
    assert isinstance(compiler, ExprCompiler) and isinstance(compiler, ValueCompiler)
    assert compiler('amount > 100')({"amount": Decimal("150")}) is True


def test_a_due_date_means_the_end_of_that_day_locally() -> None:
    due = ExprCompiler(SCOPE, ENV).instant("delivery_due")
    assert due({"delivery_due": date(2026, 3, 20)}) == datetime(2026, 3, 20, 15, 59, 59,
                                                                tzinfo=UTC)
    assert due({"delivery_due": None}) is None
    at = ExprCompiler(SCOPE, ENV).instant("signed_at + DAYS(30)")
    assert at({"signed_at": T0}) == T0 + timedelta(days=30)


def test_values_are_typed_by_their_target_field_and_stored_as_json() -> None:
    compiler = ExprCompiler(SCOPE, ENV)
    assert compiler.field_value("amount * 2", "commitment", "amount")(
        {"amount": Decimal("10.25")}) == "20.50"
    assert compiler.field_value("delivery_due", "commitment", "due_at")(
        {"delivery_due": date(2026, 3, 20)}) == "2026-03-20"
    assert compiler.field_value('CONCAT("deliver ", code)', "commitment", "title")(
        {"code": "HT-1"}) == "deliver HT-1"


@pytest.mark.parametrize(("source", "form", "field", "message"), [
    ("code", "commitment", "weight", "must give a number"),
    ("amount", "nowhere", "title", "unknown form"),
    ("amount", "commitment", "nothing", "no field"),
    ("delivery_due +", "commitment", "title", "syntax"),
])
def test_bad_values_are_refused_with_a_reason(source: str, form: str, field: str,
                                              message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExprCompiler(SCOPE, ENV).field_value(source, form, field)


def test_a_due_time_must_be_a_date_or_an_instant() -> None:
    with pytest.raises(ValueError, match="must give a datetime"):
        ExprCompiler(SCOPE, ENV).instant("amount")
