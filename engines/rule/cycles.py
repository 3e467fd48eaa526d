"""Loops between rules, found statically when an app is saved.

The graph (networkx) links rule A to rule B when an action of A can fire B's trigger:
A writes a field B watches (`set_fields` on its own form, `update_related` on
another), A creates a record of B's form (`create_record` → B on `created`), or A
starts the flow B listens to (`start_flow` → B on `flow`). Formula fields count too:
writing `qty` changes `amount = qty * price`, so a rule watching `amount` is fired.
Every elementary cycle of that graph is a loop that could run until the cascade guard
stops it; it is refused unless one of its rules says `allow_cycle: true` (the author
knows and relies on the guard or the rule's condition to end it).

Refinement that avoids false alarms: a `set_fields` value that is a literal (`'done'`)
cannot fire a `field_changed` trigger whose `to` is a different literal.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx

from engines.rule.problems import RuleProblem, problem
from engines.rule.spec import (
    AssignAction,
    CreateRecordAction,
    FieldChangedTrigger,
    FlowTrigger,
    RuleSpec,
    SetFieldsAction,
    StartFlowAction,
    UpdatedTrigger,
    UpdateRelatedAction,
)

MAX_CYCLES = 50
"""Enough to show an analyst every loop they must break; the search stops there."""

_UNKNOWN = object()


@dataclass(frozen=True, slots=True)
class RuleCycle:
    rules: tuple[str, ...]
    via: tuple[str, ...]
    """For each step rules[i] → rules[i+1], what links them (`form.field`, …)."""
    allowed: bool

    def describe(self) -> str:
        steps = [f"{r} -[{v}]->" for r, v in zip(self.rules, self.via, strict=True)]
        return " ".join(steps) + f" {self.rules[0]}"


def _literal(source: str) -> Any:
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _UNKNOWN


@dataclass(frozen=True, slots=True)
class _Write:
    form: str
    field: str
    value: str | None  # the expression written, when known


def _writes(rule: RuleSpec) -> Iterable[tuple[str, Any]]:
    """What a rule's actions can cause: ("field", _Write), ("created", form), ("flow", key)."""
    for action in rule.actions:
        if isinstance(action, SetFieldsAction):
            for key, expr in action.values.items():
                yield "field", _Write(rule.form, key, expr)
        elif isinstance(action, UpdateRelatedAction):
            for key, expr in action.values.items():
                yield "field", _Write(action.form, key, expr)
        elif isinstance(action, AssignAction):
            yield "field", _Write(rule.form, action.field, None)
            for key, expr in action.values.items():
                yield "field", _Write(rule.form, key, expr)
        elif isinstance(action, CreateRecordAction):
            yield "created", action.form
        elif isinstance(action, StartFlowAction):
            yield "flow", action.flow


def _fires(target: RuleSpec, cause: str, what: Any,
           dependents: Mapping[str, Mapping[str, frozenset[str]]]) -> str | None:
    """Why `target` fires on this cause, or None when it does not."""
    trigger = target.trigger
    if cause == "created":
        return f"{what}.created" if trigger.kind == "created" and target.form == what else None
    if cause == "flow":
        return f"flow {what}" if isinstance(trigger, FlowTrigger) and trigger.flow == what \
            else None
    write: _Write = what
    if target.form != write.form:
        return None
    changed = {write.field} | set(dependents.get(write.form, {}).get(write.field, ()))
    if isinstance(trigger, UpdatedTrigger):
        hit = sorted(changed & set(trigger.fields)) if trigger.fields else [write.field]
        return f"{write.form}.{hit[0]}" if hit else None
    if isinstance(trigger, FieldChangedTrigger) and trigger.field in changed:
        if trigger.field == write.field and trigger.has_to and write.value is not None:
            value = _literal(write.value)
            if value is not _UNKNOWN and value != trigger.to:
                return None
        return f"{write.form}.{trigger.field}"
    return None


def rule_graph(rules: Sequence[RuleSpec],
               dependents: Mapping[str, Mapping[str, frozenset[str]]] | None = None,
               ) -> nx.DiGraph:
    """Rule → rule edges, each with `via` (what links them).

    `dependents[form][field]` lists the formula fields of `form` that change when
    `field` does (transitively); the form compiler knows them.
    """
    dependents = dependents or {}
    graph = nx.DiGraph()
    graph.add_nodes_from(r.key for r in rules)
    for source in rules:
        for cause, what in _writes(source):
            for target in rules:
                via = _fires(target, cause, what, dependents)
                if via is not None and not graph.has_edge(source.key, target.key):
                    graph.add_edge(source.key, target.key, via=via)
    return graph


def find_cycles(rules: Sequence[RuleSpec],
                dependents: Mapping[str, Mapping[str, frozenset[str]]] | None = None,
                ) -> list[RuleCycle]:
    """Every elementary loop between rules (at most MAX_CYCLES), shortest first."""
    graph = rule_graph(rules, dependents)
    allow = {r.key: r.allow_cycle for r in rules}
    found: list[RuleCycle] = []
    for cycle in itertools.islice(nx.simple_cycles(graph), MAX_CYCLES):
        start = cycle.index(min(cycle))  # a stable rotation for stable messages
        ordered = tuple(cycle[start:] + cycle[:start])
        via = tuple(graph.edges[a, b]["via"]
                    for a, b in zip(ordered, ordered[1:] + ordered[:1], strict=True))
        found.append(RuleCycle(ordered, via, any(allow[r] for r in ordered)))
    return sorted(found, key=lambda c: (len(c.rules), c.rules))


def cycle_problems(rules: Sequence[RuleSpec],
                   dependents: Mapping[str, Mapping[str, frozenset[str]]] | None = None,
                   ) -> list[RuleProblem]:
    """A problem on every rule of every loop nobody marked as intended."""
    problems = []
    for cycle in find_cycles(rules, dependents):
        if cycle.allowed:
            continue
        text = cycle.describe()
        for rule in cycle.rules:
            problems.append(problem(
                rule, "trigger", "rule_cycle",
                f"规则之间形成循环：{text}。请打断循环，或在其中一条规则上设置 "
                f"\"allow_cycle\": true 表示有意为之",
                f"rules form a loop: {text}. Break it, or set \"allow_cycle\": true on "
                f"one of them if the loop is intended"))
    return problems
