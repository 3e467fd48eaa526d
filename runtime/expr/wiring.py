"""Wiring the expression router to the store: scopes come from the app's current
published forms, and "try it" evaluates at the server's clock in the deployment zone."""

from __future__ import annotations

from engines.expr import FixedEnv, Scope
from runtime.context import Context
from runtime.errors import NotFound
from runtime.expr.api import ScopeResolver


def scope_resolver(ctx: Context) -> ScopeResolver:
    def resolve(app: str, form: str) -> Scope:
        try:
            with ctx.engine.connect() as conn:
                scope: Scope = ctx.apps.current(conn, app).form(form).scope
        except NotFound as exc:
            raise LookupError(str(exc)) from None
        return scope
    return resolve


def expr_env(ctx: Context) -> FixedEnv:
    return FixedEnv(at=ctx.clock.now(), tz=ctx.tz)
