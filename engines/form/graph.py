"""The formula graph: which value each formula reads, and the order to compute them.

Nodes are top-level field keys (`amount`) and subform columns (`lines.subtotal`); an
edge `a → b` means the formula `b` reads `a`. Row formulas read their row's fields
(`lines.qty`) and the parent's (`discount`); a parent formula reading `lines.subtotal`
depends on that column only, so `share = subtotal / total` beside
`total = SUM(lines.subtotal)` is not a cycle. A cycle among formulas is a compile
error naming its fields; otherwise a topological order gives the evaluation order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import networkx as nx

from engines.form._expr import Compiled, columns_read


def reads_of(compiled: Compiled, *, row_of: str | None, row_keys: Iterable[str],
             subform_columns: Mapping[str, Iterable[str]]) -> set[str]:
    """The graph nodes an expression reads.

    `row_of` is the subform whose row the expression runs in (None at top level),
    `row_keys` that row's field keys, `subform_columns` every subform's column keys.
    """
    row_set = set(row_keys)
    columns = columns_read(compiled)
    out: set[str] = set()
    for name in compiled.names:
        if row_of is not None and name in row_set:
            out.add(f"{row_of}.{name}")
        elif name in subform_columns:
            used = {col for sub, col in columns if sub == name}
            out.update(f"{name}.{col}" for col in (used or set(subform_columns[name])))
            out.add(name)
        else:
            out.add(name)
    return out


def build_graph(reads: Mapping[str, set[str]]) -> nx.DiGraph:
    """`reads` maps each formula node to the nodes it reads."""
    graph = nx.DiGraph()
    for formula, sources in reads.items():
        graph.add_node(formula, formula=True)
        for source in sources:
            graph.add_edge(source, formula)
    return graph


def formula_cycles(graph: nx.DiGraph) -> list[list[str]]:
    """Each group of formulas that depend on each other, sorted for stable messages."""
    cycles = []
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1 or any(graph.has_edge(n, n) for n in component):
            cycles.append(sorted(component))
    return sorted(cycles)


def formula_order(graph: nx.DiGraph, declared: list[str]) -> list[str]:
    """Formula nodes in dependency order; ties keep the order they are declared in."""
    position = {key: i for i, key in enumerate(declared)}
    order = nx.lexicographical_topological_sort(
        graph, key=lambda node: position.get(node, len(position)))
    return [node for node in order if graph.nodes[node].get("formula")]
