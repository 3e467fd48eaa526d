"""Graph checks of a flow, run when it is saved (networkx).

Each check appends `FlowIssue`s located by node id and JSON path instead of raising,
so a designer sees every problem at once: unknown or duplicate nodes, wrong numbers
of edges for a node type, nodes unreachable from the start, nodes from which no end
can be reached (which is also how a cycle without exit shows up), and parallel
splits without a matching join.

A split's join is found with post-dominators: the first join that every path from
the split must pass through. That is the definition of a well-structured block, and
it lets an instance count exactly one token per branch at the join.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import networkx as nx

from engines.flow.errors import FlowIssue, issue
from engines.flow.spec import ApprovalNode, FlowSpec, HandleNode

_SINK = "__end__"
_ONE_OUT = frozenset({"start", "approval", "handle", "action", "notify", "subflow", "timer",
                      "join"})


def check_graph(spec: FlowSpec, issues: list[FlowIssue]) -> nx.DiGraph:
    """Build the graph and append every structural problem to `issues`."""
    graph = nx.DiGraph()
    types: dict[str, str] = {}
    for index, node in enumerate(spec.nodes):
        if node.id in types:
            issues.append(issue("duplicate_node", f"节点 id 重复：{node.id}",
                                f"duplicate node id {node.id}", node=node.id,
                                path=f"nodes[{index}].id"))
        types[node.id] = node.type
        graph.add_node(node.id, type=node.type)
    counts = Counter(types.values())
    if counts["start"] != 1:
        issues.append(issue("start_count", "流程必须有且只有一个开始节点",
                            "a flow has exactly one start node", path="nodes"))
    if counts["end"] < 1:
        issues.append(issue("no_end", "流程至少需要一个结束节点", "a flow needs an end node",
                            path="nodes"))
    _check_edges(spec, types, graph, issues)
    _check_degrees(spec, graph, issues)
    _check_paths(spec, types, graph, issues)
    _check_reject_targets(spec, types, graph, issues)
    return graph


def _check_edges(spec: FlowSpec, types: Mapping[str, str], graph: nx.DiGraph,
                 issues: list[FlowIssue]) -> None:
    defaults: Counter[str] = Counter()
    for index, edge in enumerate(spec.edges):
        ok = True
        for end, attr in ((edge.from_, "from"), (edge.to, "to")):
            if end not in types:
                ok = False
                issues.append(issue("unknown_node", f"连线指向不存在的节点 {end}",
                                    f"the edge names an unknown node {end}", node=end,
                                    path=f"edges[{index}].{attr}"))
        if not ok:
            continue
        if graph.has_edge(edge.from_, edge.to):
            issues.append(issue("duplicate_edge", "两个节点之间有重复的连线",
                                "duplicate edge between the same two nodes", node=edge.from_,
                                path=f"edges[{index}]"))
        graph.add_edge(edge.from_, edge.to, index=index)
        conditional = edge.when is not None or edge.default
        if types[edge.from_] == "condition":
            if not conditional:
                issues.append(issue("edge_needs_condition", "条件节点的出线需要条件或设为默认",
                                    "an edge out of a condition needs `when` or `default`",
                                    node=edge.from_, path=f"edges[{index}]"))
            defaults[edge.from_] += edge.default
        elif conditional:
            issues.append(issue("condition_on_plain_edge", "只有条件节点的出线可以带条件",
                                "only edges out of a condition node carry `when`/`default`",
                                node=edge.from_, path=f"edges[{index}]"))
    for node_id, count in defaults.items():
        if count > 1:
            issues.append(issue("many_defaults", "条件节点只能有一条默认出线",
                                "a condition node has at most one default edge", node=node_id))


def _check_degrees(spec: FlowSpec, graph: nx.DiGraph, issues: list[FlowIssue]) -> None:
    for index, node in enumerate(spec.nodes):
        if node.id not in graph:
            continue
        out, into = graph.out_degree(node.id), graph.in_degree(node.id)
        path = f"nodes[{index}]"
        if node.type == "start" and into:
            issues.append(issue("start_has_incoming", "开始节点不能有入线",
                                "the start node has no incoming edge", node=node.id, path=path))
        if node.type == "end" and out:
            issues.append(issue("end_has_outgoing", "结束节点不能有出线",
                                "an end node has no outgoing edge", node=node.id, path=path))
        if node.type in _ONE_OUT and out != 1:
            issues.append(issue("outgoing_count", f"该节点需要恰好一条出线（现有 {out} 条）",
                                f"this node needs exactly one outgoing edge (has {out})",
                                node=node.id, path=path))
        if node.type in ("condition", "parallel") and out < 1:
            issues.append(issue("outgoing_count", "分支节点至少需要一条出线",
                                "a branching node needs outgoing edges", node=node.id,
                                path=path))
        if node.type != "start" and into == 0:
            issues.append(issue("no_incoming", "该节点没有入线", "this node has no incoming edge",
                                node=node.id, path=path))


def _check_paths(spec: FlowSpec, types: Mapping[str, str], graph: nx.DiGraph,
                 issues: list[FlowIssue]) -> None:
    starts = [n for n, t in types.items() if t == "start"]
    ends = [n for n, t in types.items() if t == "end"]
    if len(starts) != 1 or not ends:
        return
    reachable = nx.descendants(graph, starts[0]) | {starts[0]}
    reaches_end: set[str] = set(ends)
    for end in ends:
        reaches_end |= nx.ancestors(graph, end)
    for index, node in enumerate(spec.nodes):
        if node.id not in reachable:
            issues.append(issue("unreachable", "从开始节点无法到达该节点",
                                "this node cannot be reached from the start", node=node.id,
                                path=f"nodes[{index}]"))
        elif node.id not in reaches_end:
            issues.append(issue("no_path_to_end", "从该节点无法到达结束节点（死循环或断头路）",
                                "no end can be reached from this node (a dead end or a loop "
                                "without exit)", node=node.id, path=f"nodes[{index}]"))


def _check_reject_targets(spec: FlowSpec, types: Mapping[str, str], graph: nx.DiGraph,
                          issues: list[FlowIssue]) -> None:
    for index, node in enumerate(spec.nodes):
        if not isinstance(node, ApprovalNode | HandleNode) or node.reject_to is None:
            continue
        path = f"nodes[{index}].reject_to"
        if node.reject_to not in types:
            issues.append(issue("unknown_node", f"驳回目标节点不存在：{node.reject_to}",
                                f"the reject target {node.reject_to} does not exist",
                                node=node.id, path=path))
        elif not nx.has_path(graph, node.reject_to, node.id) or node.reject_to == node.id:
            issues.append(issue("reject_target_not_upstream", "驳回目标必须是之前的节点",
                                "the reject target must be an earlier node", node=node.id,
                                path=path))


def match_splits(spec: FlowSpec, graph: nx.DiGraph,
                 issues: list[FlowIssue]) -> tuple[dict[str, str], dict[str, int]]:
    """Each parallel split's join (first join post-dominating it) and each join's
    branch count; issues for splits without a join and joins without a split."""
    splits = [n.id for n in spec.nodes if n.type == "parallel" and n.id in graph]
    join_ids = {n.id for n in spec.nodes if n.type == "join"}
    if not splits and not join_ids:
        return {}, {}
    reverse = graph.reverse(copy=True)
    for node_id, data in graph.nodes(data=True):
        if data.get("type") == "end":
            reverse.add_edge(_SINK, node_id)
    post_dominators = nx.immediate_dominators(reverse, _SINK) if _SINK in reverse else {}
    joins: dict[str, str] = {}
    expected: dict[str, int] = {}
    for split in splits:
        current = post_dominators.get(split)
        while current is not None and current != _SINK and current not in join_ids:
            nxt = post_dominators.get(current)
            current = None if nxt == current else nxt
        if current is None or current == _SINK:
            issues.append(issue("split_unmatched", "并行分支没有汇聚到同一个汇聚节点",
                                "the parallel branches do not all meet at one join",
                                node=split))
            continue
        if current in expected:
            issues.append(issue("join_shared", "一个汇聚节点只能对应一个并行分支节点",
                                "a join closes exactly one parallel split", node=current))
            continue
        joins[split] = current
        expected[current] = graph.out_degree(split)
    for join in sorted(join_ids - set(expected)):
        issues.append(issue("join_unmatched", "汇聚节点没有对应的并行分支节点",
                            "this join closes no parallel split", node=join))
    return joins, expected


def parallel_regions(graph: nx.DiGraph,
                     joins: Mapping[str, str]) -> dict[str, frozenset[tuple[str, int]]]:
    """For every node, the (split, branch) pairs whose branch contains it."""
    regions: dict[str, set[tuple[str, int]]] = {}
    for split, join in joins.items():
        for branch, target in enumerate(sorted(graph.successors(split))):
            seen = {target}
            stack = [target]
            while stack:
                node = stack.pop()
                if node == join:
                    continue
                regions.setdefault(node, set()).add((split, branch))
                for nxt in graph.successors(node):
                    if nxt not in seen and nxt != split:
                        seen.add(nxt)
                        stack.append(nxt)
    return {node: frozenset(pairs) for node, pairs in regions.items()}
