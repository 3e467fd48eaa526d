"""`update_related` whose values read each related record (`target.x`).

The records are selected as for `UpdateRecords` (the same expression, the same bound
on how many), then each gets the values computed for it by the compiled rule
(`engines.rule.actions.related_values`): the expressions were checked when the app
was saved, and the rule of this app version is the one that fired, so nothing is
parsed here. Each update goes through the record service, one level deeper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from engines.expr import T, compile_expr
from engines.rule.actions import related_values
from engines.rule.effects import UpdateEach
from runtime.effects.records import MAX_UPDATED
from runtime.effects.registry import EffectScope
from runtime.errors import BadRequest
from runtime.expr.sql_context import RecordsSqlContext
from runtime.forms.env import StoreEnv, user_info
from runtime.records import service as record_service
from runtime.store.tables import records

if TYPE_CHECKING:
    from runtime.context import Context


def update_each(conn: Connection, ctx: Context, effect: UpdateEach,
                scope: EffectScope) -> dict[str, Any]:
    from runtime.rules.compiled import app_rules, native_record  # runtime.rules → effects

    capp = ctx.apps.current(conn, scope.app)
    rule = app_rules(capp).rules.get(effect.rule)
    if rule is None:
        raise BadRequest(f"规则 {effect.rule} 不存在", f"There is no rule {effect.rule}",
                         code="unknown_rule")
    now = ctx.clock.now()
    sctx = RecordsSqlContext(dialect=conn.dialect.name, app=scope.app, form=effect.form,
                             forms=capp.expr_forms, now=now, tz=ctx.tz,
                             user=user_info(scope.actor), calendar=capp.calendar)
    where = compile_expr(effect.where, capp.form(effect.form).scope, expect=T.BOOLEAN)
    rows = conn.execute(select(records).where(sctx.live(), where.to_sql(sctx))
                        .order_by(records.c.id).limit(MAX_UPDATED + 1)).all()
    if len(rows) > MAX_UPDATED:
        raise BadRequest(f"一次最多更新 {MAX_UPDATED} 条相关记录",
                         f"At most {MAX_UPDATED} related records are updated at once",
                         code="too_many_related")
    env = StoreEnv(conn, app=scope.app, now=now, tz=ctx.tz, actor=scope.actor,
                   forms=capp.expr_forms, calendar=capp.calendar)
    fields = rule.forms[effect.form].fields
    for row in rows:
        target = native_record(row, fields)
        patch = {**effect.values, **related_values(rule, effect.action, effect.bound,
                                                   target, env)}
        record_service.update_record(conn, ctx, app=scope.app, form=effect.form,
                                     record_id=row.id, patch=patch, actor=scope.actor,
                                     depth=scope.depth + 1)
    return {"updated": [str(r.id) for r in rows]}
