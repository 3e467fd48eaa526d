"""Expression indexes for fields a form marks `indexed` (and relation fields).

Created when an app is published. Each index is the very expression the SQL back end
of the expression language produces for that field, so list filters, report queries
and scheduled rules can use it on both databases.

Each index is *partial*: `WHERE app = '<app>' AND form = '<form>'`. All forms share one
`records` table, so a whole-table index on `data->>'customer'` would get an entry (a
JSON parse on SQLite and a B-tree insert on both) for every record of every form, and a
template like the credit CRM has about fifty of them: writing one record meant fifty
index updates, and installing its demo data spent most of its time there. Partial, a
record only touches the few indexes of its own form. Queries keep using them because
every records query says `app = ? AND form = ?`: SQLite matches the bound values
against the index's WHERE (and re-prepares when they change), PostgreSQL plans with
the values (custom plans), as the tests in tests/runtime/store check with EXPLAIN.

Names are `ix_rec_<app digest>_<digest of form, field and expression>`: a field whose
type (and so its expression) changes gets a new index, and publishing drops the app's
indexes that the new version no longer declares, including those of the first naming
scheme (one whole-table index per form and field).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, Index, text
from sqlalchemy.schema import CreateIndex

from builder.bundle import Bundle
from runtime.store.tables import records

PREFIX = "ix_rec_"


def _digest(value: str, size: int) -> str:
    return hashlib.sha1(value.encode(), usedforsecurity=False).hexdigest()[:size]


def app_prefix(app: str) -> str:
    """The name prefix every expression index of `app` starts with."""
    return f"{PREFIX}{_digest(app, 8)}_"


def index_name(app: str, form: str, field: str, expression: str) -> str:
    return f"{app_prefix(app)}{_digest(f'{form}.{field}.{expression}', 16)}"


def legacy_index_name(app: str, form: str, field: str) -> str:
    """The first scheme's name (whole-table index on app, form, expression)."""
    return f"{PREFIX}{_digest(f'{app}.{form}.{field}', 16)}"


def existing_indexes(conn: Connection) -> set[str]:
    """Names of the expression indexes on `records` in this database."""
    if conn.dialect.name == "postgresql":
        sql = ("SELECT indexname FROM pg_indexes WHERE tablename = 'records' "
               "AND schemaname = current_schema()")
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'"
    return {name for (name,) in conn.execute(text(sql)) if name.startswith(PREFIX)}


def wanted_indexes(conn: Connection, bundle: Bundle) -> tuple[dict[str, Index], set[str]]:
    """The partial expression indexes the bundle declares, by name, and the names the
    first scheme would have given every field of its forms (to drop where present)."""
    from runtime.apps.registry import CompiledApp
    from runtime.expr.sql_context import RecordsSqlContext

    capp = CompiledApp(bundle.key, 0, bundle)
    wanted: dict[str, Index] = {}
    legacy: set[str] = set()
    for form_key in bundle.of("forms"):
        cform = capp.form(form_key)
        legacy.update(legacy_index_name(bundle.key, form_key, p.key) for p in cform.plans)
        sctx = RecordsSqlContext(dialect=conn.dialect.name, app=bundle.key, form=form_key)
        for key in cform.indexed_fields:
            field = cform.scope.field_of(key)
            if field is None:
                continue
            expr = sctx.field(key, field.type)
            sql = str(expr.compile(dialect=conn.dialect,
                                   compile_kwargs={"literal_binds": True}))
            name = index_name(bundle.key, form_key, key, sql)
            where = (records.c.app == bundle.key) & (records.c.form == form_key)
            ix = Index(name, expr, sqlite_where=where, postgresql_where=where)
            # Index() attaches itself to the shared `records` Table; detach it, or a
            # later metadata.create_all would replay one dialect's expression on another.
            records.indexes.discard(ix)
            wanted[name] = ix
    return wanted, legacy


def ensure_indexes(conn: Connection, bundle: Bundle) -> list[str]:
    """Create the bundle's indexes that are missing and drop the app's stale ones;
    returns the names of the indexes the app now has."""
    wanted, legacy = wanted_indexes(conn, bundle)
    existing = existing_indexes(conn)
    prefix = app_prefix(bundle.key)
    for name in sorted(existing - set(wanted)):
        if name.startswith(prefix) or name in legacy:
            conn.execute(text(f'DROP INDEX IF EXISTS "{name}"'))
    for name, ix in wanted.items():
        if name not in existing:
            conn.execute(CreateIndex(ix, if_not_exists=True))
    return list(wanted)
