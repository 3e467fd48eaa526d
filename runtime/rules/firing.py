"""Applying one firing: cascade guard, once-per claim, effects in a savepoint, run log.

Why a savepoint per firing: a rule that fails while acting (its set_fields breaks a
validation, its target record is gone) must not lose the write that fired it, nor
leave half its effects behind; rolling back to the savepoint undoes just that rule,
and the failure is logged with outcome "error". A cascade past the bound is the one
failure that propagates: the whole write rolls back (DESIGN §6).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

import runtime.effects.builtin  # noqa: F401  (fills ATOMIC_EFFECTS before the first firing)
from engines.rule.cascade import CascadeGuard, CascadeLimitError
from engines.rule.effects import RejectWrite
from engines.rule.ruleset import Firing
from runtime.auth.models import Actor
from runtime.effects import ATOMIC_EFFECTS, apply_effects
from runtime.effects.serialize import effect_json
from runtime.errors import Detail, LoomError, ValidationFailed
from runtime.rules.runs import claim, log_run

if TYPE_CHECKING:
    from runtime.context import Context

log = logging.getLogger("loom.rules")


def _error_of(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, LoomError):
        return {"code": exc.code, "message": dict(exc.message),
                "details": [d.render("en") for d in exc.details]}
    text = f"{type(exc).__name__}: {exc}"[:2000]
    return {"code": "effect_failed", "message": {"zh": f"规则执行出错：{text}", "en": text}}


def apply_firing(conn: Connection, ctx: Context, firing: Firing, *, app: str, actor: Actor,
                 depth: int, guard: CascadeGuard | None) -> str:
    """Apply one firing in `conn`'s transaction; returns the outcome it logged."""
    started = time.perf_counter()
    now = ctx.clock.now()

    def record(outcome: str, effects: list[dict[str, Any]],
               error: dict[str, Any] | None) -> str:
        log_run(conn, app=app, rule=firing.rule, form=firing.form,
                record_id=firing.record_id or None, trigger=firing.trigger, effects=effects,
                outcome=outcome, error=error, at=now,
                duration_ms=int((time.perf_counter() - started) * 1000))
        return outcome

    if firing.error is not None:
        return record("error", [], firing.error)
    if guard is not None and not guard.admit(firing.rule, firing.record_id, depth,
                                             allow_repeat=firing.allow_repeat):
        return "skipped"  # already acted on this record in this chain: quietly
    if firing.claim is not None and not claim(conn, app=app, claim=firing.claim, now=now):
        return "skipped"  # this episode was handled already (another tick, another write)
    rejected = next((e for e in firing.effects if isinstance(e, RejectWrite)), None)
    if rejected is not None:
        # The whole write is refused: its transaction (and this run's log) roll back.
        raise RuleRejected(rejected)
    effects = [effect_json(e) for e in firing.effects]
    try:
        if _needs_savepoint(firing):
            with conn.begin_nested():
                _apply(conn, ctx, firing, app=app, actor=actor, depth=depth)
        else:
            _apply(conn, ctx, firing, app=app, actor=actor, depth=depth)
    except CascadeLimitError:
        raise
    except Exception as exc:  # any failure of this rule: undone, logged, write kept
        log.warning("rule %s failed on %s/%s: %s", firing.rule, firing.form,
                    firing.record_id, type(exc).__name__)
        return record("error", effects, _error_of(exc))
    return record("ok", effects, None)


class RuleRejected(ValidationFailed):
    """A rule's `reject` action refused the write that fired it (422)."""

    code = "rule_rejected"

    def __init__(self, effect: RejectWrite) -> None:
        zh = effect.message.get("zh") or effect.message.get("en") or effect.rule
        en = effect.message.get("en") or zh
        super().__init__(zh, en, details=[Detail(None, "rule_rejected", {"zh": zh, "en": en})])
        self.rule = effect.rule


def _needs_savepoint(firing: Firing) -> bool:
    """One effect that fails before writing (or not at all) needs no savepoint; the
    savepoint is a third of a simple firing's cost on the write path."""
    effects = firing.effects
    return not (len(effects) == 1 and type(effects[0]) in ATOMIC_EFFECTS)


def _apply(conn: Connection, ctx: Context, firing: Firing, *, app: str, actor: Actor,
           depth: int) -> None:
    apply_effects(conn, ctx, firing.effects, app=app, origin_form=firing.form,
                  origin_record_id=firing.record_id or None, actor=actor, depth=depth,
                  source=f"rule:{firing.rule}",
                  key=firing.claim.key if firing.claim else None)
