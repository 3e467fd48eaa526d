"""The `assign` rule action: the next member of a pool, in turn, takes the record.

Why a counter in the database rather than "the member after the last one assigned":
one atomic upsert (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, as auto-numbers do)
hands every concurrent writer its own turn on both databases — PostgreSQL holds the
counter row's lock until the write commits, SQLite has one writer — and a rolled-back
write gives its turn back with the rest of its transaction. Members are taken in
username order, so the rotation does not depend on the order the directory returns
them; when the pool changes, the rotation simply continues over the new members.

`least_open` counts the records of the form each member holds (matching `open_when`)
and takes the member with fewest; ties go to the member whose turn it is, so equal
loads still rotate. Two writers at the same instant may see the same counts (the
counts are a read, not a lock): the rotation of ties keeps them from both choosing
the same member when the loads are level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from engines.expr import T, compile_expr
from engines.rule.effects import AssignInTurn
from runtime.effects.registry import EffectScope
from runtime.errors import BadRequest
from runtime.expr.sql_context import RecordsSqlContext
from runtime.forms.env import user_info
from runtime.records import service as record_service
from runtime.store.tables import departments, records, rule_cursors, users

if TYPE_CHECKING:
    from runtime.context import Context

MAX_DEPARTMENT_DEPTH = 32


def _department_tree(conn: Connection, root: str) -> set[str]:
    """`root` and every department below it."""
    children: dict[str, list[str]] = {}
    for key, parent in conn.execute(select(departments.c.key, departments.c.parent)):
        if parent is not None:
            children.setdefault(parent, []).append(key)
    found, todo = {root}, [root]
    for _ in range(MAX_DEPARTMENT_DEPTH):
        todo = [c for k in todo for c in children.get(k, ()) if c not in found]
        if not todo:
            break
        found.update(todo)
    return found


def pool_members(conn: Connection, effect: AssignInTurn) -> list[str]:
    """Active users in the pool (role ∩ department (tree) ∩ users), by username."""
    query = select(users.c.username, users.c.roles, users.c.department).where(
        users.c.active.is_(True)).order_by(users.c.username)
    depts: set[str] | None = None
    if effect.department is not None:
        if effect.subdepartments:
            depts = _department_tree(conn, effect.department)
            query = query.where(users.c.department.in_(sorted(depts)))
        else:
            query = query.where(users.c.department == effect.department)
    if effect.users is not None:
        query = query.where(users.c.username.in_(list(effect.users)))
    return [r.username for r in conn.execute(query)
            if effect.role is None or effect.role in (r.roles or ())]


def next_turn(conn: Connection, *, app: str, rule: str, pool: str) -> int:
    """Advance the (app, rule, pool) counter atomically; 1 for the first turn."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    upsert = dialect_insert(rule_cursors).values(app=app, rule=rule, pool=pool, value=1)
    upsert = upsert.on_conflict_do_update(
        index_elements=[rule_cursors.c.app, rule_cursors.c.rule, rule_cursors.c.pool],
        set_={"value": rule_cursors.c.value + 1})
    return int(conn.execute(upsert.returning(rule_cursors.c.value)).scalar_one())


def _open_counts(conn: Connection, ctx: Context, effect: AssignInTurn, scope: EffectScope,
                 members: list[str], form: str, record_id: str) -> dict[str, int]:
    capp = ctx.apps.current(conn, scope.app)
    sctx = RecordsSqlContext(dialect=conn.dialect.name, app=scope.app, form=form,
                             forms=capp.expr_forms, now=ctx.clock.now(), tz=ctx.tz,
                             user=user_info(scope.actor), calendar=capp.calendar)
    holder = sctx.field(effect.field, T.TEXT)
    query = select(holder, func.count()).where(sctx.live(), holder.in_(members))
    if record_id.isdigit():
        query = query.where(records.c.id != int(record_id))
    if effect.open_when:
        condition = compile_expr(effect.open_when, capp.form(form).scope, expect=T.BOOLEAN)
        query = query.where(condition.to_sql(sctx))
    return {str(k): int(n) for k, n in conn.execute(query.group_by(holder))}


def choose(members: list[str], turn: int, counts: dict[str, int] | None = None) -> str:
    """Member `turn - 1` in rotation; with counts, the least loaded, ties in rotation."""
    start = (turn - 1) % len(members)
    rotation = members[start:] + members[:start]
    if counts is None:
        return rotation[0]
    return min(rotation, key=lambda m: counts.get(m, 0))  # min keeps the first of ties


def assign_in_turn(conn: Connection, ctx: Context, effect: AssignInTurn,
                   scope: EffectScope) -> dict[str, Any]:
    form = effect.form or scope.origin_form
    record_id = effect.record_id or scope.origin_record_id
    if not form or not record_id:
        raise BadRequest("效果没有目标记录", "The effect names no record", code="no_target")
    pool = effect.pool_key
    members = pool_members(conn, effect)
    if not members:
        return {"assigned": None, "pool": pool, "members": 0}
    turn = next_turn(conn, app=scope.app, rule=effect.rule, pool=pool)
    counts = _open_counts(conn, ctx, effect, scope, members, form, record_id) \
        if effect.strategy == "least_open" else None
    member = choose(members, turn, counts)
    record_service.update_record(conn, ctx, app=scope.app, form=form, record_id=record_id,
                                 patch={**effect.values, effect.field: member},
                                 actor=scope.actor, depth=scope.depth + 1)
    return {"assigned": member, "pool": pool, "turn": turn, "members": len(members)}
