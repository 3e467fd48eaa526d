"""Import a BPMN 2.0 process into a Loom `FlowSpec`, or refuse it with reasons.

The subset: start and end events (terminate counts as an end), tasks (user, manual,
service, none), exclusive and parallel gateways, conditional sequence flows, timer
intermediate events with a duration, call activities (→ sub-flow), multi-instance
user tasks (→ countersign, or sequential when `isSequential`), lanes and potential
owners (→ role assignees). Diagram layout, documentation, artifacts (text
annotations, associations, groups) and other vendors' extensions are ignored.
Anything else — boundary events, sub-processes, message flows between pools, data
objects, inclusive and event-based gateways, compensation — is refused with the list
of every unsupported element and its id, never an exception.

Loom's own exports carry each node's settings (assignees, mode, SLA, …) in a
`loom:node` extension element, so export → import loses nothing.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from builder.bpmn.names import BPMN_NS, LOOM_NS, ROUTE_FIELD, local, namespace, q, to_key
from builder.bpmn.safe_xml import MAX_BYTES, XmlRefusedError, parse_xml
from engines.flow.compile import compile_flow
from engines.flow.errors import FlowDefinitionError
from engines.flow.ports import ConditionCompiler
from engines.flow.spec import FlowSpec

NODE_TAGS = {
    "startEvent": "start", "endEvent": "end", "task": "approval", "userTask": "approval",
    "manualTask": "handle", "serviceTask": "action", "sendTask": "notify",
    "exclusiveGateway": "condition", "parallelGateway": "parallel",
    "intermediateCatchEvent": "timer", "callActivity": "subflow",
}
IGNORED = frozenset({"extensionElements", "documentation", "textAnnotation", "association",
                     "group", "incoming", "outgoing", "laneSet", "sequenceFlow",
                     "ioSpecification", "potentialOwner", "humanPerformer", "performer"})
_TASK_TAGS = frozenset({"task", "userTask", "manualTask"})


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    element: str
    id: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.element}#{self.id}: {self.code}: {self.message}"


@dataclass(frozen=True)
class BpmnImport:
    spec: FlowSpec | None
    reasons: tuple[Refusal, ...] = ()
    notes: tuple[str, ...] = ()
    ids: Mapping[str, str] = field(default_factory=dict)  # BPMN id → node id

    @property
    def ok(self) -> bool:
        return self.spec is not None


@dataclass
class _Walk:
    reasons: list[Refusal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)

    def refuse(self, code: str, element: ET.Element | str, message: str) -> None:
        """`element` is the XML element, or the id of a node being built."""
        if isinstance(element, str):
            self.reasons.append(Refusal(code, "node", element, message))
        else:
            self.reasons.append(Refusal(code, local(element.tag), element.get("id"), message))


def import_bpmn(data: bytes | str, *, key: str | None = None, form: str = "record",
                compile_condition: ConditionCompiler | None = None,
                max_bytes: int = MAX_BYTES) -> BpmnImport:
    """Map the document's process to a FlowSpec; with `compile_condition`, also check
    that it compiles (conditions included), refusing it with the issues if not."""
    walk = _Walk()
    try:
        root = parse_xml(data, max_bytes=max_bytes)
    except XmlRefusedError as exc:
        return BpmnImport(None, (Refusal(exc.code, "document", None, str(exc)),))
    if root.tag != q("definitions"):
        walk.refuse("not_bpmn", root, "the root element is not bpmn:definitions")
        return BpmnImport(None, tuple(walk.reasons))
    process = _the_process(root, walk)
    doc = None if process is None else _process_to_doc(root, process, walk, key, form)
    spec: FlowSpec | None = None
    if doc is not None and not walk.reasons:
        try:
            spec = FlowSpec.model_validate(doc)
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(map(str, error["loc"]))
                walk.reasons.append(Refusal("invalid", "flow", where, error["msg"]))
    if spec is not None and compile_condition is not None:
        try:
            compile_flow(spec, compile_condition)
        except FlowDefinitionError as exc:
            for problem in exc.issues:
                walk.reasons.append(Refusal(problem.code, "node", problem.node,
                                            problem.message["en"]))
            spec = None
    if walk.reasons:
        spec = None
    return BpmnImport(spec, tuple(walk.reasons), tuple(walk.notes), dict(walk.ids))


def _the_process(root: ET.Element, walk: _Walk) -> ET.Element | None:
    for collaboration in root.iter(q("collaboration")):
        for flow in collaboration.iter(q("messageFlow")):
            walk.refuse("unsupported_element", flow, "message flows between pools")
    processes = [p for p in root.findall(q("process"))
                 if any(local(c.tag) in NODE_TAGS for c in p)]
    if not processes:
        walk.refuse("no_process", root, "no process with flow elements")
        return None
    if len(processes) > 1:
        for extra in processes:
            walk.refuse("many_processes", extra, "only one executable pool per file")
        return None
    return processes[0]


def _loom_settings(element: ET.Element, name: str, walk: _Walk) -> dict[str, Any]:
    for ext in element.findall(q("extensionElements")):
        for child in ext.findall(q(name, LOOM_NS)):
            try:
                value = json.loads(child.text or "{}")
            except ValueError as exc:
                walk.refuse("loom_extension", element, f"loom:{name} is not JSON: {exc}")
                return {}
            if isinstance(value, dict):
                return value
    return {}


def _lane_roles(process: ET.Element, walk: _Walk) -> dict[str, str]:
    roles: dict[str, str] = {}
    for lane in process.iter(q("lane")):
        role = to_key(lane.get("name") or lane.get("id") or "lane", set(), "role")
        for ref in lane.findall(q("flowNodeRef")):
            if ref.text:
                roles[ref.text.strip()] = role
    if roles:
        walk.notes.append("lanes mapped to role assignees")
    return roles


def _owner_roles(root: ET.Element, element: ET.Element) -> list[str]:
    names = {r.get("id"): r.get("name") or r.get("id") or "" for r in root.iter(q("resource"))}
    roles = []
    for tag in ("potentialOwner", "humanPerformer", "performer"):
        for owner in element.findall(q(tag)):
            ref = owner.find(q("resourceRef"))
            if ref is not None and ref.text and ref.text.strip() in names:
                roles.append(to_key(names[ref.text.strip()], set(), "role"))
    return roles


def _process_to_doc(root: ET.Element, process: ET.Element, walk: _Walk, key: str | None,
                    form: str) -> dict[str, Any] | None:
    flow_settings = _loom_settings(process, "flow", walk)
    lanes = _lane_roles(process, walk)
    elements = [c for c in process if namespace(c.tag) == BPMN_NS]
    for child in process:
        if namespace(child.tag) not in (BPMN_NS, LOOM_NS):
            walk.notes.append(f"ignored foreign element {local(child.tag)}")
    for child in elements:
        tag = local(child.tag)
        if tag not in NODE_TAGS and tag not in IGNORED:
            walk.refuse("unsupported_element", child, f"{tag} is not in Loom's BPMN subset")
        elif tag == "ioSpecification" and any(
                local(d.tag) in ("dataInput", "dataOutput") for d in child):
            walk.refuse("unsupported_element", child, "data inputs and outputs")
    for element in (e for e in elements if local(e.tag) in NODE_TAGS):
        walk.ids[element.get("id") or ""] = to_key(element.get("id") or "node", walk.taken)
    nodes = [_node(root, element, walk, lanes) for element in elements
             if local(element.tag) in NODE_TAGS]
    edges = _edges(process, elements, walk)
    if walk.reasons:
        return None
    by_id = {n["id"]: n for n in nodes}
    _shape_gateways(by_id, edges, walk)
    name = process.get("name") or root.get("name") or process.get("id") or "imported"
    doc: dict[str, Any] = {"schema_version": 1, "name": name, "form": form,
                           "key": key or to_key(process.get("id") or "flow", set(), "flow"),
                           "nodes": nodes, "edges": edges}
    doc.update({k: v for k, v in flow_settings.items() if k not in ("nodes", "edges")})
    if key:
        doc["key"] = key
    return doc


def _node(root: ET.Element, element: ET.Element, walk: _Walk,
          lanes: Mapping[str, str]) -> dict[str, Any]:
    tag = local(element.tag)
    bpmn_id = element.get("id") or ""
    node: dict[str, Any] = {"id": walk.ids[bpmn_id], "type": NODE_TAGS[tag]}
    if element.get("name"):
        node["name"] = " ".join((element.get("name") or "").split())
    for child in element:
        part = local(child.tag)
        if namespace(child.tag) != BPMN_NS or part in IGNORED or part == "resourceRef":
            continue
        if part == "multiInstanceLoopCharacteristics" and tag in _TASK_TAGS:
            node["mode"] = "sequential" if child.get("isSequential") == "true" else "countersign"
            if child.find(q("completionCondition")) is not None:
                walk.notes.append(f"{bpmn_id}: completionCondition ignored (all must approve)")
        elif part == "terminateEventDefinition" and tag == "endEvent":
            continue
        elif part == "timerEventDefinition" and tag == "intermediateCatchEvent":
            duration = child.find(q("timeDuration"))
            text = (duration.text or "").strip() if duration is not None else ""
            if not text:
                walk.refuse("unsupported_timer", element, "only timers with a timeDuration")
            node["wait"] = text
        elif part == "calledElement":
            continue
        else:
            walk.refuse("unsupported_element", child, f"{part} inside {tag}")
    if tag == "intermediateCatchEvent" and "wait" not in node:
        walk.refuse("unsupported_element", element, "intermediate events other than timers")
    if tag == "callActivity":
        node["flow"] = to_key(element.get("calledElement") or "subflow", set(), "flow")
    if node["type"] in ("approval", "handle"):
        roles = _owner_roles(root, element) or ([lanes[bpmn_id]] if bpmn_id in lanes else [])
        node["assignees"] = [{"kind": "role", "role": r} for r in dict.fromkeys(roles)]
    settings = _loom_settings(element, "node", walk)
    node.update({k: v for k, v in settings.items() if k != "id"})
    if node["type"] == "notify" and "to" not in node:
        walk.refuse("unsupported_element", element, "send tasks outside Loom's own exports")
    return node


def _condition_text(flow: ET.Element) -> str | None:
    condition = flow.find(q("conditionExpression"))
    if condition is None:
        return None
    text = " ".join((condition.text or "").split())
    lowered = text.lower()
    if lowered in ("true", "true()"):
        return "True"
    if lowered in ("false", "false()"):
        return "False"
    return text or None


def _edges(process: ET.Element, elements: list[ET.Element], walk: _Walk) -> list[dict[str, Any]]:
    defaults = {e.get("default") for e in elements if e.get("default")}
    known = {e.get("id") for e in process.iter() if e.get("id")}
    edges: list[dict[str, Any]] = []
    for flow in process.findall(q("sequenceFlow")):
        source, target = flow.get("sourceRef") or "", flow.get("targetRef") or ""
        if source not in walk.ids or target not in walk.ids:
            if source not in known or target not in known:  # else refused already
                walk.refuse("dangling_flow", flow, "the flow names no element of the process")
            continue
        edge: dict[str, Any] = {"from": walk.ids[source], "to": walk.ids[target]}
        name = " ".join((flow.get("name") or "").split())
        if name:
            edge["name"] = name
        edge.update({k: v for k, v in _loom_settings(flow, "edge", walk).items()
                     if k == "name"})
        when = _condition_text(flow)
        if flow.get("id") in defaults:
            edge["default"] = True
        elif when is not None:
            edge["when"] = when
        edges.append(edge)
    return edges


def _shape_gateways(nodes: dict[str, dict[str, Any]], edges: list[dict[str, Any]],
                    walk: _Walk) -> None:
    """Gateways: a parallel merge becomes a join; an exclusive merge passes through on
    its default edge; an exclusive split without conditions lets `bpmn_route` choose.
    Conditions on flows out of anything but a gateway are refused (they are an
    implicit inclusive split in BPMN)."""
    outgoing: dict[str, list[dict[str, Any]]] = {}
    incoming: dict[str, int] = {}
    for edge in edges:
        outgoing.setdefault(edge["from"], []).append(edge)
        incoming[edge["to"]] = incoming.get(edge["to"], 0) + 1
    for node_id, node in nodes.items():
        outs = outgoing.get(node_id, [])
        if node["type"] == "parallel" and incoming.get(node_id, 0) > 1:
            if len(outs) > 1:
                walk.refuse("mixed_gateway", node_id, "a parallel gateway both joins and splits")
            node["type"] = "join"
        elif node["type"] == "condition":
            _shape_exclusive(node_id, outs, walk)
        elif node["type"] != "parallel":
            for edge in outs:
                if "when" in edge or edge.get("default"):
                    walk.refuse("conditional_flow", node_id,
                                "conditional flows out of an activity (implicit inclusive "
                                "split)")
                    edge.pop("when", None)
                    edge.pop("default", None)


def _shape_exclusive(node_id: str, outs: list[dict[str, Any]], walk: _Walk) -> None:
    open_edges = [e for e in outs if "when" not in e and not e.get("default")]
    has_default = any(e.get("default") for e in outs)
    if len(outs) == 1 and open_edges:
        open_edges[0]["default"] = True
        return
    if not has_default and len(open_edges) == 1:
        open_edges[0]["default"] = True
        return
    for edge in open_edges:
        edge["when"] = f"{ROUTE_FIELD} == '{edge['to']}'"
    if open_edges:
        walk.notes.append(f"{node_id}: unconditioned branches are chosen by the record field "
                          f"{ROUTE_FIELD}")
