"""Export → import keeps a Loom flow exactly; lanes and potential owners become role
assignees; other tools' files with foreign extensions and DI still import."""

from __future__ import annotations

from typing import Any

from builder.bpmn import export_bpmn, import_bpmn
from builder.bpmn.safe_xml import parse_xml
from engines.flow import FlowSpec

RICH: dict[str, Any] = {
    "schema_version": 1, "key": "rich", "name": {"zh": "全节点", "en": "All nodes"},
    "form": "contract", "start": {"on": ["created"], "when": "amount > 0"},
    "policies": {"repeated_approver": "once"}, "admins": ["root"],
    "nodes": [
        {"id": "start", "type": "start", "fields": {"editable": ["amount"]}},
        {"id": "lead", "type": "approval", "name": "主管",
         "assignees": [{"kind": "role", "role": "lead"}],
         "sla": {"due": "P2D", "days": "working", "remind_before": "PT4H",
                 "on_timeout": "escalate", "escalate_to": [{"kind": "user", "user": "boss"}]}},
        {"id": "big", "type": "condition"},
        {"id": "split", "type": "parallel"},
        {"id": "fin", "type": "approval", "mode": "countersign", "pass": {"ratio": 0.5},
         "assignees": [{"kind": "role", "role": "finance"}], "on_reject": "to_initiator"},
        {"id": "law", "type": "handle", "mode": "sequential",
         "assignees": [{"kind": "department_head", "of": "initiator", "levels": 2}]},
        {"id": "join", "type": "join"},
        {"id": "stamp", "type": "action",
         "do": [{"kind": "set_fields", "values": {"status": "ok"}}]},
        {"id": "tell", "type": "notify", "to": [{"kind": "initiator"}], "message": "done"},
        {"id": "wait", "type": "timer", "wait": "PT1H"},
        {"id": "audit", "type": "subflow", "flow": "audit", "wait": False},
        {"id": "end", "type": "end"},
        {"id": "no", "type": "end", "result": "rejected"},
    ],
    "edges": [
        {"from": "start", "to": "lead"}, {"from": "lead", "to": "big"},
        {"from": "big", "to": "split", "when": "amount > 1000"},
        {"from": "big", "to": "no", "default": True, "name": "小额"},
        {"from": "big", "to": "end", "when": "amount < 0", "name": {"zh": "负", "en": "neg"}},
        {"from": "split", "to": "fin"}, {"from": "split", "to": "law"},
        {"from": "fin", "to": "join"}, {"from": "law", "to": "join"},
        {"from": "join", "to": "stamp"}, {"from": "stamp", "to": "tell"},
        {"from": "tell", "to": "wait"}, {"from": "wait", "to": "audit"},
        {"from": "audit", "to": "end"},
    ],
}


def test_export_then_import_gives_the_same_flow() -> None:
    spec = FlowSpec.model_validate(RICH)
    xml = export_bpmn(spec)
    root = parse_xml(xml)
    tags = {child.tag.rsplit("}", 1)[1] for child in root[0]}
    assert {"userTask", "manualTask", "serviceTask", "sendTask", "exclusiveGateway",
            "parallelGateway", "intermediateCatchEvent", "callActivity", "laneSet"} <= tags
    again = import_bpmn(xml)
    assert again.ok, again.reasons
    assert again.spec is not None
    assert again.spec.model_dump(by_alias=True) == spec.model_dump(by_alias=True)


LANES = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
             xmlns:acme="https://acme.example/ext" id="d" name="Leave">
  <process id="Leave_Request" name="请假">
    <laneSet id="ls">
      <lane id="l1" name="Team Lead"><flowNodeRef>approve</flowNodeRef></lane>
      <lane id="l2" name="HR"><flowNodeRef>file</flowNodeRef></lane>
    </laneSet>
    <startEvent id="s"/>
    <userTask id="approve" name="Approve">
      <extensionElements><acme:colour value="red"/></extensionElements>
      <multiInstanceLoopCharacteristics isSequential="true"/>
    </userTask>
    <userTask id="file" name="File it"/>
    <task id="owned" name="Accountant check">
      <potentialOwner id="po"><resourceRef>res1</resourceRef></potentialOwner>
    </task>
    <endEvent id="e"><terminateEventDefinition/></endEvent>
    <sequenceFlow id="f1" sourceRef="s" targetRef="approve"/>
    <sequenceFlow id="f2" sourceRef="approve" targetRef="file"/>
    <sequenceFlow id="f3" sourceRef="file" targetRef="owned"/>
    <sequenceFlow id="f4" sourceRef="owned" targetRef="e"/>
    <textAnnotation id="t"><text>note</text></textAnnotation>
  </process>
  <resource id="res1" name="Accountant"/>
  <bpmndi:BPMNDiagram id="dia"/>
</definitions>"""


def test_lanes_and_potential_owners_become_role_assignees() -> None:
    result = import_bpmn(LANES, key="leave")
    assert result.spec is not None, result.reasons
    nodes = {n.id: n for n in result.spec.nodes}
    assert nodes["approve"].model_dump()["assignees"] == [{"kind": "role", "role": "team_lead"}]
    assert nodes["approve"].model_dump()["mode"] == "sequential"
    assert nodes["file"].model_dump()["assignees"] == [{"kind": "role", "role": "hr"}]
    assert nodes["owned"].model_dump()["assignees"] == [{"kind": "role", "role": "accountant"}]
    assert result.spec.key == "leave" and result.ids["approve"] == "approve"
    assert "lanes mapped to role assignees" in result.notes


def test_unsupported_elements_are_listed_with_their_ids() -> None:
    xml = LANES.replace('<task id="owned"', '<subProcess id="sp"/><task id="owned"').replace(
        '<endEvent id="e"><terminateEventDefinition/></endEvent>',
        '<endEvent id="e"><messageEventDefinition id="m"/></endEvent>'
        '<boundaryEvent id="b" attachedToRef="file"><timerEventDefinition/></boundaryEvent>')
    result = import_bpmn(xml)
    assert not result.ok and result.spec is None
    listed = {(r.element, r.id) for r in result.reasons}
    assert {("subProcess", "sp"), ("boundaryEvent", "b"),
            ("messageEventDefinition", "m")} <= listed
