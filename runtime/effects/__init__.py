"""THE effect applier shared by rules and flows.

Engines return effects as plain data (`engines.effects`, `engines.rule.effects`);
this package applies them inside the caller's transaction, so a rolled-back write
never leaves follow-up work and a committed one always does. Anything that leaves
the process (email, webhooks, timers) becomes a job in that same transaction.

Handlers live in one registry keyed by effect type, so the flow runtime can add its
own (StartFlow, flow effects) without this package importing it:

    from runtime.effects import EFFECT_HANDLERS, EffectScope

    def start_flow(conn, ctx, effect: StartFlow, scope: EffectScope) -> None: ...
    EFFECT_HANDLERS[StartFlow] = start_flow

    apply_effects(conn, ctx, effects, app=..., origin_form=..., origin_record_id=...,
                  actor=..., depth=...)
"""

from __future__ import annotations

from runtime.effects.registry import (
    ATOMIC_EFFECTS,
    EFFECT_HANDLERS,
    EffectHandler,
    EffectScope,
    UnknownEffectError,
    apply_effects,
    register_effect,
)

__all__ = [
    "ATOMIC_EFFECTS", "EFFECT_HANDLERS", "EffectHandler", "EffectScope", "UnknownEffectError",
    "apply_effects", "register_effect",
]
