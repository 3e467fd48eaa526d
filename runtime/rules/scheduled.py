"""Scheduled and date-relative rules, run by `loom scheduler tick --at`.

For each timed rule of each installed app, a tick at `at` looks at `(since, at]`
(`rule_schedules.since`): a cron rule runs when a slot fell in it; a date rule turns
"due in the window" into bounds on its date field (`timing.field_window`). Either way
the candidates come from ONE query with the rule's condition compiled to SQL
(`RecordsSqlContext`, aggregates as correlated subqueries), so a million receivables
cost one indexed scan, not a million Python evaluations. Each firing is then applied
in its own transaction after claiming its (rule, record, episode) key; `since` moves
only after every firing is applied, so a crash mid-tick re-runs the window and the
claims make the re-run do nothing twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Select, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engines.expr import ExprError, T
from engines.expr.sqlgen import SqlGen
from engines.rule.cascade import CascadeGuard
from engines.rule.compiled import CompiledRule
from engines.rule.ruleset import Firing, fire_scheduled
from engines.rule.spec import DateTrigger, ScheduleTrigger
from engines.rule.timing import field_window, occurrences
from runtime.auth.models import SYSTEM
from runtime.expr.sql_context import RecordsSqlContext
from runtime.forms.env import StoreEnv
from runtime.rules.compiled import app_rules, native_record
from runtime.rules.firing import apply_firing
from runtime.store.tables import apps, records, rule_schedules

if TYPE_CHECKING:
    from runtime.context import Context

log = logging.getLogger("loom.rules")
TICK_NAME = "rules"


def candidate_query(conn: Connection, ctx: Context, rule: CompiledRule, *, app: str,
                    forms: Any, now: datetime, since: datetime | None,
                    windowed: bool = True) -> tuple[Select[Any], bool]:
    """The records a timed rule may fire for, and whether its condition is in the SQL.

    A condition the SQL back end cannot express (rare) is left to Python.
    """
    sctx = RecordsSqlContext(dialect=conn.dialect.name, app=app, form=rule.spec.form,
                             forms=forms, now=now, tz=ctx.tz)
    stmt = select(records).where(sctx.live())
    pushed = rule.condition is None
    if rule.condition is not None:
        try:
            stmt = stmt.where(rule.condition.to_sql(sctx))
            pushed = True
        except ExprError:
            log.info("rule %s: condition evaluated in Python (no SQL form)", rule.key)
    trigger = rule.spec.trigger
    if windowed and isinstance(trigger, DateTrigger):
        fld = rule.form.field_of(trigger.field)
        is_dt = fld is not None and fld.type is T.DATETIME
        kind = T.DATETIME if is_dt else T.DATE
        window = field_window(trigger, is_datetime=is_dt, tz=ctx.tz, since=since, now=now)
        col = sctx.field(trigger.field, kind)
        gen = SqlGen(sctx)
        stmt = stmt.where(col <= gen.bind(window.hi, kind).el)
        if window.lo is not None:
            stmt = stmt.where(col > gen.bind(window.lo, kind).el)
    return stmt.order_by(records.c.id), pushed


def _since(conn: Connection, app: str, rule: str) -> datetime | None:
    found: datetime | None = conn.execute(select(rule_schedules.c.since).where(
        rule_schedules.c.app == app, rule_schedules.c.rule == rule)).scalar()
    if found is not None and found.tzinfo is None:
        from datetime import UTC

        found = found.replace(tzinfo=UTC)
    return found


def _advance(conn: Connection, app: str, rule: str, at: datetime) -> None:
    """Move `since` forward to `at` (never back: a later tick may have run already)."""
    build = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    inserted = conn.execute(build(rule_schedules).values(app=app, rule=rule, since=at)
                            .on_conflict_do_nothing(index_elements=["app", "rule"])
                            .returning(rule_schedules.c.rule)).first()
    if inserted is None:
        conn.execute(update(rule_schedules).where(
            rule_schedules.c.app == app, rule_schedules.c.rule == rule,
            rule_schedules.c.since < at).values(since=at))


def _firings(conn: Connection, ctx: Context, app: str, rule: CompiledRule,
             at: datetime, since: datetime | None) -> list[Firing] | None:
    """The firings due at `at`, or None when the rule is not due (no cron slot)."""
    trigger = rule.spec.trigger
    if isinstance(trigger, ScheduleTrigger) and not occurrences(trigger.cron, ctx.tz,
                                                                 since, at):
        return None
    capp = ctx.apps.current(conn, app)
    stmt, pushed = candidate_query(conn, ctx, rule, app=app, forms=capp.expr_forms,
                                   now=at, since=since)
    fields = rule.form.fields
    candidates = [native_record(r, fields) for r in conn.execute(stmt)]
    env = StoreEnv(conn, app=app, now=at, tz=ctx.tz, actor=None, forms=capp.expr_forms)
    return fire_scheduled(rule, candidates, env, since=since, condition_checked=pushed)


def run_timed_rule(ctx: Context, *, app: str, rule_key: str, at: datetime) -> dict[str, int]:
    """One timed rule at one instant: query, claim, apply, then move `since`."""
    with ctx.engine.connect() as conn:
        rule = app_rules(ctx.apps.current(conn, app)).rules[rule_key]
        since = _since(conn, app, rule_key)
        if since is not None and since >= at:
            return {}
        firings = _firings(conn, ctx, app, rule, at, since)
    counts: dict[str, int] = {}
    for firing in firings or ():
        with ctx.engine.begin() as conn:
            outcome = apply_firing(conn, ctx, firing, app=app, actor=SYSTEM, depth=0,
                                   guard=CascadeGuard())
        counts[outcome] = counts.get(outcome, 0) + 1
    with ctx.engine.begin() as conn:
        _advance(conn, app, rule_key, at)
    return counts


def tick_rules(ctx: Context, at: datetime) -> dict[str, Any]:
    """Every timed rule of every installed app, at `at`; per rule, what happened."""
    with ctx.engine.connect() as conn:
        keys = list(conn.execute(select(apps.c.key).where(
            apps.c.current_version.is_not(None)).order_by(apps.c.key)).scalars())
        timed = {app: [r.key for r in app_rules(ctx.apps.current(conn, app)).rules.values()
                       if r.spec.is_timed and r.spec.enabled] for app in keys}
    report: dict[str, Any] = {}
    for app, rule_keys in timed.items():
        for key in sorted(rule_keys):
            try:
                report[f"{app}/{key}"] = run_timed_rule(ctx, app=app, rule_key=key, at=at)
            except Exception as exc:  # one broken rule must not stop the others' ticks
                log.exception("timed rule %s/%s failed", app, key)
                report[f"{app}/{key}"] = {"failed": 1, "error": type(exc).__name__}
    return report


def register_tick() -> None:
    from runtime.scheduler import TICKS

    TICKS[TICK_NAME] = tick_rules
