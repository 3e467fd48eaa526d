"""`compile_form`: a `FormSpec` → an immutable `CompiledForm`, or every problem at once.

Compilation does all the work that depends only on the definition: each field's
normaliser is built, every expression (defaults, conditions, formulas, validations,
title, linkage) is parsed and type-checked against the form's scope, the formula graph
is built and ordered (a cycle is an error naming its fields), the JSON Schema is
generated and checked against the draft 2020-12 meta-schema, and the layout
document is resolved. Problems are collected, not raised one by one, and reported
with a JSON path into the definition (`fields[3].expr`), a code and zh/en messages.

`forms` (the other forms of the app, by key) lets relations, lookups and aggregates
(`COUNT("complaint", customer == record.id)`) be checked; without it they are typed
loosely and checked by the bundle loader instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC as _UTC
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import re2

from engines.common import Label, text_of
from engines.form import catalogue
from engines.form import spec as s
from engines.form._expr import (
    Compiled,
    ExprError,
    ExprField,
    Scope,
    T,
    aggregate_condition,
    compile_expr,
    to_json,
    to_native,
)
from engines.form.compiled import CompiledForm
from engines.form.definition_checks import field_problems, form_problems
from engines.form.graph import build_graph, formula_cycles, formula_order, reads_of
from engines.form.issues import DefinitionIssue, FormDefinitionError, Invalid
from engines.form.normalisers import money_from_formula
from engines.form.plan import CheckPlan, FieldPlan, FormulaStep, LinkagePlan, RowPlan
from engines.form.presentation import field_documents, json_schema, layout_document


def label_dict(label: Label | None) -> dict[str, str]:
    """A label as `{"zh", "en"}`, each falling back to the other."""
    return {"zh": text_of(label, "zh"), "en": text_of(label, "en")}


def other_form_fields(form: s.FormSpec) -> dict[str, ExprField]:
    """How aggregates over `form` see its fields (subforms and lookups loosely)."""
    return {f.key: catalogue.expr_field(f) for f in form.fields}


class _Compiler:
    def __init__(self, spec: s.FormSpec, forms: Mapping[str, s.FormSpec] | None) -> None:
        self.spec = spec
        self.forms = forms
        self.issues: list[DefinitionIssue] = []
        self.top_types: dict[str, ExprField] = {}
        self.row_types: dict[str, dict[str, ExprField]] = {}
        other = {key: other_form_fields(f) for key, f in (forms or {}).items()}
        self.other_forms = other

    # ------------------------------------------------------------ scope and types
    def _lookup_type(self, field: s.LookupField, siblings: list[Any]) -> ExprField:
        relation = next((g for g in siblings if g.key == field.through), None)
        if self.forms is None or not isinstance(relation, s.RelationField):
            return ExprField(T.ANY)
        target_form = self.forms.get(relation.form)
        target = target_form.field(field.field) if target_form else None
        if target is None or isinstance(target, s.SubformField | s.LookupField):
            return ExprField(T.ANY)
        single = catalogue.expr_field(target)
        return ExprField(T.LIST, item=single.type) if relation.multiple else single

    def _types(self, fields: list[Any]) -> dict[str, ExprField]:
        out: dict[str, ExprField] = {}
        for f in fields:
            if isinstance(f, s.LookupField):
                out[f.key] = self._lookup_type(f, fields)
            elif not isinstance(f, s.SubformField):
                out[f.key] = catalogue.expr_field(f)
        return out

    def build_types(self) -> None:
        self.top_types = self._types(self.spec.fields)
        for f in self.spec.fields:
            if isinstance(f, s.SubformField):
                self.row_types[f.key] = self._types(f.fields)
                self.top_types[f.key] = ExprField(T.SUBFORM, fields=self.row_types[f.key])

    def scope(self, row_of: str | None = None) -> Scope:
        fields = dict(self.top_types)
        if row_of is not None:
            fields.update(self.row_types[row_of])
        return Scope(fields=fields, forms=self.other_forms)

    def infer_formula_types(self) -> None:
        """Untyped formulas take the type of their expression (two passes reach
        formulas of formulas; anything deeper stays ANY, which is still safe)."""
        for _ in range(2):
            for f in self.spec.fields:
                rows = f.fields if isinstance(f, s.SubformField) else [f]
                row_of = f.key if isinstance(f, s.SubformField) else None
                for g in rows:
                    if isinstance(g, s.FormulaField) and g.result is None:
                        try:
                            typ = compile_expr(g.expr, self.scope(row_of)).type
                        except ExprError:
                            continue
                        types = self.row_types[row_of] if row_of else self.top_types
                        types[g.key] = ExprField(typ if typ is not T.NULL else T.ANY)
                if row_of is not None:
                    self.top_types[row_of] = ExprField(T.SUBFORM, fields=self.row_types[row_of])

    # ------------------------------------------------------------ expressions
    def expr(self, source: str | None, path: str, scope: Scope,
             expect: T | None = None) -> Compiled | None:
        if source is None:
            return None
        try:
            return compile_expr(source, scope, expect)
        except ExprError as exc:
            where_zh = f"（第 {exc.line} 行第 {exc.column} 列）" if exc.line else ""
            where_en = f" (line {exc.line}, column {exc.column})" if exc.line else ""
            self.issues.append(DefinitionIssue(
                path, f"expr_{exc.code}", {"zh": exc.message["zh"] + where_zh,
                                           "en": exc.message["en"] + where_en}))
            return None

    def checks(self, items: list[s.ValidationSpec], path: str,
               scope: Scope) -> tuple[CheckPlan, ...]:
        out = []
        for j, item in enumerate(items):
            expr = self.expr(item.expr, f"{path}[{j}].expr", scope, T.BOOLEAN)
            when = self.expr(item.when, f"{path}[{j}].when", scope, T.BOOLEAN)
            if expr is not None:
                out.append(CheckPlan(expr, label_dict(item.message), when))
        return tuple(out)

    # ------------------------------------------------------------ fields
    def field_plan(self, f: Any, path: str, row_of: str | None) -> FieldPlan:
        scope = self.scope(row_of)
        types = self.row_types[row_of] if row_of else self.top_types
        etype = types[f.key].type if f.key in types else T.SUBFORM
        try:
            normalise = catalogue.normaliser(f)
        except re2.error:  # reported by definition_checks as bad_pattern
            normalise = None
        default = None
        if f.default is not None and normalise is not None:
            try:
                default = normalise(f.default, _UTC)
            except Invalid as bad:
                self.issues.append(DefinitionIssue(f"{path}.default", "bad_default",
                                                   bad.message))
        formula = formula_out = None
        expect = etype if etype in _CHECKABLE else None
        if isinstance(f, s.FormulaField):
            formula = self.expr(f.expr, f"{path}.expr", scope,
                                expect if f.result is not None else None)
            formula_out = _formula_output(f, etype)
        linkage = None
        if f.linkage is not None and row_of is None:
            linkage = self._linkage(f.linkage, f"{path}.linkage")
        rows = self.row_plan(f, path) if isinstance(f, s.SubformField) else None
        return FieldPlan(
            key=f.key, type=f.type, spec=f, label=label_dict(f.label), expr_type=etype,
            stores=f.type not in catalogue.SYSTEM_TYPES and not (
                isinstance(f, s.LookupField) and f.mode == "follow"),
            input=f.type not in catalogue.COMPUTED_TYPES, normalise=normalise,
            to_native=_native_converter(etype), default=default,
            default_expr=self.expr(f.default_expr, f"{path}.default_expr", scope, expect),
            linkage=linkage,
            visible_when=self.expr(f.visible_when, f"{path}.visible_when", scope, T.BOOLEAN),
            required_when=self.expr(f.required_when, f"{path}.required_when", scope,
                                    T.BOOLEAN),
            read_only_when=self.expr(f.read_only_when, f"{path}.read_only_when", scope,
                                     T.BOOLEAN),
            formula=formula, formula_out=formula_out,
            checks=self.checks(f.validations, f"{path}.validations", scope), rows=rows,
            required=f.required, read_only=f.read_only, keep_hidden=f.when_hidden == "keep")

    def _linkage(self, link: s.LinkageSpec, path: str) -> LinkagePlan | None:
        """The condition is checked as the aggregate `COUNT(form, where)` would be:
        bare names are the other form's fields, `record.x` this form's."""
        if link.form not in self.other_forms:
            if self.forms is not None:
                self.issues.append(DefinitionIssue(f"{path}.form", "unknown_form", {
                    "zh": f"未知表单 {link.form}", "en": f"Unknown form {link.form}"}))
            return None
        if link.field not in self.other_forms[link.form]:
            self.issues.append(DefinitionIssue(f"{path}.field", "unknown_field", {
                "zh": f"表单 {link.form} 没有字段 {link.field}",
                "en": f"Form {link.form} has no field {link.field}"}))
        whole = self.expr(f"COUNT({link.form!r}, {link.where})", f"{path}.where", self.scope())
        if whole is None:
            return None
        return LinkagePlan(link.form, aggregate_condition(whole), link.field)

    def row_plan(self, f: s.SubformField, path: str) -> RowPlan:
        plans = tuple(self.field_plan(g, f"{path}.fields[{j}]", f.key)
                      for j, g in enumerate(f.fields))
        return RowPlan(plans, {p.key: p for p in plans},
                       self.checks(f.row_validations, f"{path}.row_validations",
                                   self.scope(f.key)), f.min_rows, f.max_rows)

    # ------------------------------------------------------------ formula graph
    def order(self, plans: list[FieldPlan]) -> tuple[tuple[FormulaStep, ...], Any]:
        subform_columns = {p.key: [r.key for r in p.rows.fields] for p in plans if p.rows}
        reads: dict[str, set[str]] = {}
        steps: dict[str, FormulaStep] = {}
        declared: list[str] = []
        for i, p in enumerate(plans):
            inner = [(r, f"fields[{i}].fields[{j}]") for j, r in enumerate(p.rows.fields)] \
                if p.rows else []
            for plan, _ in [(p, f"fields[{i}]"), *inner]:
                if plan.formula is None:
                    continue
                row_of = p.key if plan is not p else None
                node = f"{p.key}.{plan.key}" if row_of else plan.key
                reads[node] = reads_of(plan.formula, row_of=row_of,
                                       row_keys=subform_columns.get(p.key, []),
                                       subform_columns=subform_columns)
                steps[node] = FormulaStep("rows" if row_of else "top", plan,
                                          p if row_of else None, frozenset(reads[node]))
                declared.append(node)
        graph = build_graph(reads)
        cycles = formula_cycles(graph)
        for cycle in cycles:
            first = cycle[0].split(".")[0]
            index = next(i for i, p in enumerate(plans) if p.key == first)
            names = ", ".join(cycle)
            self.issues.append(DefinitionIssue(f"fields[{index}].expr", "formula_cycle", {
                "zh": f"公式循环引用：{names}", "en": f"Formulas depend on each other: {names}"}))
        if cycles:
            return (), graph
        return tuple(steps[node] for node in formula_order(graph, declared)), graph

    def run(self) -> CompiledForm:
        self.issues.extend(form_problems(self.spec, self.forms))
        siblings = {f.key: f for f in self.spec.fields}
        for i, f in enumerate(self.spec.fields):
            self.issues.extend(field_problems(f, f"fields[{i}]", siblings, self.forms))
        self.build_types()
        self.infer_formula_types()
        plans = [self.field_plan(f, f"fields[{i}]", None) for i, f in enumerate(self.spec.fields)]
        steps, graph = self.order(plans)
        top = self.scope()
        form_checks = self.checks(self.spec.validations, "validations", top)
        title = self.expr(self.spec.title, "title", top)
        schema = json_schema(self.spec, plans, self.issues)
        layout = layout_document(self.spec, self.issues)
        if self.issues:
            raise FormDefinitionError(self.issues)
        return CompiledForm(
            key=self.spec.key, spec=self.spec, plans=tuple(plans), formula_steps=steps,
            graph=graph, checks=form_checks, title=title, schema=schema, layout=layout,
            field_docs=field_documents(self.spec), scope=top)


def compile_form(spec: s.FormSpec, *,
                 forms: Mapping[str, s.FormSpec] | None = None) -> CompiledForm:
    """Compile once per published version; raises `FormDefinitionError` listing every
    problem. Cache the result by (app, form, version)."""
    return _Compiler(spec, forms).run()


def check_form(spec: s.FormSpec, *,
               forms: Mapping[str, s.FormSpec] | None = None) -> list[DefinitionIssue]:
    """Every problem of a form definition (empty when it compiles)."""
    try:
        compile_form(spec, forms=forms)
    except FormDefinitionError as error:
        return list(error.issues)
    return []


# ---------------------------------------------------------------- converters

_CHECKABLE = frozenset({T.TEXT, T.NUMBER, T.MONEY, T.INTEGER, T.BOOLEAN, T.DATE,
                        T.DATETIME, T.TIME})
"""Field types an expression's result type is checked against at compile time."""


