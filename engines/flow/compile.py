"""Compile a `FlowSpec` once into an immutable `CompiledFlow`.

Compilation parses every condition through the injected compiler, builds the graph
with networkx and checks it (see `engines.flow.graph_checks`), and precomputes what
each step needs at run time — outgoing edges with their compiled conditions, each
split's matching join, the parallel region of every node (to know what a return must
cancel), the ancestors of every node (to know where a return may go) and each node's
field permissions — so that advancing an instance does no graph work at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import networkx as nx

from engines.common import text_of
from engines.flow.errors import FlowDefinitionError, FlowIssue, issue
from engines.flow.graph_checks import check_graph, match_splits, parallel_regions
from engines.flow.ports import Condition, ConditionCompiler, Value, ValueCompiler
from engines.flow.spec import (
    ActionNode,
    ApprovalNode,
    CreateRecordAction,
    FlowPolicies,
    FlowSpec,
    HandleNode,
    NodeSpec,
    PassRule,
    SlaSpec,
    StartNode,
)

ALL_ACTIONS = frozenset({"approve", "reject", "return", "transfer", "delegate", "add_signer",
                         "comment", "urge", "cc"})


@dataclass(frozen=True, slots=True)
class CompiledEdge:
    target: str
    condition: Condition | None
    default: bool
    expr: str | None


@dataclass(frozen=True, slots=True)
class FieldAccess:
    """What a task at a node may see and change; runtime enforces it on every edit."""

    visible: frozenset[str] | None  # None: every field not hidden
    hidden: frozenset[str]
    editable: frozenset[str]
    required: frozenset[str]

    def can_see(self, field_key: str) -> bool:
        if field_key in self.hidden:
            return False
        return self.visible is None or field_key in self.visible


NO_EDITS = FieldAccess(None, frozenset(), frozenset(), frozenset())


@dataclass(frozen=True, slots=True)
class CompiledNode:
    id: str
    type: str
    spec: NodeSpec
    title: dict[str, str]
    edges: tuple[CompiledEdge, ...]
    fields: FieldAccess
    actions: frozenset[str]
    mode: str = "single"
    pass_rule: PassRule | None = None
    sla: SlaSpec | None = None
    initiator_policy: str = "approve"
    repeat_policy: str = "never"
    empty_policy: str = "admin"
    region: frozenset[tuple[str, int]] = frozenset()
    ancestors: frozenset[str] = frozenset()
    join: str | None = None  # a split's matching join
    expected: int = 0  # a join: how many branch tokens it waits for
    sla_due: Value | None = None  # the SLA's due_at, compiled
    action_values: tuple[Mapping[str, Value], ...] = ()  # per action of `do` (create_record)


@dataclass(frozen=True)
class CompiledFlow:
    key: str
    form: str
    spec: FlowSpec
    start: str
    nodes: Mapping[str, CompiledNode]
    graph: nx.DiGraph = field(repr=False)
    start_condition: Condition | None = None
    admins: tuple[str, ...] = ()

    def node(self, node_id: str) -> CompiledNode:
        return self.nodes[node_id]

    def should_start(self, trigger: str, record: Mapping[str, Any]) -> bool:
        """Whether a record event (`created`, `updated`, `manual`) starts this flow."""
        if trigger not in self.spec.start.on:
            return False
        return self.start_condition is None or bool(self.start_condition(record))

    def graph_json(self, active: frozenset[str] = frozenset()) -> dict[str, Any]:
        """Nodes and edges for the UI, with the currently active nodes marked."""
        return {
            "nodes": [{"id": n.id, "type": n.type, "name": n.title, "active": n.id in active}
                      for n in self.nodes.values()],
            "edges": [{"from": a, "to": b} for a, b in self.graph.edges],
        }


def _title(node: NodeSpec) -> dict[str, str]:
    if node.name is None:
        return {"zh": node.id, "en": node.id}
    return {"zh": text_of(node.name, "zh"), "en": text_of(node.name, "en")}


def _field_access(node: NodeSpec) -> FieldAccess:
    perms = getattr(node, "fields", None)
    if perms is None:
        return NO_EDITS
    return FieldAccess(
        visible=None if perms.visible is None else frozenset(perms.visible),
        hidden=frozenset(perms.hidden), editable=frozenset(perms.editable),
        required=frozenset(perms.required))


def _compile_conditions(spec: FlowSpec, compile_condition: ConditionCompiler,
                        issues: list[FlowIssue]) -> dict[int, Condition]:
    compiled: dict[int, Condition] = {}
    for index, edge in enumerate(spec.edges):
        if edge.when is None:
            continue
        try:
            compiled[index] = compile_condition(edge.when)
        except Exception as exc:  # the compiler's own error type is not ours to know
            issues.append(issue("bad_condition", f"条件无法编译：{exc}",
                                f"the condition does not compile: {exc}",
                                node=edge.from_, path=f"edges[{index}].when"))
    return compiled


@dataclass
class _Values:
    """The value expressions of each node, compiled (or the issues they raised)."""

    compiler: ValueCompiler | None
    issues: list[FlowIssue]
    sla_due: dict[str, Value] = field(default_factory=dict)
    actions: dict[str, tuple[Mapping[str, Value], ...]] = field(default_factory=dict)

    def compile(self, node: str, path: str,
                make: Callable[[ValueCompiler], Value]) -> Value | None:
        if self.compiler is None:
            self.issues.append(issue(
                "no_value_compiler", "此处的表达式无法编译（未提供表达式编译器）",
                "value expressions cannot be compiled here (no value compiler given)",
                node=node, path=path))
            return None
        try:
            return make(self.compiler)
        except Exception as exc:  # the compiler's own error type is not ours to know
            self.issues.append(issue("bad_value", f"表达式无法编译：{exc}",
                                     f"the expression does not compile: {exc}",
                                     node=node, path=path))
            return None


def _instant(source: str) -> Callable[[ValueCompiler], Value]:
    return lambda compiler: compiler.instant(source)


def _field_value(source: str, form: str, key: str) -> Callable[[ValueCompiler], Value]:
    return lambda compiler: compiler.field_value(source, form, key)


def _compile_values(spec: FlowSpec, compiler: ValueCompiler | None,
                    issues: list[FlowIssue]) -> _Values:
    out = _Values(compiler, issues)
    for index, node in enumerate(spec.nodes):
        where = f"nodes[{index}]"
        sla = getattr(node, "sla", None)
        if sla is not None and sla.due_at is not None:
            due = out.compile(node.id, f"{where}.sla.due_at", _instant(sla.due_at))
            if due is not None:
                out.sla_due[node.id] = due
        if not isinstance(node, ActionNode):
            continue
        per_action: list[Mapping[str, Value]] = []
        for i, action in enumerate(node.do):
            compiled: dict[str, Value] = {}
            if isinstance(action, CreateRecordAction):
                for key, source in action.values.items():
                    value = out.compile(node.id, f"{where}.do[{i}].values.{key}",
                                        _field_value(source, action.form, key))
                    if value is not None:
                        compiled[key] = value
            per_action.append(MappingProxyType(compiled))
        out.actions[node.id] = tuple(per_action)
    return out


def validate_flow(spec: FlowSpec, compile_condition: ConditionCompiler,
                  compile_values: ValueCompiler | None = None) -> list[FlowIssue]:
    """Every problem of the flow (empty when it compiles)."""
    try:
        compile_flow(spec, compile_condition, compile_values)
    except FlowDefinitionError as exc:
        return exc.issues
    return []


def compile_flow(spec: FlowSpec, compile_condition: ConditionCompiler,
                 compile_values: ValueCompiler | None = None) -> CompiledFlow:
    """Check the flow and build its run-time form; raises FlowDefinitionError.

    Value expressions (an SLA's `due_at`, `create_record` values) go to
    `compile_values`, or to `compile_condition` when it is a ValueCompiler too."""
    issues: list[FlowIssue] = []
    conditions = _compile_conditions(spec, compile_condition, issues)
    if compile_values is None and isinstance(compile_condition, ValueCompiler):
        compile_values = compile_condition
    values = _compile_values(spec, compile_values, issues)
    start_condition: Condition | None = None
    if spec.start.when is not None:
        try:
            start_condition = compile_condition(spec.start.when)
        except Exception as exc:
            issues.append(issue("bad_condition", f"启动条件无法编译：{exc}",
                                f"the start condition does not compile: {exc}",
                                path="start.when"))
    graph = check_graph(spec, issues)
    joins, expected = match_splits(spec, graph, issues)
    if issues:
        raise FlowDefinitionError(issues)
    regions = parallel_regions(graph, joins)
    start_id = next(n.id for n in spec.nodes if isinstance(n, StartNode))
    edges_of: dict[str, list[CompiledEdge]] = {n.id: [] for n in spec.nodes}
    for index, edge in enumerate(spec.edges):
        edges_of[edge.from_].append(CompiledEdge(edge.to, conditions.get(index), edge.default,
                                                 edge.when))
    nodes = {n.id: _compile_node(n, spec.policies, edges_of[n.id], regions=regions,
                                 graph=graph, joins=joins, expected=expected, values=values)
             for n in spec.nodes}
    return CompiledFlow(key=spec.key, form=spec.form, spec=spec, start=start_id,
                        nodes=MappingProxyType(nodes), graph=graph,
                        start_condition=start_condition, admins=tuple(spec.admins))


def _compile_node(node: NodeSpec, policies: FlowPolicies, edges: list[CompiledEdge], *,
                  regions: Mapping[str, frozenset[tuple[str, int]]], graph: nx.DiGraph,
                  joins: Mapping[str, str], expected: Mapping[str, int],
                  values: _Values) -> CompiledNode:
    # the default edge of a condition is tried last, whatever its position in the file
    ordered = tuple(sorted(edges, key=lambda e: e.default))
    common: dict[str, Any] = {
        "id": node.id, "type": node.type, "spec": node, "title": _title(node),
        "edges": ordered, "fields": _field_access(node),
        "region": regions.get(node.id, frozenset()),
        "ancestors": frozenset(nx.ancestors(graph, node.id)),
        "join": joins.get(node.id), "expected": expected.get(node.id, 0),
        "actions": ALL_ACTIONS, "action_values": values.actions.get(node.id, ()),
    }
    if isinstance(node, ApprovalNode | HandleNode):
        common.update(
            mode=node.mode,
            pass_rule=node.pass_ if isinstance(node, ApprovalNode) else None,
            sla=node.sla,
            sla_due=values.sla_due.get(node.id),
            actions=ALL_ACTIONS if node.actions is None else frozenset(node.actions),
            initiator_policy=node.initiator_is_approver or policies.initiator_is_approver,
            repeat_policy=node.repeated_approver or policies.repeated_approver,
            empty_policy=node.no_assignee or policies.no_assignee,
        )
    return CompiledNode(**common)
