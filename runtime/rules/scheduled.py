"""Scheduled and date-relative rules, run by `loom scheduler tick --at`.

For each timed rule of each installed app, a tick at `at` looks at `(since, at]`
(`rule_schedules.since`): a cron rule runs when a slot fell in it; a date rule turns
"due in the window" into bounds on its date field (`timing.field_window`). Either way
the candidates come from ONE query with the rule's condition compiled to SQL
(`RecordsSqlContext`, aggregates as correlated subqueries), so a million receivables
cost one indexed scan, not a million Python evaluations. The aggregates the actions
compute (a nightly score's COUNT/SUM over each customer's invoices) come with the
candidates as extra columns of that query (`runtime.rules.pushdown`). The firings are
then applied in batches of `BATCH` per transaction, each after claiming its (rule,
record, episode) key; `since` moves only after every firing is applied, so a crash
mid-tick re-runs the window and the claims make the re-run do nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Select, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engines.expr import ExprError, T
from engines.expr.sqlgen import SqlGen
from engines.expr.workcal import WorkCalendar
from engines.rule.cascade import CascadeGuard
from engines.rule.compiled import CompiledRule
from engines.rule.ruleset import Firing, fire_scheduled
from engines.rule.spec import DateTrigger, ScheduleTrigger
from engines.rule.timing import field_window, occurrences
from runtime.auth.models import SYSTEM
from runtime.expr.sql_context import RecordsSqlContext
from runtime.forms.env import StoreEnv
from runtime.rules.bulk import apply_many
from runtime.rules.compiled import app_rules, native_record
from runtime.rules.firing import apply_firing
from runtime.rules.pushdown import PrecomputedEnv, add_aggregates, refresh_sqlite_stats
from runtime.store.tables import apps, records, rule_schedules

if TYPE_CHECKING:
    from runtime.context import Context

log = logging.getLogger("loom.rules")
TICK_NAME = "rules"
BATCH = 500
"""Firings applied per transaction: one commit (an fsync) per firing was most of the
cost of a simple firing; 500 keep a transaction short enough for other writers."""
STREAM_ROWS = 2000  # candidate rows fetched at a time while firings are computed


def candidate_query(conn: Connection, ctx: Context, rule: CompiledRule, *, app: str,
                    forms: Any, now: datetime, since: datetime | None,
                    windowed: bool = True,
                    calendar: WorkCalendar | None = None) -> tuple[Select[Any], bool]:
    """The records a timed rule may fire for, and whether its condition is in the SQL.

    A condition the SQL back end cannot express (rare) is left to Python.
    """
    sctx = RecordsSqlContext(dialect=conn.dialect.name, app=app, form=rule.spec.form,
                             forms=forms, now=now, tz=ctx.tz, calendar=calendar)
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
    """The firings due at `at`, or None when the rule is not due (no cron slot).

    Every firing is computed before any is applied, so no firing sees another's
    effects; the aggregates of the actions come with the candidates (`pushdown`): one
    query for the candidates and one per related form, however many aggregates and
    candidates there are.
    """
    trigger = rule.spec.trigger
    if isinstance(trigger, ScheduleTrigger) and not occurrences(trigger.cron, ctx.tz,
                                                                 since, at):
        return None
    capp = ctx.apps.current(conn, app)
    stmt, pushed = candidate_query(conn, ctx, rule, app=app, forms=capp.expr_forms,
                                   now=at, since=since, calendar=capp.calendar)
    sctx = RecordsSqlContext(dialect=conn.dialect.name, app=app, form=rule.spec.form,
                             forms=capp.expr_forms, now=at, tz=ctx.tz,
                             calendar=capp.calendar)
    stmt, aggs = add_aggregates(stmt, rule, sctx, with_condition=not pushed)
    fields = rule.form.fields
    related = aggs.by_relation(conn)
    pushed_keys = aggs.keys
    known: dict[str, dict[Any, Any]] = {}

    def candidates() -> Iterator[dict[str, Any]]:
        """The candidates one at a time, each with its precomputed aggregates while its
        firing is computed: the rows come from a streaming cursor and each record and
        its aggregates are let go once its firing exists, so a tick over 100,000
        customers holds their firings, not also their records."""
        for row in conn.execute(stmt.execution_options(yield_per=STREAM_ROWS)):
            record = native_record(row, fields)
            known.clear()
            if pushed_keys:
                values = dict.fromkeys(pushed_keys)
                values.update(related.pop(record["id"], ()))
                values.update(aggs.values_of(row))
                known[record["id"]] = values
            yield record

    env = StoreEnv(conn, app=app, now=at, tz=ctx.tz, actor=None, forms=capp.expr_forms,
                   calendar=capp.calendar)
    return fire_scheduled(rule, candidates(),
                          PrecomputedEnv(env, known) if pushed_keys else env,
                          since=since, condition_checked=pushed)


def _apply_batch(ctx: Context, app: str, batch: list[Firing],
                 counts: dict[str, int]) -> Exception | None:
    """Apply firings in one transaction: all at once when they only set fields on their
    own records (`bulk.apply_many`), else (or when that fails) each in its own
    savepoint (`apply_firing`), so a failing action loses only itself. Anything that
    escapes a firing (a cascade past its bound, a lost connection) rolls the whole
    batch back, claims included; the batch is then applied one firing per
    transaction, so only the culprit is lost.
    Returns the first such error (the caller re-raises it once all is applied)."""
    try:
        with ctx.engine.begin() as conn:
            outcomes = apply_many(conn, ctx, app, batch) if len(batch) > 1 else None
            if outcomes is None:
                outcomes = [apply_firing(conn, ctx, firing, app=app, actor=SYSTEM, depth=0,
                                         guard=CascadeGuard()) for firing in batch]
    except Exception as exc:
        if len(batch) == 1:
            log.warning("rule %s failed on %s/%s: %s", batch[0].rule, batch[0].form,
                        batch[0].record_id, type(exc).__name__)
            return exc
        log.warning("rule %s: a batch of %d firings failed; applying them one by one",
                    batch[0].rule, len(batch))
        errors = [_apply_batch(ctx, app, [firing], counts) for firing in batch]
        return next((e for e in errors if e is not None), None)
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    return None


def run_timed_rule(ctx: Context, *, app: str, rule_key: str, at: datetime,
                   batch: int = BATCH) -> dict[str, int]:
    """One timed rule at one instant: query, then claim and apply in batches of
    `batch` firings a transaction, then move `since`.

    A firing that raised (rather than failing into the run log) is re-raised after
    every other firing is applied, and `since` stays: the next tick re-runs the
    window, where the claims leave only that firing to do.
    """
    with ctx.engine.connect() as conn:
        rule = app_rules(ctx.apps.current(conn, app)).rules[rule_key]
        since = _since(conn, app, rule_key)
        if since is not None and since >= at:
            return {}
        firings = _firings(conn, ctx, app, rule, at, since) or []
    counts: dict[str, int] = {}
    size = max(1, batch)
    failed: Exception | None = None
    for start in range(0, len(firings), size):
        error = _apply_batch(ctx, app, firings[start:start + size], counts)
        failed = failed or error
    if failed is not None:
        raise failed
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
    if any(timed.values()):
        with ctx.engine.begin() as conn:
            refresh_sqlite_stats(conn)
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
