"""The record lifecycle: normalise → validate → compute → write → history → hooks.

Every write path (API, import, flows, rules) calls these functions, so they all obey
the same validation, uniqueness, numbering, history and rules. Functions take the
connection of a transaction owned by the caller and never commit. A write one level
or more down a cascade (`depth > 0`: a rule's or a flow's effect) is the system's:
read-only fields bind people, not the rules and flows an analyst defined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.engine import Row

from runtime.apps.registry import CompiledApp
from runtime.auth.models import Actor
from runtime.context import Context
from runtime.errors import BadRequest, Detail, StaleVersion, ValidationFailed, not_found
from runtime.forms import adapter as forms
from runtime.hooks import WriteEvent
from runtime.ids import as_id
from runtime.records import history
from runtime.records.batch import WriteBatch
from runtime.records.numbering import assign_numbers
from runtime.records.uniques import claim_uniques, release_uniques
from runtime.store import projections
from runtime.store.tables import record_history, records

# Built once: executing a prepared Core statement with parameters skips statement
# construction and cache-key work on every write (see bench/store_write.py).
_INSERT_RECORD = insert(records).returning(records.c.id)
_INSERT_RECORDS = insert(records).returning(records.c.id, sort_by_parameter_order=True)
_INSERT_HISTORY = insert(record_history)
_SELECT_RECORD = select(records).where(
    records.c.id == bindparam("r_id"), records.c.app == bindparam("r_app"),
    records.c.form == bindparam("r_form"), records.c.deleted_at.is_(None))
_SELECT_RECORD_FOR_UPDATE = _SELECT_RECORD.with_for_update()
_UPDATE_RECORD = update(records).where(
    records.c.id == bindparam("r_id"), records.c.version == bindparam("r_version")).values(
    data=bindparam("r_data"), version=bindparam("r_new_version"),
    form_version=bindparam("r_form_version"), updated_at=bindparam("r_at"),
    updated_by=bindparam("r_by"))
_LAST_HASH = select(record_history.c.hash).where(
    record_history.c.record_id == bindparam("h_id"), record_history.c.seq == bindparam("h_seq"))


def record_json(row: Row[Any] | Mapping[str, Any]) -> dict[str, Any]:
    r = row._mapping if isinstance(row, Row) else row
    return {
        "id": str(r["id"]), "app": r["app"], "form": r["form"],
        "form_version": r["form_version"], "version": r["version"], "data": r["data"],
        "owner": r["owner"], "department": r["department"],
        "created_at": _utc(r["created_at"]), "created_by": r["created_by"],
        "updated_at": _utc(r["updated_at"]), "updated_by": r["updated_by"],
    }


def _utc(at: datetime) -> datetime:
    from datetime import UTC

    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def parse_id(record_id: str | int) -> int:
    value = as_id(record_id)
    if value is None:
        raise not_found("记录", "Record", record_id)
    return value


def create(conn: Connection, ctx: Context, *, app: str, form: str, data: Any, actor: Actor,
           lang: str = "zh", owner: str | None = None, depth: int = 0,
           batch: WriteBatch | None = None) -> dict[str, Any]:
    return create_many(conn, ctx, app=app, form=form, rows=[data], actor=actor, lang=lang,
                       owner=owner, depth=depth, batch=batch)[0]


def create_many(conn: Connection, ctx: Context, *, app: str, form: str,
                rows: Sequence[Any], actor: Actor, lang: str = "zh", owner: str | None = None,
                depth: int = 0, batch: WriteBatch | None = None) -> list[dict[str, Any]]:
    """Create records all or nothing: every row is processed first (every error of
    every row reported, paths prefixed by the row's index when there are several),
    then the records and their history are written with one multi-row statement each.
    Imports and demo data use it; `create` is its one-row case. With a `batch`, the
    history entries wait in it for one insert at its flush (see runtime.records.batch)."""
    capp = ctx.apps.current(conn, app)
    cform = capp.form(form)
    now = ctx.clock.now()
    processed: list[dict[str, Any]] = []
    problems: list[Detail] = []
    system = {"owner": owner or actor.username, "department": actor.department,
              "created_at": now, "created_by": actor.username, "updated_at": now,
              "updated_by": actor.username, "version": 1}
    for i, data in enumerate(rows):
        prefix = f"[{i}]" if len(rows) > 1 else ""
        if not isinstance(data, dict):
            problems.append(Detail(prefix or None, "bad_data", {
                "zh": "记录数据必须是 JSON 对象", "en": "Record data must be a JSON object"}))
            continue
        try:
            processed.append(forms.process(conn, ctx, capp, cform, data, old=None,
                                           actor=actor, lang=lang, system=system,
                                           trusted=depth > 0))
        except ValidationFailed as err:
            problems.extend(Detail(f"{prefix}.{d.field}" if prefix and d.field else
                                   (prefix or d.field), d.code, d.message)
                            for d in err.details)
    if problems:
        if len(rows) == 1 and problems[0].code == "bad_data":
            raise BadRequest("记录数据必须是 JSON 对象", "Record data must be a JSON object",
                             code="bad_data")
        raise ValidationFailed("提交的数据有误", "The submission has errors", details=problems)
    new_rows: list[dict[str, Any]] = []
    batch = _active(ctx, batch)
    for values in processed:
        assign_numbers(conn, app=app, form=form, cform=cform, values=values, now=now,
                       tz=ctx.tz, batch=batch)
        new_rows.append({
            "app": app, "form": form, "form_version": capp.version, "data": values,
            "version": 1, "owner": owner or actor.username, "department": actor.department,
            "created_at": now, "created_by": actor.username, "updated_at": now,
            "updated_by": actor.username, "deleted_at": None,
        })
    if len(new_rows) == 1:
        ids = [int(conn.execute(_INSERT_RECORD, new_rows[0]).scalar_one())]
    else:
        ids = [int(i) for i in conn.execute(_INSERT_RECORDS, new_rows).scalars()]
    project(conn, ctx, capp, form, ids)
    entries = []
    for record_id, row in zip(ids, new_rows, strict=True):
        row["id"] = record_id
        claim_uniques(conn, app=app, form=form, cform=cform, record_id=record_id, old=None,
                      new=row["data"], lang=lang)
        entries.append(_history_row(record_id=record_id, seq=1, action="create",
                                    actor=actor, at=now, prev=history.GENESIS,
                                    diff=history.diff_of(None, row["data"])))
    if batch is None:
        conn.execute(_INSERT_HISTORY, entries)
    else:
        batch.add_history(entries)
        for row in new_rows:
            batch.remember({**row, "marks": None})
    _changed(app, form)
    for record_id, row in zip(ids, new_rows, strict=True):
        ctx.hooks.fire(conn, ctx, WriteEvent(app, form, str(record_id), "created", None,
                                             row["data"], actor, depth,
                                             system={**row, "marks": None}))
    return [record_json(row) for row in new_rows]


def _load(conn: Connection, app: str, form: str, record_id: int, *,
          lock: bool = False) -> Row[Any]:
    row = conn.execute(_SELECT_RECORD_FOR_UPDATE if lock else _SELECT_RECORD,
                       {"r_id": record_id, "r_app": app, "r_form": form}).first()
    if row is None:
        raise not_found("记录", "Record", record_id)
    return row


def get(conn: Connection, ctx: Context, *, app: str, form: str,
        record_id: str | int) -> dict[str, Any]:
    ctx.apps.current(conn, app).form_spec(form)
    return record_json(_load(conn, app, form, parse_id(record_id)))


def update_record(conn: Connection, ctx: Context, *, app: str, form: str,
                  record_id: str | int, patch: Any, actor: Actor,
                  expected_version: int | None = None, lang: str = "zh",
                  depth: int = 0, batch: WriteBatch | None = None) -> dict[str, Any]:
    """Apply a partial change. `expected_version` (If-Match) makes a stale write a 412.
    With a `batch`, a record it wrote is not read back and the history entry waits in
    it (see runtime.records.batch)."""
    capp = ctx.apps.current(conn, app)
    cform = capp.form(form)
    if not isinstance(patch, dict):
        raise BadRequest("记录数据必须是 JSON 对象", "Record data must be a JSON object",
                         code="bad_data")
    rid = parse_id(record_id)
    batch = _active(ctx, batch)
    known = batch.row(rid, app, form) if batch is not None else None
    row = known if known is not None else dict(_load(conn, app, form, rid, lock=True)._mapping)
    _check_version(row["version"], expected_version)
    old = dict(row["data"])
    system = {k: v for k, v in record_json(row).items()
              if k in ("id", "owner", "department", "created_at", "created_by", "version")}
    system.update(updated_at=ctx.clock.now(), updated_by=actor.username)
    values = forms.process(conn, ctx, capp, cform, {**old, **patch}, old=old, actor=actor,
                           lang=lang, system=system, trusted=depth > 0)  # rules, flows
    diff = history.diff_of(old, values)
    now = ctx.clock.now()
    claim_uniques(conn, app=app, form=form, cform=cform, record_id=rid, old=old, new=values,
                  lang=lang)
    version = row["version"]
    changed = conn.execute(_UPDATE_RECORD, {
        "r_id": rid, "r_version": version, "r_data": values, "r_new_version": version + 1,
        "r_form_version": capp.version, "r_at": now, "r_by": actor.username}).rowcount
    if changed != 1:  # someone else wrote between our read and write
        raise _stale(version)
    project(conn, ctx, capp, form, [rid])
    _add_history(conn, record_id=rid, seq=version + 1, action="update", actor=actor,
                 at=now, diff=diff, batch=batch)
    written = {**row, "data": values, "version": version + 1, "form_version": capp.version,
               "updated_at": now, "updated_by": actor.username}
    if batch is not None:
        batch.remember(written)
    result = record_json(written)
    if diff:
        _changed(app, form)
        ctx.hooks.fire(conn, ctx, WriteEvent(app, form, str(rid), "updated", old, values,
                                             actor, depth,
                                             system={**result, "marks": row["marks"]}))
    return result


def delete_record(conn: Connection, ctx: Context, *, app: str, form: str,
                  record_id: str | int, actor: Actor, expected_version: int | None = None,
                  depth: int = 0, batch: WriteBatch | None = None) -> None:
    """Soft delete: the record leaves lists, reports and rules; its history stays."""
    capp = ctx.apps.current(conn, app)
    cform = capp.form(form)
    rid = parse_id(record_id)
    row = _load(conn, app, form, rid, lock=True)
    _check_version(row.version, expected_version)
    batch = _active(ctx, batch)
    if batch is not None:
        batch.forget(rid)
    now = ctx.clock.now()
    changed = conn.execute(
        update(records).where(records.c.id == rid, records.c.version == row.version)
        .values(deleted_at=now, version=row.version + 1, updated_at=now,
                updated_by=actor.username)).rowcount
    if changed != 1:
        raise _stale(row.version)
    project(conn, ctx, capp, form, [rid])
    release_uniques(conn, app=app, form=form, cform=cform, record_id=rid)
    _changed(app, form)
    _add_history(conn, record_id=rid, seq=row.version + 1, action="delete", actor=actor,
                 at=now, diff={}, batch=batch)
    ctx.hooks.fire(conn, ctx, WriteEvent(app, form, str(rid), "deleted", dict(row.data),
                                         None, actor, depth, system={
                                             **row._mapping, "version": row.version + 1,
                                             "updated_at": now,
                                             "updated_by": actor.username}))


def project(conn: Connection, ctx: Context, capp: CompiledApp, form: str,
             ids: Sequence[int]) -> None:
    """The written records' narrow copies, for the reports that join to their form
    (PostgreSQL; runtime.store.projections)."""
    if conn.dialect.name != "postgresql":
        return
    from runtime.reports.provider import projected_fields_of

    projections.sync(conn, app=capp.key, form=form, ids=ids,
                     fields=projected_fields_of(capp, ctx.tz))


def _changed(app: str, form: str) -> None:
    """Cached report results that read this form are stale from now on. (Bumped inside
    the write's transaction; a report computed between this and the commit is cached
    for at most the cache's lifetime.)"""
    from runtime.reports.cache import invalidate

    invalidate(app, form)


def _active(ctx: Context, batch: WriteBatch | None) -> WriteBatch | None:
    """A batch is used only while no write hooks are registered: hooks write records
    without it and must find every earlier write in the database."""
    return batch if batch is not None and not ctx.hooks.after_write else None


def _check_version(version: int, expected: int | None) -> None:
    if expected is not None and version != expected:
        raise _stale(version)


def _stale(current: int) -> StaleVersion:
    return StaleVersion(f"记录已被他人修改（当前版本 {current}），请刷新后重试",
                        f"The record was changed by someone else (now version {current}); "
                        "reload and try again")


def _history_row(*, record_id: int, seq: int, action: str, actor: Actor, at: datetime,
                 prev: str, diff: dict[str, Any]) -> dict[str, Any]:
    h = history.entry_hash(prev_hash=prev, record_id=record_id, seq=seq, action=action,
                           actor=actor.username, at=at, diff=diff)
    return {"record_id": record_id, "seq": seq, "action": action, "actor": actor.username,
            "at": at, "diff": diff, "prev_hash": prev, "hash": h}


def _add_history(conn: Connection, *, record_id: int, seq: int, action: str, actor: Actor,
                 at: datetime, diff: dict[str, Any], batch: WriteBatch | None = None) -> None:
    prev = history.GENESIS if seq == 1 else (
        batch.last_hash(record_id, seq - 1) if batch is not None else None) or conn.execute(
        _LAST_HASH, {"h_id": record_id, "h_seq": seq - 1}).scalar_one()
    entry = _history_row(record_id=record_id, seq=seq, action=action, actor=actor, at=at,
                         prev=prev, diff=diff)
    if batch is None:
        conn.execute(_INSERT_HISTORY, entry)
    else:
        batch.add_history([entry])


def get_history(conn: Connection, ctx: Context, *, app: str, form: str,
                record_id: str | int) -> dict[str, Any]:
    """The record's history (also after a soft delete) and whether its chain verifies."""
    ctx.apps.current(conn, app).form_spec(form)
    rid = parse_id(record_id)
    row = conn.execute(select(records.c.version).where(
        records.c.id == rid, records.c.app == app, records.c.form == form)).first()
    if row is None:
        raise not_found("记录", "Record", record_id)
    entries = conn.execute(select(record_history).where(record_history.c.record_id == rid)
                           .order_by(record_history.c.seq)).all()
    check = history.verify(rid, entries, row.version)
    return {"record_id": str(rid), "entries": history.render(entries),
            "verified": check.verified, "problem": check.problem, "at_seq": check.at_seq}


__all__ = ["ValidationFailed", "create", "create_many", "delete_record", "get", "get_history",
           "record_json", "update_record"]
