"""Dry runs: what a rule would do now, to which records, writing nothing.

The candidates are what the real run would look at: for a timed rule, its condition
pushed into SQL (without the tick window, so "what is overdue now" shows everything
due); for an event rule, the most recent records of its form, as if the event had just
happened to each. Claims already taken are passed in, so the preview says
"already_fired" where the tick would skip. The connection is only read from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from engines.rule.preview import dry_run
from runtime.effects.serialize import effect_json
from runtime.errors import not_found
from runtime.expr.env import SqlEnv
from runtime.expr.sql_context import RecordsSqlContext
from runtime.forms.env import StoreEnv, user_info
from runtime.rules.compiled import app_rules, native_record
from runtime.rules.pushdown import PrecomputedEnv, add_aggregates
from runtime.rules.runs import claimed_keys
from runtime.rules.scheduled import candidate_query
from runtime.store.tables import records

if TYPE_CHECKING:
    from runtime.auth.models import Actor
    from runtime.context import Context

MAX_PREVIEW = 500


def preview_rule(conn: Connection, ctx: Context, *, app: str, rule: str, actor: Actor,
                 limit: int = 100) -> dict[str, Any]:
    capp = ctx.apps.current(conn, app)
    compiled = app_rules(capp).rules.get(rule)
    if compiled is None:
        raise not_found("规则", "Rule", f"{app}/{rule}")
    now = ctx.clock.now()
    limit = max(1, min(limit, MAX_PREVIEW))
    env: SqlEnv = StoreEnv(conn, app=app, now=now, tz=ctx.tz, actor=actor,
                           forms=capp.expr_forms, calendar=capp.calendar)
    if compiled.spec.is_timed:
        stmt, pushed = candidate_query(conn, ctx, compiled, app=app, forms=capp.expr_forms,
                                       now=now, since=None, windowed=False,
                                       calendar=capp.calendar)
        # the actions' aggregates for the previewed records, as the tick computes them
        sctx = RecordsSqlContext(dialect=conn.dialect.name, app=app,
                                 form=compiled.spec.form, forms=capp.expr_forms, now=now,
                                 tz=ctx.tz, user=user_info(actor), calendar=capp.calendar)
        stmt, aggs = add_aggregates(stmt.limit(limit), compiled, sctx,
                                    with_condition=not pushed)
        rows = conn.execute(stmt).all()
        candidates = [native_record(r, compiled.form.fields) for r in rows]
        if aggs.keys:
            related = aggs.by_relation(conn)
            known = {c["id"]: {**dict.fromkeys(aggs.keys), **related.get(c["id"], {}),
                               **aggs.values_of(r)} for c, r in zip(candidates, rows,
                                                                      strict=True)}
            env = PrecomputedEnv(env, known)
    else:
        stmt = select(records).where(records.c.app == app,
                                     records.c.form == compiled.spec.form,
                                     records.c.deleted_at.is_(None)
                                     ).order_by(records.c.id.desc()).limit(limit)
        candidates = [native_record(r, compiled.form.fields) for r in conn.execute(stmt)]
    taken = claimed_keys(conn, app=app, rule=rule,
                         subjects=[str(c["id"]) for c in candidates])
    report = dry_run(compiled, candidates, env, claimed=taken)
    return {
        "rule": rule, "at": now, "counts": report.counts(),
        "items": [{"record_id": i.record_id, "outcome": i.outcome,
                   "effects": [effect_json(e) for e in i.effects],
                   "claim": i.claim.key if i.claim else None, "due_at": i.due_at,
                   "error": i.error} for i in report.items],
    }
