"""The rules of one form, in order, applied to an event: which fire, with what effects.

Order: ascending `priority` (10 runs before 100, as ServiceNow's `order` and
Salesforce's trigger order), then rule key, so the order never depends on file order.
A rule with `stop: true` that fires ends the evaluation for that event.

A rule that fails while evaluating (a division by zero in a value, an aggregate the
environment cannot answer) does not stop the others and does not raise: it comes back
as a `Firing` with `error` set and no effects, so runtime logs it and the write that
fired it still commits (issue 5, "bad input").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engines.expr import Env, ExprError
from engines.rule.actions import effects_of
from engines.rule.compiled import Claim, CompiledRule
from engines.rule.effects import RuleEffect
from engines.rule.events import Event, RecordEvent
from engines.rule.spec import DateTrigger, FieldChangedTrigger, UpdatedTrigger
from engines.rule.timing import is_due

EVALUATION_ERRORS = (ExprError, ArithmeticError, TypeError, ValueError, LookupError)
"""What a bad value at run time raises; anything else is a bug and propagates."""


@dataclass(frozen=True, slots=True)
class Firing:
    rule: str
    form: str
    record_id: str
    trigger: str
    effects: tuple[RuleEffect, ...] = ()
    claim: Claim | None = None
    depth: int = 0
    error: dict[str, Any] | None = None
    allow_repeat: bool = False
    """The rule is marked allow_cycle: the cascade guard lets it act again in a chain."""

    @property
    def ok(self) -> bool:
        return self.error is None


def _error(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, ExprError):
        return {"code": exc.code, "message": exc.message, "expression": exc.source}
    text = f"{type(exc).__name__}: {exc}"
    return {"code": "evaluation_failed", "message": {"zh": f"规则执行出错：{text}", "en": text}}


def fire(rule: CompiledRule, values: Mapping[str, Any], env: Env, *, trigger: str,
         depth: int = 0, check_condition: bool = True) -> Firing | None:
    """Evaluate one rule for one record: None when the condition does not hold.

    `check_condition=False` is for scheduled rules whose condition runtime has already
    applied in SQL over the candidates.
    """
    record_id = str(values.get("id", ""))
    try:
        if check_condition and not rule.condition_holds(values, env):
            return None
        claim = rule.claim(values, env)
        effects = effects_of(rule, values, env)
    except EVALUATION_ERRORS as exc:
        return Firing(rule.key, rule.spec.form, record_id, trigger, depth=depth,
                      error=_error(exc), allow_repeat=rule.spec.allow_cycle)
    return Firing(rule.key, rule.spec.form, record_id, trigger, effects, claim, depth,
                  allow_repeat=rule.spec.allow_cycle)


@dataclass(frozen=True)
class RuleSet:
    """A form's rules in firing order, indexed by what can fire them.

    Why an index: a write asks "which rules may this event fire?" on every save, and a
    form may carry dozens of rules of which one or two care. Created, deleted and flow
    events look their rules up by kind; an update looks up each changed field (the
    watched fields of `updated` and `field_changed` triggers), so a save that changes
    `title` costs nothing for the 18 rules watching other fields.
    """

    form: str
    rules: tuple[CompiledRule, ...]
    _ordered: tuple[CompiledRule, ...] = field(init=False, repr=False)
    _events: tuple[CompiledRule, ...] = field(init=False, repr=False)
    _on_kind: Mapping[str, tuple[CompiledRule, ...]] = field(init=False, repr=False)
    _on_field: Mapping[str, tuple[CompiledRule, ...]] = field(init=False, repr=False)
    _rank: Mapping[CompiledRule, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.rules, key=lambda r: (r.priority, r.key)))
        events = tuple(r for r in ordered if not r.spec.is_timed and r.spec.enabled)
        on_kind: dict[str, list[CompiledRule]] = {}
        on_field: dict[str, list[CompiledRule]] = {}
        for rule in events:
            trigger = rule.spec.trigger
            on_kind.setdefault(trigger.kind, []).append(rule)
            watched: Iterable[str] = ()
            if isinstance(trigger, UpdatedTrigger):
                watched = trigger.fields or rule.form.fields
            elif isinstance(trigger, FieldChangedTrigger):
                watched = (trigger.field,)
            for key in dict.fromkeys(watched):
                on_field.setdefault(key, []).append(rule)
        object.__setattr__(self, "_ordered", ordered)
        object.__setattr__(self, "_events", events)
        object.__setattr__(self, "_on_kind", {k: tuple(v) for k, v in on_kind.items()})
        object.__setattr__(self, "_on_field", {k: tuple(v) for k, v in on_field.items()})
        object.__setattr__(self, "_rank", {r: i for i, r in enumerate(ordered)})

    @property
    def ordered(self) -> tuple[CompiledRule, ...]:
        return self._ordered

    @property
    def event_rules(self) -> tuple[CompiledRule, ...]:
        return self._events

    @property
    def timed_rules(self) -> tuple[CompiledRule, ...]:
        return tuple(r for r in self._ordered if r.spec.is_timed and r.spec.enabled)

    def candidates(self, kind: str, changed: Collection[str] = ()) -> tuple[CompiledRule, ...]:
        """The enabled event rules an event of `kind` ("created", "updated", "deleted",
        "flow") may fire, in firing order.

        For updates, `changed` names the fields that changed; a superset is fine (runtime
        passes the keys whose stored JSON differs, before converting anything), since
        `CompiledRule.trigger_matches` still decides each candidate exactly (from/to
        values, native comparison).
        """
        if kind != "updated":
            return self._on_kind.get(kind, ())
        hits: set[CompiledRule] = set()
        for key in changed:
            found = self._on_field.get(key)
            if found:
                hits.update(found)
        if len(hits) <= 1:
            return tuple(hits)
        return tuple(sorted(hits, key=self._rank.__getitem__))

    def fire(self, event: Event, env: Env, candidates: Iterable[CompiledRule] | None = None,
             *, matched: bool = False) -> list[Firing]:
        """The firings (and failures) of this form's event rules for `event`.

        `candidates` (in firing order) is what the caller has already narrowed the
        rules to with `candidates`; by default they are looked up here. `matched` says
        the caller has also checked each one's `trigger_matches` for this event.
        """
        old = event.old if isinstance(event, RecordEvent) else None
        trigger = event.kind if isinstance(event, RecordEvent) else f"flow:{event.event}"
        changed: frozenset[str] = frozenset()
        if not matched and isinstance(event, RecordEvent):
            changed = event.changed()
        if candidates is None:
            candidates = self.candidates(event.kind if isinstance(event, RecordEvent)
                                         else "flow", changed)
        values: dict[str, Any] | None = None
        out: list[Firing] = []
        for rule in candidates:
            if not matched and not rule.trigger_matches(event, changed):
                continue
            if values is None:
                values = rule.scope_values(event.record, old)
            firing = fire(rule, values, env, trigger=trigger, depth=event.depth)
            if firing is None:
                continue
            out.append(firing)
            if rule.spec.stop and firing.ok:
                break
        return out


def fire_scheduled(rule: CompiledRule, records: Iterable[Mapping[str, Any]], env: Env, *,
                   since: datetime | None = None,
                   condition_checked: bool = False) -> list[Firing]:
    """Firings of a schedule or date rule over candidate records (a tick's batch).

    For a date rule, records whose due instant is not in `(since, env.now()]` are
    skipped (`timing.field_window` may hand over a few more than that).
    """
    trigger = rule.spec.trigger
    now = env.now()
    out = []
    for record in records:
        if isinstance(trigger, DateTrigger) and not is_due(
                trigger, record.get(trigger.field), env.tz, since, now):
            continue
        firing = fire(rule, rule.scope_values(record), env, trigger=trigger.kind,
                      check_condition=not condition_checked)
        if firing is not None:
            out.append(firing)
    return out