def _native_converter(etype: T) -> Any:
    """Stored JSON → native for `etype`, with a fast path for the stored shape the
    normalisers produce and `to_native` for anything else (old or foreign data)."""
    if etype in (T.SUBFORM, T.LIST, T.RECORD, T.ANY, T.NULL, T.TEXT):
        return None
    fast: dict[T, tuple[type, Any]] = {
        T.MONEY: (str, Decimal), T.DATE: (str, date.fromisoformat),
        T.NUMBER: (float, None), T.INTEGER: (int, None), T.BOOLEAN: (bool, None)}
    shape, convert = fast.get(etype, (type(None), None))

    def run(value: Any) -> Any:
        if value.__class__ is shape:
            if convert is None:
                return value
            try:
                return convert(value)
            except (ValueError, ArithmeticError):
                pass  # to_native says why, as an ExprError
        return to_native(value, etype)
    return run


def _formula_output(f: s.FormulaField, etype: T) -> Any:
    if etype is T.MONEY:
        return money_from_formula(f.precision if f.precision is not None else 2)
    if etype in (T.NUMBER, T.INTEGER) and f.precision is not None:
        places = f.precision

        def rounded(value: Any) -> Any:
            exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
            return int(exact) if places == 0 else float(exact)
        return rounded
    if etype is T.INTEGER:
        return int
    return lambda value: to_json(value, etype)
