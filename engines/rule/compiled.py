"""A compiled rule: its spec with every expression checked and built once.

`CompiledRule` answers the three questions of a firing, each pure and cheap:
does the trigger match this event (watched fields and `from`/`to` only), does the
condition hold for this record, and what episode is it (for once-per claims).
The effects are built by `engines.rule.actions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engines.expr import Compiled, Env, T, to_json, to_native
from engines.rule.events import Event, FlowEvent, RecordEvent
from engines.rule.forms import FormInfo
from engines.rule.spec import (
    DateTrigger,
    FieldChangedTrigger,
    FlowTrigger,
    RuleSpec,
    UpdatedTrigger,
)
from engines.rule.timing import window_bucket


@dataclass(frozen=True, slots=True)
class Claim:
    """The durable key runtime claims atomically before applying a once-per firing:
    unique (rule, subject, episode). `subject` is the record id, or "*" when the
    episode is shared by every record of the rule (`once_scope: "rule"`)."""

    rule: str
    subject: str
    episode: str

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.subject}:{self.episode}"


@dataclass(frozen=True, eq=False)
class CompiledRule:
    spec: RuleSpec
    form: FormInfo
    forms: Mapping[str, FormInfo]
    condition: Compiled | None
    once_per: Compiled | None
    exprs: Mapping[str, Compiled] = field(default_factory=dict)
    """Every other expression of the rule, by its JSON path (`actions[1].values.title`)."""
    targets: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """update_related values reading the related record: path → its fields read
    (`target.x`, see `engines.rule.related`)."""

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def priority(self) -> int:
        return self.spec.priority

    @property
    def reads(self) -> frozenset[str]:
        """Fields the condition reads (the SQL push-down and indexes care)."""
        return self.condition.names if self.condition is not None else frozenset()

    # ------------------------------------------------------------------ trigger
    def trigger_matches(self, event: Event, changed: frozenset[str] | None = None) -> bool:
        """Does this event fire the trigger? (The condition is checked separately.)

        `changed` is `event.changed()` when the caller has computed it already.
        """
        trigger = self.spec.trigger
        if not self.spec.enabled or event.form != self.spec.form:
            return False
        if isinstance(event, FlowEvent):
            return (isinstance(trigger, FlowTrigger) and trigger.flow == event.flow
                    and trigger.event == event.event
                    and (trigger.node is None or trigger.node == event.node))
        if trigger.kind in ("created", "deleted"):
            return trigger.kind == event.kind
        if event.kind != "updated":
            return False
        if isinstance(trigger, UpdatedTrigger):
            changed = event.changed() if changed is None else changed
            if trigger.fields:
                return bool(changed & set(trigger.fields))
            return bool(changed & set(self.form.fields))
        if isinstance(trigger, FieldChangedTrigger):
            return self._field_changed(trigger, event)
        return False

    def _field_changed(self, trigger: FieldChangedTrigger, event: RecordEvent) -> bool:
        key = trigger.field
        old, new = event.old.get(key), event.record.get(key)
        if old == new:
            return False
        if trigger.has_from and old != self.native_value(key, trigger.from_):
            return False
        return not (trigger.has_to and new != self.native_value(key, trigger.to))

    def native_value(self, key: str, value: Any) -> Any:
        fld = self.form.field_of(key)
        if fld is None or fld.type in (T.ANY, T.LIST, T.SUBFORM, T.RECORD):
            return value
        return to_native(value, fld.type)

    # ---------------------------------------------------------------- condition
    def scope_values(self, record: Mapping[str, Any],
                     old: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The names an expression of this rule sees: the record, and `old` on updates."""
        return {**record, "old": dict(old or {})}

    def condition_holds(self, values: Mapping[str, Any], env: Env) -> bool:
        return self.condition is None or self.condition.evaluate(values, env) is True

    # ------------------------------------------------------------------ episode
    def claim(self, values: Mapping[str, Any], env: Env) -> Claim | None:
        """The once-per claim of a firing, or None when the rule fires every time.

        Event rules without `once_per`/`once_window` fire on every matching event.
        Schedule rules without them fire once per record ever; date rules once per
        value of their date field (a new due date re-arms the rule).
        """
        spec = self.spec
        parts: list[str] = []
        if self.once_per is not None:
            parts.append(_episode_text(self.once_per.evaluate(values, env)))
        elif isinstance(spec.trigger, DateTrigger):
            parts.append(_episode_text(values.get(spec.trigger.field)))
        if spec.once_window is not None:
            parts.append(window_bucket(spec.once_window, env.now()))
        if not parts and not spec.is_timed:
            return None
        subject = "*" if spec.once_scope == "rule" else str(values.get("id", ""))
        return Claim(spec.key, subject, "|".join(parts))


def _episode_text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime | date):
        return str(to_json(value, T.ANY))
    if isinstance(value, list | tuple):
        return ",".join(_episode_text(v) for v in value)
    return str(to_json(value, T.ANY))
