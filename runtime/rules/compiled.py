"""An app version's rules, compiled once, and records as the rule engine sees them.

A published app version is immutable, so its rules are compiled on first use and
kept with it (keyed by the `CompiledApp` object the registry caches), exactly like
its compiled forms.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from engines.expr import SYSTEM_FIELDS, Field, fields_to_native
from engines.rule.compile import AppRules, compile_rules
from engines.rule.compiled import CompiledRule
from engines.rule.ruleset import RuleSet
from engines.rule.templates import label_texts, placeholders
from runtime.apps.registry import CompiledApp

_MAX = 64
_Entry = tuple[CompiledApp, AppRules, dict[str, tuple[RuleSet, Mapping[str, Field]]]]
_cache: dict[int, _Entry] = {}
_lock = threading.Lock()


def app_rules(capp: CompiledApp) -> AppRules:
    """The compiled rules of this app version (an empty set when it has none)."""
    return _entry(capp)[1]


def event_rules(capp: CompiledApp, form: str) -> tuple[CompiledRule, ...]:
    """The enabled event rules of `form`, in firing order."""
    return form_rules(capp, form)[0].event_rules


def form_rules(capp: CompiledApp, form: str) -> tuple[RuleSet, Mapping[str, Field]]:
    """`form`'s rule set (with its trigger index) and its fields' expression types,
    looked up once per app version and form: every write asks."""
    per_form = _entry(capp)[2]
    found = per_form.get(form)
    if found is None:
        rules = _entry(capp)[1]
        found = per_form[form] = (rules.for_form(form), form_fields(rules, form))
    return found


def _entry(capp: CompiledApp) -> _Entry:
    hit = _cache.get(id(capp))
    if hit is not None and hit[0] is capp:
        return hit
    bundle = capp.bundle
    specs = list(bundle.of("rules").values())
    compiled = compile_rules(cast(Any, specs), cast(Any, dict(bundle.of("forms"))),
                             flows=set(bundle.of("flows")))
    entry: _Entry = (capp, compiled, {})  # holds capp, so its id stays unique while cached
    with _lock:
        if len(_cache) >= _MAX:
            _cache.pop(next(iter(_cache)))
        _cache[id(capp)] = entry
    return entry


def form_fields(rules: AppRules, form: str) -> Mapping[str, Field]:
    """The expression types of a form's fields, from any rule on it (or the first rule
    naming it among the forms the rules know)."""
    for rule in rules.rules.values():
        info = rule.forms.get(form)
        if info is not None:
            return info.fields
    return {}


def _utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def system_values(row: Any) -> dict[str, Any]:
    """The system fields of a `records` row (or a mapping of its columns), as native
    values."""
    m = row if isinstance(row, Mapping) else row._mapping
    out: dict[str, Any] = {"id": str(m["id"])}
    for key in ("owner", "department", "created_by", "updated_by", "version"):
        if key in m:
            out[key] = m[key]
    for key in ("created_at", "updated_at"):
        if key in m:
            out[key] = _utc(m[key])
    return out


def native_record(row: Any, fields: Mapping[str, Field]) -> dict[str, Any]:
    """A `records` row as the rule engine wants it: native field values plus system ones."""
    return {**fields_to_native(dict(row.data or {}), fields), **system_values(row)}


_SYSTEM_NAMES = frozenset(SYSTEM_FIELDS) - {"id"}
_LABELS = ("message", "subject", "title", "description", "note")


@functools.lru_cache(maxsize=4096)  # rules hash by identity; compiled once per version
def reads_system(rule: CompiledRule) -> bool:
    """Does the rule read a system field (owner, created_at, …) beyond `id`? If none of
    the rules an event matches does, the hook skips reading the record's row."""
    names: set[str] = set()
    for expr in (rule.condition, rule.once_per, *rule.exprs.values()):
        if expr is not None:
            names |= expr.names | expr.outer_names
    for action in rule.spec.actions:
        if action.kind == "call_webhook" and getattr(action, "payload", None) is None:
            return True  # the default payload is the whole record
        for attr in _LABELS:
            label = getattr(action, attr, None)
            if label is not None:
                for text in label_texts(label).values():
                    names.update(placeholders(text))
        names.update(r.field for r in getattr(action, "to", ()) if r.kind == "field")
        names.update(r.of for r in getattr(action, "to", ()) if r.kind == "department_head")
    return bool(names & _SYSTEM_NAMES)
