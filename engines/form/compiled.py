"""`CompiledForm`: one form version, compiled once and used for every write.

Immutable (a frozen dataclass holding frozen plans and a frozen networkx graph) so one
instance can be cached per (app, form, version) and shared between requests and
threads. `process` is the server-side processing of one submission (see
`engines.form.process`); the attributes tell runtime what the store must do that a
pure engine cannot: unique values, indexes, auto-numbers, relation existence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from engines.common import DEFAULT_LANG, Lang, text_of
from engines.form import spec as s
from engines.form._expr import Compiled, Env, ExprError, Scope
from engines.form.issues import FieldIssue
from engines.form.plan import CheckPlan, FieldPlan, FormulaStep, RecordSource
from engines.form.process import Run


def _expressions(plan: FieldPlan) -> list[Compiled]:
    found = [plan.default_expr, plan.visible_when, plan.required_when, plan.read_only_when,
             plan.formula, plan.linkage.where if plan.linkage else None]
    for check in plan.checks:
        found += [check.expr, check.when]
    return [c for c in found if c is not None]


def _read_plans(plans: tuple[FieldPlan, ...], checks: tuple[CheckPlan, ...],
                title: Compiled | None) -> tuple[FieldPlan, ...]:
    """The fields whose native value some expression may read. A subform with any row
    expression is included whole (its rows' expressions read the row and parent)."""
    exprs = [c.expr for c in checks] + [c.when for c in checks if c.when is not None]
    exprs += [title] if title is not None else []
    needed: set[str] = set()
    for plan in plans:
        exprs += _expressions(plan)
        rows = plan.rows
        if rows is not None:
            row_exprs = [e for r in rows.fields for e in _expressions(r)]
            row_exprs += [c.expr for c in rows.checks]
            row_exprs += [c.when for c in rows.checks if c.when is not None]
            if row_exprs:
                needed.add(plan.key)
            exprs += row_exprs
    for expr in exprs:
        needed.update(expr.names, expr.outer_names)
    return tuple(p for p in plans if p.key in needed)


@dataclass(frozen=True, slots=True)
class ProcessResult:
    """The normalised stored data and every error (empty when the write may go on).

    `errors` are rendered in `lang`; `issues` keep both languages for callers that
    build their own error shape.
    """

    data: dict[str, Any]
    issues: tuple[FieldIssue, ...]
    lang: Lang = DEFAULT_LANG

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [issue.render(self.lang) for issue in self.issues]


@dataclass(frozen=True, slots=True)
class CompiledForm:
    key: str
    spec: s.FormSpec
    plans: tuple[FieldPlan, ...]
    formula_steps: tuple[FormulaStep, ...]
    graph: nx.DiGraph
    checks: tuple[CheckPlan, ...]
    title: Compiled | None
    schema: dict[str, Any]
    layout: dict[str, Any]
    field_docs: list[dict[str, Any]]
    scope: Scope
    by_key: Mapping[str, FieldPlan] = field(init=False)
    conditional: tuple[FieldPlan, ...] = field(init=False)
    row_conditional: Mapping[str, tuple[FieldPlan, ...]] = field(init=False)
    row_lookups: Mapping[str, tuple[FieldPlan, ...]] = field(init=False)
    row_read_only: Mapping[str, tuple[FieldPlan, ...]] = field(init=False)
    stored_plans: tuple[FieldPlan, ...] = field(init=False)
    system_plans: tuple[FieldPlan, ...] = field(init=False)
    position: Mapping[str, int] = field(init=False)
    read_plans: tuple[FieldPlan, ...] = field(init=False)
    """Top-level fields some expression reads: only these need native values."""

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("graph", nx.freeze(self.graph))
        put("by_key", {p.key: p for p in self.plans})
        put("stored_plans", tuple(p for p in self.plans if p.stores))
        put("system_plans", tuple(p for p in self.plans if not p.stores and p.type in (
            "created_by", "created_at", "updated_by", "updated_at")))
        put("position", {p.key: i for i, p in enumerate(self.plans)})
        put("conditional", tuple(p for p in self.plans if p.visible_when is not None))
        put("row_conditional", {
            p.key: tuple(r for r in p.rows.fields if r.visible_when is not None)
            for p in self.plans if p.rows is not None
            and any(r.visible_when is not None for r in p.rows.fields)})
        put("row_read_only", {
            p.key: guarded for p in self.plans if p.rows is not None and (guarded := tuple(
                r for r in p.rows.fields if r.input and (
                    r.read_only or r.read_only_when is not None)))})
        put("read_plans", _read_plans(self.plans, self.checks, self.title))
        put("row_lookups", {
            p.key: tuple(r for r in p.rows.fields if r.type == "lookup" and r.stores)
            for p in self.plans if p.rows is not None})

    # ------------------------------------------------------------ what runtime needs
    def _keys(self, test: Any) -> tuple[str, ...]:
        return tuple(p.key for p in self.plans if test(p))

    @property
    def unique_fields(self) -> tuple[str, ...]:
        """Fields whose value must be unique per form (the store enforces it)."""
        return self._keys(lambda p: p.spec.unique)

    @property
    def indexed_fields(self) -> tuple[str, ...]:
        """Fields to index: marked `indexed`, unique, or relations (DESIGN §4)."""
        return self._keys(lambda p: p.stores and (
            p.spec.indexed or p.spec.unique or p.type == "relation"))

    @property
    def autonumber_fields(self) -> tuple[s.AutoNumberField, ...]:
        """Specs of auto-number fields: the store assigns them on create, with
        `format_autonumber(spec.pattern, n, when)` and `period_key(spec.reset, when)`."""
        return tuple(p.spec for p in self.plans if isinstance(p.spec, s.AutoNumberField))

    @property
    def relation_fields(self) -> dict[str, str]:
        """Relation field path → related form, subform ones as `lines.product`
        (runtime checks that the ids exist)."""
        out = {p.key: p.spec.form for p in self.plans if isinstance(p.spec, s.RelationField)}
        for p in self.plans:
            for r in p.rows.fields if p.rows else ():
                if isinstance(r.spec, s.RelationField):
                    out[f"{p.key}.{r.key}"] = r.spec.form
        return out

    @property
    def lookup_fields(self) -> dict[str, tuple[str, str, str]]:
        """Lookup key → (relation field, related form's field, mode)."""
        out: dict[str, tuple[str, str, str]] = {}
        for p in self.plans:
            if isinstance(p.spec, s.LookupField):
                out[p.key] = (p.spec.through, p.spec.field, p.spec.mode)
        return out

    @property
    def formula_fields(self) -> tuple[str, ...]:
        """Formula nodes in evaluation order (`amount`, `lines.subtotal`)."""
        return tuple(f"{st.subform.key}.{st.plan.key}" if st.subform else st.plan.key
                     for st in self.formula_steps)

    def document(self) -> dict[str, Any]:
        """What `GET …/forms/{form}` serves: schema, layout, fields."""
        return {"key": self.key, "name": {"zh": text_of(self.spec.name, "zh"),
                                          "en": text_of(self.spec.name, "en")},
                "title": self.spec.title, "schema": self.schema, "layout": self.layout,
            "fields": self.field_docs}

    # ------------------------------------------------------------ processing
    def process(self, submission: Mapping[str, Any], *, env: Env,
                old: Mapping[str, Any] | None = None, lang: Lang = DEFAULT_LANG,
                source: RecordSource | None = None,
                system: Mapping[str, Any] | None = None,
                trusted: bool = False) -> ProcessResult:
        """Validate and normalise one submission; never raises for bad input.

        `old` is the stored data before an update (None on create): fields absent from
        `submission` keep their old value, and read-only fields keep it whatever is
        submitted. `source` resolves lookups and data linkage; without it, copied
        lookups keep their old value. `system` gives the record's system values
        (`id`, `owner`, `created_at`…) to expressions. `data` in the result is the
        complete new stored data, not a patch. `trusted` is a write by the system
        (a rule or flow acting as its definition says): read-only binds people, so
        such a write may set read-only fields (Frappe's meaning of read-only).
        """
        run = Run(self, submission, old=old, env=env, source=source, system=system,
                  trusted=trusted)
        data = run.run()
        return ProcessResult(data, tuple(run.final_issues), lang)

    def title_of(self, data: Mapping[str, Any], *, env: Env) -> str | None:
        """The record's display title from the `title` expression (None without one,
        or when it cannot be computed: a title never breaks a list page)."""
        if self.title is None:
            return None
        values = Run(self, {}, old=data, env=env, source=None, system=None).natives(
            self.plans, data)
        try:
            result = self.title.evaluate(values, env)
        except ExprError:
            return None
        return None if result is None else str(result)
