"""Effects that change records: through the record service, one level deeper.

Every record write here goes through `runtime.records.service`, so it is validated,
numbered, kept in history and fires the rules of the written form in turn, with
`depth + 1` so the cascade guard can bound the chain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, select, update

from engines.effects import CreateRecord, SetFields, UpdateRecords
from engines.expr import T, compile_expr
from engines.rule.effects import FlagRecord, TagRecord
from runtime.effects.registry import EffectScope
from runtime.errors import BadRequest
from runtime.expr.sql_context import RecordsSqlContext
from runtime.forms.env import user_info
from runtime.records import service as record_service
from runtime.store.tables import records

if TYPE_CHECKING:
    from runtime.context import Context

MAX_UPDATED = 1000
"""An update_related effect touching more records than this is refused, not truncated."""

# Built once: tags and flags are the cheapest, most frequent rule effects.
_MARK_WHERE = ((records.c.id == bindparam("m_id")) & (records.c.app == bindparam("m_app"))
               & (records.c.form == bindparam("m_form")))
_SELECT_MARKS = select(records.c.marks).where(_MARK_WHERE)
_UPDATE_MARKS = update(records).where(_MARK_WHERE).values(marks=bindparam("m_marks"))
_UPDATE_MARKS_IF_NONE = update(records).where(
    _MARK_WHERE, records.c.marks.is_(None)).values(marks=bindparam("m_marks"))
_UPDATE_MARKS_IF_SAME = update(records).where(
    _MARK_WHERE, records.c.marks == bindparam("m_old", type_=records.c.marks.type)
).values(marks=bindparam("m_marks"))

KNOWN_MARKS = "loom.effects.known_marks"
"""`conn.info` key: (app, form, record id, marks) of the record a write has just read or
written, so a tag or flag on it is one conditional UPDATE instead of a read and a write.
Only a hint: the UPDATE checks the marks are still these, and reads them when not."""


def remember_marks(conn: Connection, app: str, form: str, record_id: str,
                   marks: Any) -> None:
    """Note the marks a record has now (None: none yet), for the next tag or flag."""
    conn.info[KNOWN_MARKS] = (app, form, record_id, marks)


def _target(effect_form: str | None, effect_id: str | None,
            scope: EffectScope) -> tuple[str, str]:
    form = effect_form or scope.origin_form
    record_id = effect_id or scope.origin_record_id
    if not form or not record_id:
        raise BadRequest("效果没有目标记录", "The effect names no record", code="no_target")
    return form, record_id


def set_fields(conn: Connection, ctx: Context, effect: SetFields,
               scope: EffectScope) -> dict[str, Any]:
    form, record_id = _target(effect.form, effect.record_id, scope)
    out = record_service.update_record(conn, ctx, app=scope.app, form=form,
                                       record_id=record_id, patch=dict(effect.values),
                                       actor=scope.actor, depth=scope.depth + 1)
    return {"record_id": out["id"], "version": out["version"]}


def create_record(conn: Connection, ctx: Context, effect: CreateRecord,
                  scope: EffectScope) -> dict[str, Any]:
    out = record_service.create(conn, ctx, app=scope.app, form=effect.form,
                                data=dict(effect.values), actor=scope.actor,
                                depth=scope.depth + 1)
    return {"record_id": out["id"]}


def update_records(conn: Connection, ctx: Context, effect: UpdateRecords,
                   scope: EffectScope) -> dict[str, Any]:
    capp = ctx.apps.current(conn, scope.app)
    cform = capp.form(effect.form)
    sctx = RecordsSqlContext(dialect=conn.dialect.name, app=scope.app, form=effect.form,
                             forms=capp.expr_forms, now=ctx.clock.now(), tz=ctx.tz,
                             user=user_info(scope.actor), calendar=capp.calendar)
    where = compile_expr(effect.where, cform.scope, expect=T.BOOLEAN)
    ids = list(conn.execute(select(records.c.id).where(sctx.live(), where.to_sql(sctx))
                            .order_by(records.c.id).limit(MAX_UPDATED + 1)).scalars())
    if len(ids) > MAX_UPDATED:
        raise BadRequest(f"一次最多更新 {MAX_UPDATED} 条相关记录",
                         f"At most {MAX_UPDATED} related records are updated at once",
                         code="too_many_related")
    for rid in ids:
        record_service.update_record(conn, ctx, app=scope.app, form=effect.form,
                                     record_id=rid, patch=dict(effect.values),
                                     actor=scope.actor, depth=scope.depth + 1)
    return {"updated": [str(i) for i in ids]}


def _changed_marks(old: Any, change: Any) -> dict[str, Any]:
    marks = dict(old or {})
    marks.setdefault("tags", [])
    marks.setdefault("flags", {})
    change(marks)
    return marks


def _change_marks(conn: Connection, scope: EffectScope, form: str, record_id: str,
                  change: Any) -> dict[str, Any]:
    key = {"m_id": int(record_id), "m_app": scope.app, "m_form": form}
    known = conn.info.get(KNOWN_MARKS)
    if known is not None and known[:3] == (scope.app, form, record_id):
        old = known[3]
        marks = _changed_marks(old, change)
        if old is None:
            done = conn.execute(_UPDATE_MARKS_IF_NONE, {**key, "m_marks": marks}).rowcount
        else:
            done = conn.execute(_UPDATE_MARKS_IF_SAME,
                                {**key, "m_marks": marks, "m_old": old}).rowcount
        if done == 1:
            remember_marks(conn, scope.app, form, record_id, marks)
            return {"record_id": record_id, "marks": marks}
    row = conn.execute(_SELECT_MARKS, key).first()
    if row is None:
        raise BadRequest("效果的目标记录不存在", "The effect's record does not exist",
                         code="no_target")
    marks = _changed_marks(row.marks, change)
    conn.execute(_UPDATE_MARKS, {**key, "m_marks": marks})
    remember_marks(conn, scope.app, form, record_id, marks)
    return {"record_id": record_id, "marks": marks}


def tag_record(conn: Connection, ctx: Context, effect: TagRecord,
               scope: EffectScope) -> dict[str, Any]:
    form, record_id = _target(effect.form, effect.record_id, scope)

    def change(marks: dict[str, Any]) -> None:
        tags = list(marks["tags"])
        if effect.remove:
            tags = [t for t in tags if t not in effect.tags]
        else:
            tags += [t for t in effect.tags if t not in tags]
        marks["tags"] = tags

    return _change_marks(conn, scope, form, record_id, change)


def flag_record(conn: Connection, ctx: Context, effect: FlagRecord,
                scope: EffectScope) -> dict[str, Any]:
    form, record_id = _target(effect.form, effect.record_id, scope)

    def change(marks: dict[str, Any]) -> None:
        flags = dict(marks["flags"])
        if effect.on:
            flags[effect.flag] = {"color": effect.color, "note": effect.note,
                                  "source": scope.source or None}
        else:
            flags.pop(effect.flag, None)
        marks["flags"] = flags

    return _change_marks(conn, scope, form, record_id, change)
