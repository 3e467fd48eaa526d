"""Keeping the narrow copies of related records in step (engines.report.projection).

Every write of a record whose form is projected copies the record's projected fields
and system columns into `record_projections`, in the write's own transaction, by
re-reading the written rows (`sync`): one statement for a whole batch, whatever the
write was (create, update, soft delete). Publishing a version refills the app's copies
for the fields that version's reports read (`rebuild`) and records the version it
built them for in `projection_builds`: reports join the copies only when that is the
version they belong to (`runtime.reports.provider`). Only PostgreSQL reads the copies,
so only PostgreSQL keeps them: on SQLite both are no-ops.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, any_, bindparam, cast, delete, func, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT, JSONB, TEXT
from sqlalchemy.dialects.postgresql import insert as pg_insert

from runtime.store.tables import (
    PROJECTED_COLUMNS,
    projection_builds,
    record_projections,
    records,
)

_SYSTEM = tuple(c for c in PROJECTED_COLUMNS if c not in ("app", "form", "data"))


def _copy(*, live_only: bool) -> Any:
    """INSERT … SELECT of the records of (:app, :form) with only the :keys fields."""
    r = records.alias("r")
    each = func.jsonb_each(r.c.data).table_valued("key", "value").alias("e")
    subset = func.coalesce(
        select(func.jsonb_object_agg(each.c.key, each.c.value))
        .where(each.c.key == any_(bindparam("keys", type_=ARRAY(TEXT))))
        .scalar_subquery(), cast(literal("{}"), JSONB))
    rows = select(r.c.id, r.c.app, r.c.form, subset, *(r.c[c] for c in _SYSTEM)).where(
        r.c.app == bindparam("app"), r.c.form == bindparam("form"))
    if live_only:
        rows = rows.where(r.c.deleted_at.is_(None))
    else:
        rows = rows.where(r.c.id == any_(bindparam("ids", type_=ARRAY(BIGINT))))
    return pg_insert(record_projections).from_select(
        ["id", "app", "form", "data", *_SYSTEM], rows)


def _upsert() -> Any:
    """The copy of the records :ids, replacing copies made before."""
    stmt = _copy(live_only=False)
    return stmt.on_conflict_do_update(
        index_elements=["id"], set_={c: stmt.excluded[c] for c in ("data", *_SYSTEM)})


_REFILL = _copy(live_only=True)
_SYNC = _upsert()


def sync(conn: Connection, *, app: str, form: str, ids: Collection[int],
         fields: Mapping[str, frozenset[str]]) -> None:
    """Copy the written records `ids` of `form` (PostgreSQL, projected forms only)."""
    keys = fields.get(form)
    if keys is None or not ids or conn.dialect.name != "postgresql":
        return
    conn.execute(_SYNC, {"app": app, "form": form, "keys": sorted(keys),
                         "ids": sorted(ids)})


def rebuild(conn: Connection, *, app: str, version: int,
            fields: Mapping[str, frozenset[str]], now: datetime) -> None:
    """Refill the app's copies for `fields`, the projection of app version `version`."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(delete(record_projections).where(record_projections.c.app == app))
    for form, keys in sorted(fields.items()):
        conn.execute(_REFILL, {"app": app, "form": form, "keys": sorted(keys)})
    conn.execute(text("ANALYZE record_projections"))  # the planner sizes the joins by it
    stmt = pg_insert(projection_builds).values(app=app, version=version, built_at=now)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["app"], set_={"version": version, "built_at": now}))


def built_version(conn: Connection, app: str) -> int | None:
    """The app version the app's copies were built for; None when never built."""
    found = conn.execute(select(projection_builds.c.version)
                         .where(projection_builds.c.app == app)).scalar()
    return None if found is None else int(found)
