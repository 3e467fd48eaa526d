"""Compiled flows of a published app version, and the data a step evaluates.

A flow is compiled once per published bundle (its conditions parsed against the bound
form's scope) and reused by every step of every instance on that version. Conditions
are compiled before any step exists, so the environment they evaluate in (the clock
of *this* step, its connection for aggregates) is looked up when they run: `bound_env`
sets it for the duration of one engine call, per thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from engines.expr import Compiled, Env, UserInfo
from engines.expr.workcal import WorkCalendar
from engines.flow import CompiledFlow, FlowSpec, compile_flow
from engines.flow.conditions import expr_conditions
from runtime.apps.registry import CompiledApp
from runtime.errors import not_found

_ENV: ContextVar[Env | None] = ContextVar("loom_flow_env", default=None)
_CACHE: dict[tuple[str, int, str], tuple[object, CompiledFlow]] = {}
_LOCK = threading.Lock()
MAX_CACHED = 256


class StepEnv:
    """An `Env` that delegates to the environment bound for the current step."""

    def _current(self) -> Env:
        env = _ENV.get()
        if env is None:
            raise RuntimeError("a flow condition ran outside bound_env()")
        return env

    @property
    def tz(self) -> ZoneInfo:
        return self._current().tz

    @property
    def user(self) -> UserInfo | None:
        return self._current().user

    @property
    def holidays(self) -> frozenset[date]:
        return self._current().holidays

    @property
    def calendar(self) -> WorkCalendar | None:
        return self._current().calendar

    def now(self) -> datetime:
        return self._current().now()

    def aggregate(self, func: str, form: str, condition: Compiled, value: Compiled | None,
                  record: Mapping[str, Any]) -> Any:
        return self._current().aggregate(func, form, condition, value, record)


STEP_ENV = StepEnv()


@contextmanager
def bound_env(env: Env) -> Iterator[None]:
    token = _ENV.set(env)
    try:
        yield
    finally:
        _ENV.reset(token)


def flow_spec(capp: CompiledApp, flow: str) -> FlowSpec:
    spec = capp.bundle.of("flows").get(flow)
    if spec is None:
        raise not_found("流程", "Flow", f"{capp.key}/{flow}")
    return cast(FlowSpec, spec)


def flow_for(capp: CompiledApp, flow: str) -> CompiledFlow:
    """The compiled flow of this app version (compiled on first use, then cached)."""
    key = (capp.key, capp.version, flow)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is capp.bundle:
        return hit[1]
    spec = flow_spec(capp, flow)
    scope = capp.form(spec.form).scope
    compiled = compile_flow(spec, expr_conditions(scope, STEP_ENV))
    with _LOCK:
        if len(_CACHE) >= MAX_CACHED:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (capp.bundle, compiled)
    return compiled


SYSTEM_FIELDS = ("owner", "department", "created_by", "updated_by", "created_at",
                 "updated_at", "version")


def record_values(cform: Any, row: Any) -> dict[str, Any]:
    """A stored record as the values expressions and assignee lookups work with."""
    values: dict[str, Any] = {plan.key: _native(plan, row.data.get(plan.key))
                              for plan in cform.plans}
    values["id"] = str(row.id)
    for name in SYSTEM_FIELDS:
        values[name] = getattr(row, name)
    return values


def _native(plan: Any, value: Any) -> Any:
    if value is None:
        return [] if plan.rows is not None else None
    if plan.rows is not None:
        fields = plan.rows.fields
        return [{p.key: _native(p, r.get(p.key)) for p in fields}
                for r in value if isinstance(r, dict)] if isinstance(value, list) else []
    if plan.to_native is None:
        return value
    try:
        return plan.to_native(value)
    except Exception:  # old or foreign data: the expression sees nothing, not a crash
        return None
