"""Registers the built-in effect handlers (imported once by `apply_effects`).

`setdefault`, so a handler another package registered (the flow runtime's StartFlow)
is never replaced by the placeholder here, whichever is imported first.
"""

from __future__ import annotations

from engines.effects import (
    CallWebhook,
    CreateRecord,
    CreateTask,
    Notify,
    ScheduleAt,
    SetFields,
    StartFlow,
    UpdateRecords,
)
from engines.rule.effects import AssignInTurn, FlagRecord, TagRecord, UpdateEach
from runtime.effects import outside
from runtime.effects import records as record_effects
from runtime.effects.assign import assign_in_turn
from runtime.effects.registry import ATOMIC_EFFECTS, EFFECT_HANDLERS, EffectHandler
from runtime.effects.related import update_each

BUILTIN: dict[type, EffectHandler] = {
    SetFields: record_effects.set_fields,
    CreateRecord: record_effects.create_record,
    UpdateRecords: record_effects.update_records,
    TagRecord: record_effects.tag_record,
    FlagRecord: record_effects.flag_record,
    AssignInTurn: assign_in_turn,
    UpdateEach: update_each,
    CreateTask: outside.create_task,
    Notify: outside.notify,
    CallWebhook: outside.call_webhook,
    ScheduleAt: outside.schedule_at,
    StartFlow: outside.start_flow_deferred,
}

for _type, _fn in BUILTIN.items():
    EFFECT_HANDLERS.setdefault(_type, _fn)

ATOMIC_EFFECTS.update({TagRecord, FlagRecord})
