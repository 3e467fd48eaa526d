"""A firing's actions turned into effects, in the order written.

Values are computed here, from the triggering record, and handed over as stored JSON
(money as a decimal string, ISO dates), so effects can be queued as jobs, shown by a
dry run and compared in tests as they are. Recipients that depend on the record (a
field holding the owner, an expression) are resolved here too; roles and departments
are left for runtime, which knows who holds them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from engines.effects import (
    CallWebhook,
    CreateRecord,
    CreateTask,
    Notify,
    Recipient,
    SetFields,
    StartFlow,
    UpdateRecords,
)
from engines.expr import Env, T, to_json
from engines.rule.compiled import CompiledRule
from engines.rule.effects import (
    AssignInTurn,
    FlagRecord,
    RejectWrite,
    RuleEffect,
    TagRecord,
    UpdateEach,
)
from engines.rule.forms import FormInfo
from engines.rule.related import target_name
from engines.rule.spec import (
    ActionSpec,
    AssignAction,
    CallWebhookAction,
    CreateRecordAction,
    CreateTaskAction,
    FlagAction,
    NotifyAction,
    RecipientSpec,
    RejectAction,
    SetFieldsAction,
    StartFlowAction,
    TagAction,
    UpdateRelatedAction,
)
from engines.rule.templates import label_texts, render_label


def _json(value: Any, form: FormInfo | None, key: str) -> Any:
    fld = form.field_of(key) if form is not None else None
    return to_json(value, fld.type if fld is not None else T.ANY)


def _values(rule: CompiledRule, path: str, values: Mapping[str, Any], env: Env, *,
            keys: Iterable[str], target: FormInfo | None) -> dict[str, Any]:
    return {key: _json(rule.exprs[f"{path}.{key}"].evaluate(values, env), target, key)
            for key in keys}


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def recipients(rule: CompiledRule, path: str, specs: list[RecipientSpec],
               values: Mapping[str, Any], env: Env) -> tuple[Recipient, ...]:
    out: list[Recipient] = []
    for i, spec in enumerate(specs):
        if spec.kind == "user":
            out.append(Recipient("user", spec.user))
        elif spec.kind == "role":
            out.append(Recipient("role", spec.role))
        elif spec.kind == "department":
            out.append(Recipient("department", spec.department))
        elif spec.kind == "email":
            out.append(Recipient("email", spec.address))
        elif spec.kind == "department_head":
            if spec.of == "initiator":
                out.append(Recipient("department_head", None, spec.levels))
            else:
                out += [Recipient("department_head", str(v), spec.levels)
                        for v in _as_list(values.get(spec.of))]
        elif spec.kind == "field":
            kind = ("user" if rule.form.holds_users(spec.field) else
                    "department" if rule.form.holds_departments(spec.field) else "email")
            out += [Recipient(kind, str(v)) for v in _as_list(values.get(spec.field))]
        else:
            found = rule.exprs[f"{path}[{i}].expr"].evaluate(values, env)
            out += [Recipient("user", str(v)) for v in _as_list(found)]
    return tuple(dict.fromkeys(out))  # the same person once, order kept


def _literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _related_where(rule: CompiledRule, action: UpdateRelatedAction,
                   values: Mapping[str, Any]) -> str | None:
    """The expression selecting the related records, or None when there are none."""
    if action.relation in rule.form.relations and \
            rule.form.relations[action.relation] == action.form:
        ids = [str(v) for v in _as_list(values.get(action.relation))]
        if not ids:
            return None
        match = f"id == {_literal(ids[0])}" if len(ids) == 1 else f"id in {_literal(ids)}"
    else:
        target = rule.forms[action.form]
        own_id = _literal(str(values.get("id", "")))
        multiple = target.fields[action.relation].type is T.LIST
        match = f"{own_id} in {action.relation}" if multiple else \
            f"{action.relation} == {own_id}"
    return f"({match}) and ({action.where})" if action.where else match


def _due(value: Any, env: Env) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, date):  # a due date means the end of that day, locally
        return datetime.combine(value, time(23, 59, 59), tzinfo=env.tz).astimezone(UTC)
    return None


def effect_of(rule: CompiledRule, index: int, action: ActionSpec,
              values: Mapping[str, Any], env: Env) -> RuleEffect | None:
    """One action's effect (None when it has nothing to act on)."""
    path = f"actions[{index}]"
    form, record_id = rule.spec.form, str(values.get("id", "")) or None
    tz = env.tz
    if isinstance(action, NotifyAction):
        return Notify(to=recipients(rule, f"{path}.to", action.to, values, env),
                      message=render_label(action.message, values, tz),
                      channels=tuple(action.channels),
                      subject=render_label(action.subject, values, tz)
                      if action.subject is not None else None,
                      record_id=record_id, form=form)
    if isinstance(action, SetFieldsAction):
        return SetFields(_values(rule, f"{path}.values", values, env, keys=action.values,
                                 target=rule.form), form=form, record_id=record_id)
    if isinstance(action, CreateRecordAction):
        return CreateRecord(action.form, _values(rule, f"{path}.values", values, env,
                                                 keys=action.values,
                                                 target=rule.forms[action.form]))
    if isinstance(action, UpdateRelatedAction):
        where = _related_where(rule, action, values)
        if where is None:
            return None
        target = rule.forms[action.form]
        each = [k for k in action.values if f"{path}.values.{k}" in rule.targets]
        once = _values(rule, f"{path}.values", values, env, target=target,
                       keys=[k for k in action.values if k not in each])
        if not each:
            return UpdateRecords(action.form, where, once)
        return UpdateEach(rule.key, index, action.form, where, once,
                          _bound(rule, [f"{path}.values.{k}" for k in each], values))
    if isinstance(action, AssignAction):
        return _assign(rule, path, action, values, env, record_id)
    if isinstance(action, StartFlowAction):
        return StartFlow(action.flow, record_id=record_id, form=form)
    if isinstance(action, CreateTaskAction):
        due = rule.exprs[f"{path}.due"].evaluate(values, env) if action.due else None
        data: dict[str, Any] = {"rule": rule.key}
        if action.description is not None:
            data["description"] = render_label(action.description, values, tz)
        return CreateTask(title=render_label(action.title, values, tz),
                          assignees=recipients(rule, f"{path}.to", action.to, values, env),
                          record_id=record_id, form=form, due=_due(due, env), data=data)
    if isinstance(action, TagAction):
        return TagRecord(form, record_id, tuple(action.tags), action.remove)
    if isinstance(action, FlagAction):
        return FlagRecord(form, record_id, action.flag, action.on, action.color,
                          label_texts(action.note) if action.note is not None else None)
    if isinstance(action, CallWebhookAction):
        if action.payload is None:
            payload: dict[str, Any] = {
                "rule": rule.key, "form": form, "record_id": record_id,
                "record": {k: _json(v, rule.form, k) for k, v in values.items() if k != "old"}}
        else:
            payload = {k: to_json(rule.exprs[f"{path}.payload.{k}"].evaluate(values, env),
                                  T.ANY) for k in action.payload}
        return CallWebhook(action.url, payload, secret_ref=action.secret)
    if isinstance(action, RejectAction):
        return RejectWrite(rule.key, render_label(action.message, values, tz))
    raise AssertionError(f"unhandled action {action.kind}")


