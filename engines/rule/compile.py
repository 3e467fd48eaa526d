"""Compile rule specs against the app's forms: every problem at once, each located.

A rule is refused when it names a form, field, flow or channel that does not exist,
writes a field that is computed, has an expression that does not compile (or gives
the wrong type), uses a template placeholder that is not a field, or takes part in an
unmarked loop with other rules (`engines.rule.cycles`). Problems carry the rule key
and the JSON path inside `rules/<key>.json`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engines.expr import Compiled, ExprError, Field, Scope, T, compile_expr, to_native
from engines.form.spec import FormSpec
from engines.rule.compiled import CompiledRule
from engines.rule.cycles import cycle_problems
from engines.rule.forms import FormInfo, form_infos, formula_dependents
from engines.rule.problems import RuleInvalidError, RuleProblem, problem
from engines.rule.related import rewrite_targets, target_name
from engines.rule.ruleset import RuleSet
from engines.rule.spec import (
    AssignAction,
    CallWebhookAction,
    CreateRecordAction,
    CreateTaskAction,
    DateTrigger,
    FieldChangedTrigger,
    FlowTrigger,
    NotifyAction,
    RecipientSpec,
    RejectAction,
    RuleSpec,
    SetFieldsAction,
    StartFlowAction,
    UpdatedTrigger,
    UpdateRelatedAction,
)
from engines.rule.templates import label_texts, placeholders

BUILTIN_CHANNELS = frozenset({"inbox", "email", "webhook", "dingtalk", "wecom"})
PERSONAL_CHANNELS = frozenset({"inbox", "email"})
"""Channels that deliver to people, so a notify action using them needs `to`."""

_LOOSE = (T.ANY, T.LIST, T.SUBFORM, T.RECORD)


WRITE_TRIGGERS = frozenset({"created", "updated", "field_changed", "deleted"})


class _Checker:
    """Compiles one rule, collecting problems instead of stopping at the first."""

    def __init__(self, spec: RuleSpec, form: FormInfo, forms: Mapping[str, FormInfo],
                 flows: Collection[str] | None, channels: Collection[str]) -> None:
        self.spec, self.form, self.forms = spec, form, forms
        self.flows, self.channels = flows, channels
        self.problems: list[RuleProblem] = []
        self.exprs: dict[str, Compiled] = {}
        self.targets: dict[str, frozenset[str]] = {}
        self.others = {k: dict(f.fields) for k, f in forms.items()}
        self.scope = Scope(fields=dict(form.fields), forms=self.others)

    def add(self, path: str, code: str, zh: str, en: str) -> None:
        self.problems.append(problem(self.spec.key, path, code, zh, en))

    def expr(self, path: str, source: str, expect: T | None = None,
             scope: Scope | None = None) -> Compiled | None:
        try:
            compiled = compile_expr(source, scope or self.scope, expect)
        except ExprError as exc:
            where = f"（第 {exc.line} 行第 {exc.column} 列）" if exc.line else ""
            where_en = f" (line {exc.line}, column {exc.column})" if exc.line else ""
            self.add(path, exc.code, exc.message["zh"] + where, exc.message["en"] + where_en)
            return None
        self.exprs[path] = compiled
        return compiled

    def field(self, path: str, key: str, form: FormInfo | None = None) -> Field | None:
        form = form or self.form
        found = form.field_of(key)
        if found is None:
            self.add(path, "unknown_field", f"表单 {form.key} 没有字段 {key}",
                     f"form {form.key} has no field {key}")
        return found

    def writable(self, path: str, key: str, form: FormInfo) -> Field | None:
        found = self.field(path, key, form)
        if found is not None and key not in form.writable:
            self.add(path, "read_only_field", f"字段 {key} 是计算或系统字段，规则不能写入",
                     f"field {key} is computed or a system field; rules cannot write it")
            return None
        return found

    def values(self, path: str, values: Mapping[str, str], target: FormInfo) -> None:
        for key, source in values.items():
            fld = self.writable(f"{path}.{key}", key, target)
            expect = fld.type if fld is not None and fld.type not in _LOOSE else None
            self.expr(f"{path}.{key}", source, expect)

    def template(self, path: str, label: Any) -> None:
        for lang, text in label_texts(label).items():
            for name in placeholders(text):
                if not self.form.has(name):
                    self.add(path, "unknown_placeholder",
                             f"模板中的 {{{name}}} 不是表单 {self.form.key} 的字段（{lang}）",
                             f"{{{name}}} in the template is not a field of form "
                             f"{self.form.key} ({lang})")

    def recipients(self, path: str, specs: Sequence[RecipientSpec]) -> None:
        for i, spec in enumerate(specs):
            if spec.kind == "field" and self.field(f"{path}[{i}].field", spec.field):
                if not (self.form.holds_users(spec.field)
                        or self.form.holds_departments(spec.field)
                        or self.form.kinds.get(spec.field) == "email"):
                    self.add(f"{path}[{i}].field", "not_a_recipient",
                             f"字段 {spec.field} 不是成员、部门或邮箱字段，不能作为收件人",
                             f"field {spec.field} holds no user, department or email "
                             f"address, so it cannot name recipients")
            elif spec.kind == "expr":
                self.expr(f"{path}[{i}].expr", spec.expr)
            elif spec.kind == "department_head" and spec.of != "initiator":
                self.person_field(f"{path}[{i}].of", spec.of)

    def person_field(self, path: str, key: str, *, writable: bool = False) -> bool:
        """`key` must be a field of the rule's form holding users (and, to be assigned,
        one that rules can write)."""
        found = self.writable(path, key, self.form) if writable else self.field(path, key)
        if found is None:
            return False
        if not self.form.holds_users(key):
            self.add(path, "not_a_user_field", f"字段 {key} 不是成员字段",
                     f"field {key} does not hold a user")
            return False
        return True

    def target(self, path: str, key: str) -> FormInfo | None:
        found = self.forms.get(key)
        if found is None:
            self.add(path, "unknown_form", f"应用中没有表单 {key}", f"the app has no form {key}")
        return found

    def flow(self, path: str, key: str) -> None:
        if self.flows is not None and key not in self.flows:
            self.add(path, "unknown_flow", f"应用中没有流程 {key}", f"the app has no flow {key}")

    # ------------------------------------------------------------------ parts
    def trigger(self) -> None:
        trigger = self.spec.trigger
        if isinstance(trigger, UpdatedTrigger):
            for i, key in enumerate(trigger.fields):
                self.field(f"trigger.fields[{i}]", key)
        elif isinstance(trigger, FieldChangedTrigger):
            fld = self.field("trigger.field", trigger.field)
            for name, given, value in (("from", trigger.has_from, trigger.from_),
                                       ("to", trigger.has_to, trigger.to)):
                if fld is not None and given:
                    self.change_value(f"trigger.{name}", trigger.field, fld, value)
        elif isinstance(trigger, DateTrigger):
            fld = self.field("trigger.field", trigger.field)
            if fld is not None and fld.type not in (T.DATE, T.DATETIME, T.ANY):
                self.add("trigger.field", "not_a_date", f"字段 {trigger.field} 不是日期或时间",
                         f"field {trigger.field} is not a date or a date-time")
        elif isinstance(trigger, FlowTrigger):
            self.flow("trigger.flow", trigger.flow)

    def change_value(self, path: str, key: str, fld: Field, value: Any) -> None:
        options = self.form.options.get(key)
        if value is not None and options is not None and value not in options:
            self.add(path, "unknown_option", f"{value!r} 不是字段 {key} 的选项",
                     f"{value!r} is not an option of field {key}")
            return
        if fld.type not in _LOOSE:
            try:
                to_native(value, fld.type)
            except ExprError as exc:
                self.add(path, "bad_value", exc.message["zh"], exc.message["en"])

    def actions(self) -> None:
        for i, action in enumerate(self.spec.actions):
            path = f"actions[{i}]"
            if self.spec.trigger.kind == "deleted" and action.kind in (
                    "set_fields", "tag", "flag", "assign"):
                self.add(f"{path}.kind", "deleted_record",
                         "记录已删除，不能再修改它", "the record is deleted; it cannot be changed")
            if isinstance(action, NotifyAction):
                self.notify(path, action)
            elif isinstance(action, SetFieldsAction):
                self.values(f"{path}.values", action.values, self.form)
            elif isinstance(action, CreateRecordAction):
                target = self.target(f"{path}.form", action.form)
                if target is not None:
                    self.values(f"{path}.values", action.values, target)
            elif isinstance(action, UpdateRelatedAction):
                self.update_related(path, action)
            elif isinstance(action, AssignAction):
                self.assign(path, action)
            elif isinstance(action, StartFlowAction):
                self.flow(f"{path}.flow", action.flow)
            elif isinstance(action, CreateTaskAction):
                self.template(f"{path}.title", action.title)
                if action.description is not None:
                    self.template(f"{path}.description", action.description)
                self.recipients(f"{path}.to", action.to)
                if action.due is not None:
                    self.expr(f"{path}.due", action.due, T.DATETIME)
            elif isinstance(action, CallWebhookAction) and action.payload:
                for key, source in action.payload.items():
                    self.expr(f"{path}.payload.{key}", source)
            elif isinstance(action, RejectAction):
                self.template(f"{path}.message", action.message)
                if self.spec.trigger.kind not in WRITE_TRIGGERS:
                    self.add(f"{path}.kind", "reject_needs_write",
                             "只有记录新增、修改、删除触发的规则才能拒绝写入",
                             "only rules fired by a record being created, updated or deleted "
                             "can reject the write")

    def notify(self, path: str, action: NotifyAction) -> None:
        for j, channel in enumerate(action.channels):
            if channel not in self.channels:
                self.add(f"{path}.channels[{j}]", "unknown_channel",
                         f"没有名为 {channel} 的通知渠道", f"there is no channel named {channel}")
        if not action.to and PERSONAL_CHANNELS & set(action.channels):
            self.add(f"{path}.to", "no_recipients", "站内信和邮件需要收件人（to）",
                     "inbox and email messages need recipients (to)")
        self.template(f"{path}.message", action.message)
        if action.subject is not None:
            self.template(f"{path}.subject", action.subject)
        self.recipients(f"{path}.to", action.to)

    def update_related(self, path: str, action: UpdateRelatedAction) -> None:
        target = self.target(f"{path}.form", action.form)
        if target is None:
            return
        forward = self.form.relations.get(action.relation) == action.form
        backward = target.relations.get(action.relation) == self.spec.form
        if not forward and not backward:
            self.add(f"{path}.relation", "not_a_relation",
                     f"{action.relation} 不是连接 {self.spec.form} 与 {action.form} 的关联字段",
                     f"{action.relation} is not a relation field linking {self.spec.form} "
                     f"and {action.form}")
        if action.where is not None:
            self.expr(f"{path}.where", action.where, T.BOOLEAN,
                      Scope(fields=dict(target.fields), forms=self.others))
        for key, source in action.values.items():
            fld = self.writable(f"{path}.values.{key}", key, target)
            expect = fld.type if fld is not None and fld.type not in _LOOSE else None
            self.related_value(f"{path}.values.{key}", source, expect, target)

    def related_value(self, path: str, source: str, expect: T | None,
                      target: FormInfo) -> None:
        """A value over the triggering record that may read the related one (`target.x`)."""
        rewritten, refs = rewrite_targets(source)
        if not refs:
            self.expr(path, source, expect)
            return
        names: dict[str, T] = {}
        for ref in refs:
            fld = target.field_of(ref.field)
            if fld is None:
                where = f"（第 {ref.line} 行第 {ref.column} 列）"
                where_en = f" (line {ref.line}, column {ref.column})"
                self.add(path, "unknown_field",
                         f"相关表单 {target.key} 没有字段 {ref.field}{where}",
                         f"the related form {target.key} has no field {ref.field}{where_en}")
                continue
            name = target_name(ref.field)
            if self.form.field_of(name) is not None:
                self.add(path, "ambiguous_target",
                         f"表单 {self.form.key} 有字段 {name}，与 target.{ref.field} 冲突",
                         f"form {self.form.key} has a field {name}, which target.{ref.field} "
                         f"would be confused with")
                continue
            names[name] = fld.type
        if len(names) != len({r.field for r in refs}):
            return
        scope = Scope(fields=dict(self.form.fields), forms=self.others, names=names)
        if self.expr(path, rewritten, expect, scope) is not None:
            self.targets[path] = frozenset(r.field for r in refs)

    def assign(self, path: str, action: AssignAction) -> None:
        if self.person_field(f"{path}.field", action.field, writable=True) and \
                self.form.kinds.get(action.field, "user") != "user":
            self.add(f"{path}.field", "not_a_user_field",
                     f"只能分配到成员字段，{action.field} 不是",
                     f"only a user field can be assigned; {action.field} is not one")
        pool = action.pool
        if not (pool.role or pool.department or pool.department_expr or pool.users):
            self.add(f"{path}.pool", "empty_pool",
                     "轮询范围至少需要 role、department、department_expr 或 users 之一",
                     "a pool needs at least one of role, department, department_expr or users")
        if pool.department and pool.department_expr:
            self.add(f"{path}.pool", "department_twice",
                     "department 与 department_expr 只能二选一",
                     "give either department or department_expr, not both")
        if pool.department_expr:
            self.expr(f"{path}.pool.department_expr", pool.department_expr, T.TEXT)
        if action.open_when is not None:
            if action.strategy != "least_open":
                self.add(f"{path}.open_when", "open_when_unused",
                         "open_when 只用于 least_open（最少未结记录）分配",
                         "open_when is only used by the least_open strategy")
            else:
                self.expr(f"{path}.open_when", action.open_when, T.BOOLEAN)
        if action.field in action.values:
            self.add(f"{path}.values.{action.field}", "assigned_field_in_values",
                     f"字段 {action.field} 由分配写入，不能同时在 values 中设置",
                     f"field {action.field} is written by the assignment; it cannot be in "
                     f"values too")
        self.values(f"{path}.values", action.values, self.form)

    def run(self) -> CompiledRule | None:
        self.trigger()
        condition = self.expr("when", self.spec.when, T.BOOLEAN) if self.spec.when else None
        once = self.expr("once_per", self.spec.once_per) if self.spec.once_per else None
        if self.spec.once_scope == "rule" and not self.spec.once_per:
            self.add("once_scope", "once_scope_without_once_per",
                     "once_scope 为 rule 时须设置 once_per（否则整条规则只会触发一次）",
                     "once_scope \"rule\" needs once_per (otherwise the whole rule would "
                     "fire only once, for one record)")
        self.exprs.pop("when", None)
        self.exprs.pop("once_per", None)
        self.actions()
        if self.problems:
            return None
        return CompiledRule(self.spec, self.form, self.forms, condition, once, dict(self.exprs),
                            dict(self.targets))


@dataclass(frozen=True)
class AppRules:
    """Every rule of an app, compiled: one `RuleSet` per form, plus lookup by key."""

    rules: Mapping[str, CompiledRule]
    by_form: Mapping[str, RuleSet]

    def for_form(self, form: str) -> RuleSet:
        return self.by_form.get(form) or RuleSet(form, ())


def _infos(forms: Mapping[str, FormSpec] | Mapping[str, FormInfo]) -> dict[str, FormInfo]:
    if all(isinstance(f, FormInfo) for f in forms.values()):
        return {k: f for k, f in forms.items() if isinstance(f, FormInfo)}
    return form_infos({k: f for k, f in forms.items() if isinstance(f, FormSpec)})


def check_rule(spec: RuleSpec, forms: Mapping[str, FormInfo], *,
               flows: Collection[str] | None = None,
               channels: Collection[str] = BUILTIN_CHANNELS,
               ) -> tuple[CompiledRule | None, list[RuleProblem]]:
    """Compile one rule; the problems list is empty exactly when a rule is returned."""
    form = forms.get(spec.form)
    if form is None:
        return None, [problem(spec.key, "form", "unknown_form", f"应用中没有表单 {spec.form}",
                              f"the app has no form {spec.form}")]
    checker = _Checker(spec, form, forms, flows, channels)
    compiled = checker.run()
    return compiled, checker.problems


def compile_rule(spec: RuleSpec, forms: Mapping[str, FormSpec] | Mapping[str, FormInfo], *,
                 flows: Collection[str] | None = None,
                 channels: Collection[str] = BUILTIN_CHANNELS) -> CompiledRule:
    """One rule, compiled; raises RuleInvalidError listing every problem."""
    compiled, problems = check_rule(spec, _infos(forms), flows=flows, channels=channels)
    if compiled is None:
        raise RuleInvalidError(problems)
    return compiled


def compile_rules(specs: Iterable[RuleSpec],
                  forms: Mapping[str, FormSpec] | Mapping[str, FormInfo], *,
                  flows: Collection[str] | None = None,
                  channels: Collection[str] = BUILTIN_CHANNELS,
                  dependents: Mapping[str, Mapping[str, frozenset[str]]] | None = None,
                  ) -> AppRules:
    """Every rule of an app, and the loops between them; raises RuleInvalidError.

    `dependents[form][field]` are the formula fields that change with `field`, so loops
    through formulas are found too; computed from the form specs when not given.
    """
    specs = list(specs)
    infos = _infos(forms)
    if dependents is None:
        dependents = {k: formula_dependents(f) for k, f in forms.items()
                      if isinstance(f, FormSpec)}
    problems: list[RuleProblem] = []
    seen: set[str] = set()
    compiled: dict[str, CompiledRule] = {}
    for spec in specs:
        if spec.key in seen:
            problems.append(problem(spec.key, "key", "duplicate_key",
                                    f"规则 {spec.key} 重复", f"rule {spec.key} is defined twice"))
            continue
        seen.add(spec.key)
        rule, found = check_rule(spec, infos, flows=flows, channels=channels)
        problems += found
        if rule is not None:
            compiled[spec.key] = rule
    problems += cycle_problems(specs, dependents)
    if problems:
        raise RuleInvalidError(problems)
    grouped: dict[str, list[CompiledRule]] = {}
    for rule in compiled.values():
        grouped.setdefault(rule.spec.form, []).append(rule)
    return AppRules(compiled, {form: RuleSet(form, tuple(rules))
                               for form, rules in grouped.items()})
