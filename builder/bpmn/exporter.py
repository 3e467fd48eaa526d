"""Export a Loom `FlowSpec` as BPMN 2.0 XML.

Other tools read the standard part: events, tasks (approval → userTask, countersign
and sequential as multi-instance; handle → manualTask; action → serviceTask; notify →
sendTask; sub-flow → callActivity), gateways, conditional flows and a default flow,
timers, and one lane per role when a task's assignees are a single role. Loom's own
settings travel in `loom:node` / `loom:flow` extension elements (JSON), which other
tools ignore and `import_bpmn` reads back, so export → import gives the same flow.
No diagram (DI) is written; modelers lay the process out on open.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from builder.bpmn.names import BPMN_NS, LOOM_EXPR, LOOM_NS, XSI_NS, q
from engines.common import text_of
from engines.flow.spec import (
    ApprovalNode,
    FlowSpec,
    HandleNode,
    NodeSpec,
    RoleAssignee,
    SubflowNode,
    TimerNode,
)

ELEMENT_OF = {
    "start": "startEvent", "end": "endEvent", "approval": "userTask", "handle": "manualTask",
    "action": "serviceTask", "notify": "sendTask", "condition": "exclusiveGateway",
    "parallel": "parallelGateway", "join": "parallelGateway", "timer": "intermediateCatchEvent",
    "subflow": "callActivity",
}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _extension(parent: ET.Element, tag: str, value: dict[str, Any]) -> None:
    if value:
        ext = ET.SubElement(parent, q("extensionElements"))
        ET.SubElement(ext, q(tag, LOOM_NS)).text = _json(value)


def _settings(node: NodeSpec) -> dict[str, Any]:
    dumped = node.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    if isinstance(node, ApprovalNode | HandleNode) and node.mode != "single":
        dumped["mode"] = node.mode  # HandleNode's default differs from the importer's
    if not isinstance(node.name, str | None):
        dumped["name"] = node.name.model_dump(exclude_none=True)  # both languages
    else:
        dumped.pop("name", None)
    return {k: v for k, v in dumped.items() if k not in ("id", "type")}


def _single_role(node: NodeSpec) -> str | None:
    if isinstance(node, ApprovalNode | HandleNode) and len(node.assignees) == 1:
        only = node.assignees[0]
        if isinstance(only, RoleAssignee):
            return only.role
    return None


def export_bpmn(spec: FlowSpec) -> str:
    """The flow as a BPMN 2.0 document (UTF-8 text with an XML declaration)."""
    ET.register_namespace("bpmn", BPMN_NS)
    ET.register_namespace("loom", LOOM_NS)
    ET.register_namespace("xsi", XSI_NS)
    root = ET.Element(q("definitions"), {"id": f"defs_{spec.key}", "name": text_of(spec.name),
                                         "targetNamespace": f"https://loom.dev/flows/{spec.key}",
                                         "expressionLanguage": LOOM_EXPR})
    process = ET.SubElement(root, q("process"), {"id": spec.key, "name": text_of(spec.name),
                                                 "isExecutable": "true"})
    flow_settings = spec.model_dump(mode="json", by_alias=True, exclude_defaults=True,
                                    exclude={"nodes", "edges", "schema_version"})
    _extension(process, "flow", flow_settings)
    lanes: dict[str, list[str]] = {}
    for node in spec.nodes:
        role = _single_role(node)
        if role is not None:
            lanes.setdefault(role, []).append(node.id)
    if lanes:
        lane_set = ET.SubElement(process, q("laneSet"), {"id": "lanes"})
        for role, members in lanes.items():
            lane = ET.SubElement(lane_set, q("lane"), {"id": f"lane_{role}", "name": role})
            for member in members:
                ET.SubElement(lane, q("flowNodeRef")).text = member
    defaults = {e.from_: f"flow_{i}" for i, e in enumerate(spec.edges) if e.default}
    for node in spec.nodes:
        _node_element(process, node, defaults.get(node.id))
    for index, edge in enumerate(spec.edges):
        attrs = {"id": f"flow_{index}", "sourceRef": edge.from_, "targetRef": edge.to}
        if edge.name is not None:
            attrs["name"] = text_of(edge.name)
        flow = ET.SubElement(process, q("sequenceFlow"), attrs)
        if edge.name is not None and not isinstance(edge.name, str):
            _extension(flow, "edge", {"name": edge.name.model_dump(exclude_none=True)})
        if edge.when is not None:
            condition = ET.SubElement(flow, q("conditionExpression"),
                                      {f"{{{XSI_NS}}}type": "bpmn:tFormalExpression",
                                       "language": LOOM_EXPR})
            condition.text = edge.when
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _node_element(process: ET.Element, node: NodeSpec, default_flow: str | None) -> None:
    attrs = {"id": node.id}
    if node.name is not None:
        attrs["name"] = text_of(node.name)
    if default_flow is not None:
        attrs["default"] = default_flow
    if isinstance(node, SubflowNode):
        attrs["calledElement"] = node.flow
    if node.type in ("parallel", "join"):
        attrs["gatewayDirection"] = "Diverging" if node.type == "parallel" else "Converging"
    element = ET.SubElement(process, q(ELEMENT_OF[node.type]), attrs)
    settings = _settings(node)
    if isinstance(node, TimerNode):
        settings.pop("wait", None)
    if isinstance(node, SubflowNode):
        settings.pop("flow", None)
    _extension(element, "node", settings)
    if isinstance(node, ApprovalNode | HandleNode) and node.mode in ("countersign",
                                                                      "sequential"):
        ET.SubElement(element, q("multiInstanceLoopCharacteristics"),
                      {"isSequential": "true" if node.mode == "sequential" else "false"})
    if isinstance(node, TimerNode):
        timer = ET.SubElement(element, q("timerEventDefinition"))
        ET.SubElement(timer, q("timeDuration")).text = node.wait
