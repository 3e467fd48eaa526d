"""Dry run: what a rule would do now to the given records, writing nothing.

Runtime picks the candidates (for a scheduled rule, the SQL push-down of its
condition; for an event rule, recent records of its form) and passes the claim keys
already taken, so the preview says "already done" where the real tick would skip.
Event rules are previewed as if their event had just happened to each record: the
condition is evaluated on the record as it is now, and a `field_changed` trigger with
`to` requires the current value to be that value (the earlier value is not known).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from engines.expr import Env
from engines.rule.compiled import Claim, CompiledRule
from engines.rule.effects import RuleEffect
from engines.rule.ruleset import fire
from engines.rule.spec import DateTrigger, FieldChangedTrigger
from engines.rule.timing import due_at

Outcome = Literal["fires", "condition_false", "not_due", "already_fired", "error"]


@dataclass(frozen=True, slots=True)
class DryRunItem:
    record_id: str
    outcome: Outcome
    effects: tuple[RuleEffect, ...] = ()
    claim: Claim | None = None
    due_at: datetime | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class DryRunReport:
    rule: str
    items: tuple[DryRunItem, ...]

    @property
    def firing(self) -> tuple[DryRunItem, ...]:
        return tuple(i for i in self.items if i.outcome == "fires")

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            out[item.outcome] = out.get(item.outcome, 0) + 1
        return out


def _due(rule: CompiledRule, record: Mapping[str, Any], env: Env) -> datetime | None:
    trigger = rule.spec.trigger
    if not isinstance(trigger, DateTrigger):
        return None
    value = record.get(trigger.field)
    if not isinstance(value, date):
        return None
    return due_at(trigger, value, env.tz)


def _item(rule: CompiledRule, record: Mapping[str, Any], env: Env,
          claimed: Collection[str]) -> DryRunItem:
    record_id = str(record.get("id", ""))
    trigger = rule.spec.trigger
    due = _due(rule, record, env)
    if isinstance(trigger, DateTrigger) and (due is None or due > env.now()):
        return DryRunItem(record_id, "not_due", due_at=due)
    if isinstance(trigger, FieldChangedTrigger) and trigger.has_to and \
            record.get(trigger.field) != rule.native_value(trigger.field, trigger.to):
        return DryRunItem(record_id, "condition_false")
    firing = fire(rule, rule.scope_values(record), env, trigger=trigger.kind)
    if firing is None:
        return DryRunItem(record_id, "condition_false", due_at=due)
    if firing.error is not None:
        return DryRunItem(record_id, "error", error=firing.error, due_at=due)
    if firing.claim is not None and firing.claim.key in claimed:
        return DryRunItem(record_id, "already_fired", claim=firing.claim, due_at=due)
    return DryRunItem(record_id, "fires", firing.effects, firing.claim, due)


def dry_run(rule: CompiledRule, records: Iterable[Mapping[str, Any]], env: Env, *,
            claimed: Collection[str] = frozenset()) -> DryRunReport:
    """For each record (native values with `id`), what the rule would do at `env.now()`."""
    return DryRunReport(rule.key, tuple(_item(rule, r, env, claimed) for r in records))
