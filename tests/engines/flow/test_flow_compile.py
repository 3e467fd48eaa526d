"""Flow definitions: the FORMATS.md example parses and compiles; every structural
problem is reported at once, located by node id and path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flow_testkit import compile_condition
from pydantic import ValidationError

from engines.flow import FlowDefinitionError, FlowSpec, compile_flow, validate_flow

FORMATS_EXAMPLE: dict[str, Any] = {
    "schema_version": 1, "key": "ticket_approval",
    "name": {"zh": "报修审批", "en": "Repair approval"}, "form": "ticket",
    "start": {"on": ["created", "manual"], "when": "amount > 0"},
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "lead", "type": "approval", "name": {"zh": "主管审批", "en": "Supervisor"},
         "assignees": [{"kind": "department_head", "of": "initiator"}], "mode": "single",
         "fields": {"editable": ["reason"], "hidden": []},
         "sla": {"due": "P1D", "remind_before": "PT2H", "on_timeout": "escalate",
                 "escalate_to": [{"kind": "role", "role": "supervisor"}]}},
        {"id": "big", "type": "condition"},
        {"id": "finance", "type": "approval",
         "name": {"zh": "财务会签", "en": "Finance countersign"},
         "assignees": [{"kind": "role", "role": "finance"}], "mode": "countersign",
         "pass": {"ratio": 1.0}, "on_reject": "to_initiator"},
        {"id": "tell", "type": "notify", "to": [{"kind": "initiator"}],
         "message": {"zh": "工单 {code} 已审批", "en": "Ticket {code} approved"}},
        {"id": "end", "type": "end"},
    ],
    "edges": [
        {"from": "start", "to": "lead"}, {"from": "lead", "to": "big"},
        {"from": "big", "to": "finance", "when": "amount > 10000"},
        {"from": "big", "to": "tell", "default": True},
        {"from": "finance", "to": "tell"}, {"from": "tell", "to": "end"},
    ],
}


def problems(doc: dict[str, Any]) -> set[tuple[str, str | None]]:
    spec = FlowSpec.model_validate({**FORMATS_EXAMPLE, **doc})
    return {(i.code, i.node) for i in validate_flow(spec, compile_condition)}


def test_the_formats_example_compiles() -> None:
    spec = FlowSpec.model_validate(FORMATS_EXAMPLE)
    flow = compile_flow(spec, compile_condition)
    assert flow.start == "start" and flow.node("big").edges[-1].default
    assert flow.should_start("created", {"amount": 5}) and not flow.should_start(
        "created", {"amount": 0})
    assert not flow.should_start("updated", {"amount": 5})
    assert flow.node("lead").fields.editable == {"reason"}
    # round trip through JSON keeps the key names of FORMATS.md (from, pass)
    dumped = spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    assert dumped["edges"][0] == {"from": "start", "to": "lead"}
    assert FlowSpec.model_validate(json.loads(json.dumps(dumped))) == spec
    graph = flow.graph_json(frozenset({"lead"}))
    assert {n["id"] for n in graph["nodes"] if n["active"]} == {"lead"}


def test_unknown_keys_and_bad_settings_are_refused_by_the_spec() -> None:
    for bad in ({"nodes": [{"id": "start", "type": "start", "colour": 1}]},
                {"edges": [{"from": "start", "to": "lead", "when": "x", "default": True}]},
                {"nodes": [{"id": "a", "type": "approval", "mode": "countersign",
                            "pass": {"count": 2, "ratio": 0.5}}]},
                {"nodes": [{"id": "a", "type": "approval",
                            "sla": {"due": "PT", "on_timeout": "none"}}]},
                {"nodes": [{"id": "a", "type": "approval", "on_reject": "to_node"}]}):
        with pytest.raises(ValidationError):
            FlowSpec.model_validate({**FORMATS_EXAMPLE, **bad})


def test_every_graph_problem_is_reported_at_once_with_its_node() -> None:
    found = problems({
        "nodes": [*FORMATS_EXAMPLE["nodes"],
                  {"id": "orphan", "type": "approval"},
                  {"id": "loop_a", "type": "approval"}, {"id": "loop_b", "type": "approval"}],
        "edges": [*FORMATS_EXAMPLE["edges"][:2],
                  {"from": "big", "to": "finance", "when": "amount >"},
                  {"from": "big", "to": "loop_a"},
                  {"from": "finance", "to": "tell"}, {"from": "tell", "to": "end"},
                  {"from": "loop_a", "to": "loop_b"}, {"from": "loop_b", "to": "loop_a"},
                  {"from": "tell", "to": "ghost"}],
    })
    assert {("bad_condition", "big"), ("edge_needs_condition", "big"),
            ("unreachable", "orphan"), ("no_path_to_end", "loop_a"),
            ("no_path_to_end", "loop_b"), ("unknown_node", "ghost"),
            ("outgoing_count", "orphan")} <= found


def test_splits_must_be_matched_by_joins() -> None:
    unmatched = problems({
        "nodes": [{"id": "start", "type": "start"}, {"id": "split", "type": "parallel"},
                  {"id": "a", "type": "approval"}, {"id": "b", "type": "approval"},
                  {"id": "end", "type": "end"}, {"id": "end2", "type": "end"}],
        "edges": [{"from": "start", "to": "split"}, {"from": "split", "to": "a"},
                  {"from": "split", "to": "b"}, {"from": "a", "to": "end"},
                  {"from": "b", "to": "end2"}],
    })
    assert ("split_unmatched", "split") in unmatched
    lonely = problems({
        "nodes": [{"id": "start", "type": "start"}, {"id": "join", "type": "join"},
                  {"id": "end", "type": "end"}],
        "edges": [{"from": "start", "to": "join"}, {"from": "join", "to": "end"}],
    })
    assert ("join_unmatched", "join") in lonely


def test_structure_rules() -> None:
    found = problems({
        "nodes": [{"id": "start", "type": "start"}, {"id": "s2", "type": "start"},
                  {"id": "a", "type": "approval", "on_reject": "to_node", "reject_to": "z"},
                  {"id": "z", "type": "approval"}, {"id": "end", "type": "end"}],
        "edges": [{"from": "start", "to": "a"}, {"from": "s2", "to": "a"},
                  {"from": "a", "to": "z", "when": "x > 1"}, {"from": "z", "to": "end"},
                  {"from": "end", "to": "z"}],
    })
    assert {("start_count", None), ("condition_on_plain_edge", "a"),
            ("reject_target_not_upstream", "a"), ("end_has_outgoing", "end")} <= found


def test_issues_carry_both_languages_and_a_path() -> None:
    spec = FlowSpec.model_validate({**FORMATS_EXAMPLE, "edges": FORMATS_EXAMPLE["edges"][:-1]})
    with pytest.raises(FlowDefinitionError) as err:
        compile_flow(spec, compile_condition)
    first = err.value.issues[0]
    assert first.message["zh"] and first.message["en"] and first.path.startswith("nodes[")


def test_the_json_schema_is_generated() -> None:
    schema = FlowSpec.model_json_schema(by_alias=True)
    assert "nodes" in schema["properties"]
    assert Path(__file__).name.startswith("test_flow_")
