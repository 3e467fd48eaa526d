"""The effect-handler registry and the loop that applies a list of effects."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

if TYPE_CHECKING:
    from runtime.auth.models import Actor
    from runtime.context import Context


@dataclass(frozen=True, slots=True)
class EffectScope:
    """Where the effects come from: the record (and app/form) a rule or flow step acted
    on, who acted, and the cascade depth writes made here must pass on (+1)."""

    app: str
    origin_form: str | None
    origin_record_id: str | None
    actor: Actor
    depth: int = 0
    source: str = ""  # e.g. "rule:overdue" or "flow:approval"; for logs and task origin
    key: str | None = None
    """The firing's once-per key (rule claim), so a retried delivery is not shown twice."""


EffectHandler = Callable[[Connection, "Context", Any, EffectScope], Any]
"""`fn(conn, ctx, effect, scope) -> result` (result is collected, may be None)."""

EFFECT_HANDLERS: dict[type, EffectHandler] = {}
"""Effect type → handler. The flow runtime registers StartFlow and its own effects."""

ATOMIC_EFFECTS: set[type] = set()
"""Effect types whose handler either fails before writing anything or writes with one
statement that cannot fail on data (tags, flags: one UPDATE of a row just read). A
firing with only one such effect needs no savepoint to be undone on failure."""

class UnknownEffectError(LookupError):
    """No handler is registered for an effect's type (a wiring bug, never user input)."""


def register_effect(effect_type: type) -> Callable[[EffectHandler], EffectHandler]:
    """Decorator form of `EFFECT_HANDLERS[effect_type] = fn`."""

    def decorate(fn: EffectHandler) -> EffectHandler:
        EFFECT_HANDLERS[effect_type] = fn
        return fn

    return decorate


def apply_effects(conn: Connection, ctx: Context, effects: Iterable[Any], *, app: str,
                  origin_form: str | None, origin_record_id: str | None, actor: Actor,
                  depth: int = 0, source: str = "", key: str | None = None) -> list[Any]:
    """Apply effects in order inside `conn`'s transaction; return each handler's result.

    An exception propagates: the caller decides whether it rolls the write back
    (validation, cascade limit) or is logged (a rule's run-time error).
    """
    _ensure_builtin_handlers()
    scope = EffectScope(app=app, origin_form=origin_form,
                        origin_record_id=None if origin_record_id is None
                        else str(origin_record_id),
                        actor=actor, depth=depth, source=source, key=key)
    results: list[Any] = []
    for effect in effects:
        handler = EFFECT_HANDLERS.get(type(effect))
        if handler is None:
            raise UnknownEffectError(f"no effect handler for {type(effect).__name__}")
        results.append(handler(conn, ctx, effect, scope))
    return results


def _ensure_builtin_handlers() -> None:
    # Imported lazily so that importing the registry (by the flow runtime) stays cheap
    # and free of cycles; the import registers the built-in handlers once.
    import runtime.effects.builtin  # noqa: F401