def _bound(rule: CompiledRule, paths: list[str],
           values: Mapping[str, Any]) -> dict[str, Any]:
    """The triggering record's values that per-target expressions read (and `old`)."""
    targets = {target_name(f) for p in paths for f in rule.targets[p]}
    names: set[str] = set()
    for p in paths:
        names |= rule.exprs[p].names - targets
    out = {k: values[k] for k in sorted(names) if k in values}
    if "old" in values and any("old." in rule.exprs[p].source for p in paths):
        out["old"] = values["old"]
    return out


def related_values(rule: CompiledRule, index: int, bound: Mapping[str, Any],
                   target: Mapping[str, Any], env: Env) -> dict[str, Any]:
    """The per-record values of an `UpdateEach`: its expressions over the triggering
    record's `bound` values and this related record (`target`, native values)."""
    action = rule.spec.actions[index]
    if not isinstance(action, UpdateRelatedAction):
        raise TypeError(f"action {index} of rule {rule.key} is not an update_related")
    path = f"actions[{index}].values"
    form = rule.forms[action.form]
    out: dict[str, Any] = {}
    for key in action.values:
        read = rule.targets.get(f"{path}.{key}")
        if read is None:
            continue
        scope = {**bound, **{target_name(f): target.get(f) for f in read}}
        out[key] = _json(rule.exprs[f"{path}.{key}"].evaluate(scope, env), form, key)
    return out


def _assign(rule: CompiledRule, path: str, action: AssignAction,
            values: Mapping[str, Any], env: Env, record_id: str | None) -> AssignInTurn | None:
    pool = action.pool
    department = pool.department
    if pool.department_expr is not None:
        found = rule.exprs[f"{path}.pool.department_expr"].evaluate(values, env)
        if found is None or str(found).strip() == "":
            return None  # nobody to take turns: the record is left as it is
        department = str(found)
    return AssignInTurn(
        rule=rule.key, form=rule.spec.form, record_id=record_id, field=action.field,
        role=pool.role, department=department, subdepartments=pool.subdepartments,
        users=tuple(sorted(set(pool.users))) if pool.users is not None else None,
        strategy=action.strategy, open_when=action.open_when,
        values=_values(rule, f"{path}.values", values, env, keys=action.values,
                       target=rule.form))


def effects_of(rule: CompiledRule, values: Mapping[str, Any],
               env: Env) -> tuple[RuleEffect, ...]:
    out = (effect_of(rule, i, a, values, env) for i, a in enumerate(rule.spec.actions))
    return tuple(e for e in out if e is not None)
