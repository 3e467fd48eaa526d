"""Server-side processing of one submission (Form.io's `process`, done fully here).

Order, each step over the whole form before the next:
1. filter: keys that are not fields are errors (`unknown_field`); system names are
   ignored (they live in columns, not in `data`);
2. normalise every submitted input value (type, canonical form, ranges, options,
   checksums); a field not submitted keeps its `old` value;
3. defaults, on create only and only for fields not submitted: literal `default`,
   then `default_expr` (which sees submitted values and earlier defaults), then data
   linkage through `RecordSource.first`; new subform rows get their row defaults;
4. read-only (people's writes only; a trusted write by a rule or flow skips it): a
   field read-only by `read_only` or `read_only_when` (judged on the
   record *before* this write: `old` on update, the defaults on create) keeps `old`
   (or its default on create), whatever was submitted; in a subform, a read-only
   column keeps the value of the old row the submitted row names by `_id` (rows
   without one are new and get the column's default);
5. lookups (`mode: copy`) are copied from the related records via `RecordSource`;
6. formulas in dependency order, row formulas for every row, then parent formulas
   over columns (`SUM(lines.subtotal)`);
7. visibility: a field whose `visible_when` is false is cleared unless it says
   `when_hidden: keep`; if anything was cleared, formulas run once more;
8. validation of visible fields: required, required_when, subform row counts, then
   custom validations (field ones when the field has a value; form ones unless every
   field they read is blank; a `when` guard first).
Errors of hidden, cleared fields are dropped: the user could not have fixed them.
Blank values (None, "", [], {}) are not stored: the result holds only real values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engines.form._expr import Env, ExprError, T, to_json, to_native
from engines.form.issues import FieldIssue, Invalid
from engines.form.plan import FieldPlan, LinkagePlan, RecordSource
from engines.form.validation import EMPTYABLE, is_blank, validate

if TYPE_CHECKING:
    from engines.form.compiled import CompiledForm

_SYSTEM_TYPES = {"id": T.TEXT, "created_at": T.DATETIME, "created_by": T.TEXT,
                 "updated_at": T.DATETIME, "updated_by": T.TEXT, "owner": T.TEXT,
                 "department": T.TEXT, "version": T.INTEGER}




class Run:
    """The state of processing one submission; used once and thrown away."""

    def __init__(self, form: CompiledForm, submission: Mapping[str, Any], *,
                 old: Mapping[str, Any] | None, env: Env, source: RecordSource | None,
                 system: Mapping[str, Any] | None, trusted: bool = False) -> None:
        self.form = form
        self.trusted = trusted
        self.submission = submission
        self.creating = old is None
        self.old: Mapping[str, Any] = old or {}
        self.env = env
        self.tz = env.tz
        self.source = source
        self.issues: list[tuple[str, str | None, FieldIssue]] = []  # (top key, row path)
        self.data: dict[str, Any] = {}
        self.native: dict[str, Any] = {}
        self.hidden: set[str] = set()
        self.system = {k: to_native(v, _SYSTEM_TYPES[k]) for k, v in (system or {}).items()
                       if k in _SYSTEM_TYPES}
        self.old_native: dict[str, Any] = {}
        self.pending_rows: list[tuple[FieldPlan, int, FieldPlan]] = []

    # ---------------------------------------------------------------- helpers
    def issue(self, top: str, path: str | None, code: str, message: dict[str, str]) -> None:
        self.issues.append((top, path, FieldIssue(path, code, message)))

    def evaluate(self, compiled: Any, values: Mapping[str, Any], path: str | None,
                 top: str) -> Any:
        try:
            return compiled.evaluate(values, self.env)
        except ExprError as error:
            self.issue(top, path, f"expr_{error.code}", error.message)
        except (TypeError, ValueError, ArithmeticError, AttributeError, KeyError):
            # A value the checker did not foresee must not become a server error.
            self.issue(top, path, "expr_failed", {
                "zh": f"表达式无法计算：{getattr(compiled, 'source', '')}",
                "en": f"The expression could not be computed: {getattr(compiled, 'source', '')}"})
        return None

    def normalise(self, plan: FieldPlan, raw: Any, path: str, top: str) -> Any:
        if raw is None or plan.normalise is None or (raw.__class__ in EMPTYABLE and (
                not raw or (raw.__class__ is str and not raw.strip()))):
            return None
        try:
            return plan.normalise(raw, self.tz)
        except Invalid as bad:
            self.issue(top, path, bad.code, bad.message)
            return None

    def natives(self, plans: tuple[FieldPlan, ...], data: Mapping[str, Any]) -> dict[str, Any]:
        """Stored JSON → the native values expressions work with."""
        return {plan.key: self.native_of(plan, data.get(plan.key)) for plan in plans}

    def native_of(self, plan: FieldPlan, value: Any) -> Any:
        if value is None:
            return [] if plan.rows is not None else None
        if plan.rows is not None:
            fields = plan.rows.fields
            return [self.natives(fields, row) for row in value
                    if isinstance(row, dict)] if isinstance(value, list) else []
        if plan.to_native is None:
            return value
        try:
            return plan.to_native(value)
        except ExprError:
            return None

    # ---------------------------------------------------------------- steps
    def run(self) -> dict[str, Any]:
        form = self.form
        if not self.creating:
            self.old_native = {**self.system, **self.natives(form.plans, self.old)}
        for key in self.submission:
            if key not in form.by_key and key not in _SYSTEM_TYPES:
                self.issue(key, key, "unknown_field",
                           {"zh": f"表单没有字段 {key}", "en": f"The form has no field {key}"})
        self.take_all()
        self.native = {**self.system, **self.natives(form.read_plans, self.data),
                       "old": self.old_native}
        for plan in form.system_plans:  # e.g. `submitted_at` of type created_at
            self.native[plan.key] = self.system.get(plan.type)
        if self.pending_rows:
            self.row_defaults()
        if self.creating:
            self.defaults()
        self.read_only()
        self.lookups()
        self.formulas()
        if self.visibility() and form.formula_steps:
            self.formulas()
        validate(self)
        hidden = self.hidden
        position = form.position
        kept = [(top, i) for top, path, i in self.issues
                if top not in hidden and (path is None or path not in hidden)]
        last = len(position)  # form-level checks, then keys that are not fields
        kept.sort(key=lambda pair: position.get(pair[0], last if not pair[0] else last + 1))
        self.final_issues = [i for _, i in kept]
        data = self.data
        return {p.key: data[p.key] for p in form.plans
                if data.get(p.key) is not None and (
                    data[p.key].__class__ not in EMPTYABLE or not is_blank(data[p.key]))}

    def take_all(self) -> None:
        """Steps 1-2 for every stored field (the hot loop: kept flat on purpose)."""
        submission, data, old, tz = self.submission, self.data, self.old, self.tz
        for plan in self.form.stored_plans:
            key = plan.key
            if not plan.input or key not in submission:
                if key in old:
                    data[key] = self.old_value(plan) if plan.input else old[key]
                continue
            raw = submission[key]
            if plan.rows is not None:
                data[key] = self.take_rows(plan, raw)
            elif raw is None or plan.normalise is None or (
                    raw.__class__ in EMPTYABLE and is_blank(raw)):
                data[key] = None
            else:
                try:
                    data[key] = plan.normalise(raw, tz)
                except Invalid as bad:
                    self.issue(key, key, bad.code, bad.message)
                    data[key] = None

    def old_value(self, plan: FieldPlan) -> Any:
        """The stored value before this write; subform rows are copied, because
        formulas write into rows and `old` belongs to the caller."""
        value = self.old.get(plan.key)
        if plan.rows is None:
            return value
        return [dict(r) for r in value if isinstance(r, dict)] if isinstance(
            value, list) else []

    def take_rows(self, plan: FieldPlan, raw: Any) -> list[dict[str, Any]]:
        if plan.rows is None or is_blank(raw):
            return []
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            self.issue(plan.key, plan.key, "type", {"zh": "子表应为行的列表",
                                                    "en": "A subform is a list of rows"})
            return []
        rows: list[dict[str, Any]] = []
        by_key = plan.rows.by_key
        for i, raw_row in enumerate(raw):
            row: dict[str, Any] = {}
            for name, value in raw_row.items():
                path = f"{plan.key}[{i}].{name}"
                if name == "_id":
                    row["_id"] = str(value)[:64] if value is not None else None
                elif name not in by_key:
                    self.issue(plan.key, path, "unknown_field", {
                        "zh": f"子表没有字段 {name}", "en": f"The subform has no field {name}"})
                elif by_key[name].input:
                    row[name] = self.normalise(by_key[name], value, path, plan.key)
            for row_plan in plan.rows.fields:
                if row_plan.input and row_plan.key not in raw_row:
                    row[row_plan.key] = row_plan.default
                    if row_plan.default_expr is not None:
                        self.pending_rows.append((plan, i, row_plan))
            rows.append(row)
        return rows

    def row_defaults(self) -> None:
        """`default_expr` of new row values, once parent and row values are native."""
        for sub, i, plan in self.pending_rows:
            row_native = self.native[sub.key][i]
            path = f"{sub.key}[{i}].{plan.key}"
            value = self.evaluate(plan.default_expr, {**self.native, **row_native}, path,
                                  sub.key)
            stored = self.from_native(plan, value, path, sub.key)
            self.data[sub.key][i][plan.key] = stored
            row_native[plan.key] = self.native_of(plan, stored)

    def from_native(self, plan: FieldPlan, value: Any, path: str, top: str) -> Any:
        """An expression's native value → the field's stored JSON, checked."""
        if value is None:
            return None
        return self.normalise(plan, to_json(value, plan.expr_type), path, top)

    def set(self, plan: FieldPlan, stored: Any) -> None:
        self.data[plan.key] = stored
        self.native[plan.key] = self.native_of(plan, stored)

    def defaults(self) -> None:
        for plan in self.form.plans:
            if not plan.input or plan.key in self.submission or plan.rows is not None:
                continue
            if plan.default is not None:
                self.set(plan, plan.default)
            elif plan.default_expr is not None:
                value = self.evaluate(plan.default_expr, self.native, plan.key, plan.key)
                self.set(plan, self.from_native(plan, value, plan.key, plan.key))
            elif plan.linkage is not None:
                self.set(plan, self.linked(plan, plan.linkage))

    def linked(self, plan: FieldPlan, link: LinkagePlan) -> Any:
        if self.source is None:
            return None
        found = self.source.first(link.form, link.where, self.native)
        if found is None:
            return None
        return self.normalise(plan, found.get(link.field), plan.key, plan.key)

    def read_only(self) -> None:
        if self.trusted:
            return  # read-only is for people: rules and flows write what they say
        before = self.native if self.creating else self.old_native
        for plan in self.form.plans:
            if not plan.input or plan.key not in self.submission:
                continue
            locked = plan.read_only or (plan.read_only_when is not None and self.evaluate(
                plan.read_only_when, before, plan.key, plan.key) is True)
            if not locked:
                continue
            self.set(plan, plan.default if self.creating else self.old_value(plan))
            self.issues = [i for i in self.issues if i[0] != plan.key]
        for key, guarded in self.form.row_read_only.items():
            if key in self.submission:
                self.read_only_rows(self.form.by_key[key], guarded)

    def read_only_rows(self, plan: FieldPlan, guarded: tuple[FieldPlan, ...]) -> None:
        """Read-only columns: a row that names an old row by `_id` keeps that row's
        value (judged on the old row), a new row gets the column's default."""
        if plan.rows is None:
            return
        old_rows = {r["_id"]: r for r in self.old_value(plan) if r.get("_id")}
        natives = self.native.get(plan.key) or []
        for i, (row, row_native) in enumerate(zip(self.data.get(plan.key) or [], natives,
                                                  strict=True)):
            old_row = old_rows.get(row.get("_id")) if row.get("_id") else None
            before = {**self.old_native, **self.natives(plan.rows.fields, old_row)} \
                if old_row is not None else {**self.native, **row_native}
            for column in guarded:
                path = f"{plan.key}[{i}].{column.key}"
                if not column.read_only and self.evaluate(
                        column.read_only_when, before, path, plan.key) is not True:
                    continue
                value = old_row.get(column.key) if old_row is not None else column.default
                row[column.key] = value
                row_native[column.key] = self.native_of(column, value)
                self.issues = [i for i in self.issues if i[1] != path]

    def lookups(self) -> None:
        if self.source is None:
            return
        for plan in self.form.plans:
            if plan.type == "lookup" and plan.stores:
                self.set(plan, self.copy_lookup(plan, self.form.by_key, self.data))
            elif plan.rows is not None and self.form.row_lookups.get(plan.key):
                for row in self.data.get(plan.key) or []:
                    for row_plan in self.form.row_lookups[plan.key]:
                        row[row_plan.key] = self.copy_lookup(row_plan, plan.rows.by_key, row)
                self.native[plan.key] = self.native_of(plan, self.data.get(plan.key))

    def copy_lookup(self, plan: FieldPlan, siblings: Mapping[str, FieldPlan],
                    data: Mapping[str, Any]) -> Any:
        spec: Any = plan.spec
        relation: Any = siblings[spec.through].spec
        ids = data.get(spec.through)
        if ids is None or self.source is None:
            return None
        values = []
        for record_id in ids if isinstance(ids, list) else [ids]:
            found = self.source.get(relation.form, record_id)
            values.append(found.get(spec.field) if found is not None else None)
        return values if isinstance(ids, list) else values[0]

    def formulas(self) -> None:
        native = self.native
        for step in self.form.formula_steps:
            plan = step.plan
            if step.kind == "top":
                value = self.evaluate(plan.formula, native, plan.key, plan.key)
                self.set(plan, self.formula_value(plan, value, plan.key, plan.key))
                continue
            sub = step.subform
            if sub is None:
                continue
            rows = self.data.get(sub.key) or []
            native_rows = native.get(sub.key) or []
            for i, (row, row_native) in enumerate(zip(rows, native_rows, strict=True)):
                path = f"{sub.key}[{i}].{plan.key}"
                value = self.evaluate(plan.formula, {**native, **row_native}, path, sub.key)
                row[plan.key] = self.formula_value(plan, value, path, sub.key)
                row_native[plan.key] = self.native_of(plan, row[plan.key])

    def formula_value(self, plan: FieldPlan, value: Any, path: str, top: str) -> Any:
        if value is None or plan.formula_out is None:
            return None
        try:
            return plan.formula_out(value)
        except (ValueError, TypeError, ArithmeticError, ExprError, Invalid):
            self.issue(top, path, "formula_type", {
                "zh": "公式结果的类型不正确", "en": "The formula gave a value of the wrong type"})
            return None

    def visibility(self) -> bool:
        """Clear hidden values; True when something was cleared."""
        cleared = False
        for plan in self.form.conditional:
            if plan.rows is None and plan.visible_when is not None and self.evaluate(
                    plan.visible_when, self.native, plan.key, plan.key) is not True:
                self.hidden.add(plan.key)
                if not plan.keep_hidden and self.data.get(plan.key) is not None:
                    self.set(plan, None)
                    cleared = True
            elif plan.visible_when is not None and plan.rows is not None and self.evaluate(
                    plan.visible_when, self.native, plan.key, plan.key) is not True:
                self.hidden.add(plan.key)
                if not plan.keep_hidden and self.data.get(plan.key):
                    self.set(plan, [])
                    cleared = True
        for sub, row_plans in self.form.row_conditional.items():
            if sub in self.hidden:
                continue
            for i, row_native in enumerate(self.native.get(sub) or []):
                values = {**self.native, **row_native}
                for plan in row_plans:
                    if self.evaluate(plan.visible_when, values, f"{sub}[{i}].{plan.key}",
                                     sub) is not True:
                        self.hidden.add(f"{sub}[{i}].{plan.key}")
                        row = self.data[sub][i]
                        if not plan.keep_hidden and row.get(plan.key) is not None:
                            row[plan.key] = None
                            row_native[plan.key] = None
                            cleared = True
        return cleared
