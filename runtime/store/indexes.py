"""Expression indexes for fields a form marks `indexed` (and relation fields), and on
SQLite one covering index per report.

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

On SQLite each report also gets a covering index (`engines.report.indexing`: its group
keys, then every value it reads), partial to its source form's live records
(`deleted_at IS NULL`, which every report query says): SQLite parses a record's JSON
again for every field it extracts, and serves a report from such an index without
opening a record. PostgreSQL gets none (see that module).

Names are `ix_rec_<app digest>_<digest of form, field and expression>`: a field whose
type (and so its expression) changes gets a new index, and publishing drops the app's
indexes that the new version no longer declares, including those of the first naming
scheme (one whole-table index per form and field).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Index, text
from sqlalchemy.schema import CreateIndex

from builder.bundle import Bundle
from engines.expr.env import DEFAULT_TZ
from runtime.store.tables import records

PREFIX = "ix_rec_"


def digest(value: str, size: int) -> str:
    """A short stable digest for a database object name."""
    return hashlib.sha1(value.encode(), usedforsecurity=False).hexdigest()[:size]


def app_prefix(app: str) -> str:
    """The name prefix every expression index of `app` starts with."""
    return f"{PREFIX}{digest(app, 8)}_"


def index_name(app: str, form: str, field: str, expression: str) -> str:
    return f"{app_prefix(app)}{digest(f'{form}.{field}.{expression}', 16)}"


def legacy_index_name(app: str, form: str, field: str) -> str:
    """The first scheme's name (whole-table index on app, form, expression)."""
    return f"{PREFIX}{digest(f'{app}.{form}.{field}', 16)}"


def existing_indexes(conn: Connection) -> set[str]:
    """Names of the expression indexes on `records` in this database."""
    if conn.dialect.name == "postgresql":
        sql = ("SELECT indexname FROM pg_indexes WHERE tablename = 'records' "
               "AND schemaname = current_schema()")
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'"
    return {name for (name,) in conn.execute(text(sql)) if name.startswith(PREFIX)}


def _detached(name: str, *expressions: Any, where: Any) -> Index:
    ix = Index(name, *expressions, sqlite_where=where, postgresql_where=where)
    # Index() attaches itself to the shared `records` Table; detach it, or a later
    # metadata.create_all would replay one dialect's expression on another.
    records.indexes.discard(ix)
    return ix


def _sql(conn: Connection, expr: Any) -> str:
    return str(expr.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))


def report_index(conn: Connection, app: str, report: Any) -> tuple[str, Index] | None:
    """SQLite: the covering index of one compiled report, with its name; None on
    PostgreSQL or when the report reads no value."""
    from engines.report.indexing import covering_key

    if conn.dialect.name != "sqlite":
        return None
    columns = covering_key(report, app=app, table=records,
                           now=datetime(2000, 1, 1, tzinfo=UTC))
    if not columns:
        return None
    name = index_name(app, report.source, "report", ", ".join(_sql(conn, c) for c in columns))
    where = ((records.c.app == app) & (records.c.form == report.source)
             & records.c.deleted_at.is_(None))
    return name, _detached(name, records.c.app, records.c.form, *columns, where=where)


def report_indexes(conn: Connection, capp: Any, tz: ZoneInfo) -> dict[str, Index]:
    """SQLite: one covering index per report of the app (reports reading the same
    values share one), by name."""
    from runtime.reports.provider import compiled_report

    out: dict[str, Index] = {}
    if conn.dialect.name != "sqlite":
        return out  # none elsewhere: do not compile the reports for nothing
    for key in sorted(capp.bundle.of("reports")):
        found = report_index(conn, capp.key, compiled_report(capp, key, tz))
        if found is not None:
            out[found[0]] = found[1]
    return out


def wanted_indexes(conn: Connection, bundle: Bundle, tz: ZoneInfo = DEFAULT_TZ,
                   capp: Any = None) -> tuple[dict[str, Index], set[str]]:
    """The partial expression indexes the bundle declares, by name, and the names the
    first scheme would have given every field of its forms (to drop where present).
    `tz`: the zone report date buckets are computed in (part of their expressions)."""
    from runtime.apps.registry import CompiledApp
    from runtime.expr.sql_context import RecordsSqlContext

    capp = capp if capp is not None else CompiledApp(bundle.key, 0, bundle)
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
            name = index_name(bundle.key, form_key, key, _sql(conn, expr))
            wanted[name] = _detached(name, expr, where=(records.c.app == bundle.key)
                                     & (records.c.form == form_key))
    wanted.update(report_indexes(conn, capp, tz))
    return wanted, legacy


def ensure_indexes(conn: Connection, bundle: Bundle, tz: ZoneInfo = DEFAULT_TZ,
                   capp: Any = None) -> list[str]:
    """Create the bundle's indexes that are missing and drop the app's stale ones;
    returns the names of the indexes the app now has. `capp`: the bundle compiled
    already (publishing shares it with the statistics), else compiled here."""
    wanted, legacy = wanted_indexes(conn, bundle, tz, capp)
    existing = existing_indexes(conn)
    prefix = app_prefix(bundle.key)
    for name in sorted(existing - set(wanted)):
        if name.startswith(prefix) or name in legacy:
            conn.execute(text(f'DROP INDEX IF EXISTS "{name}"'))
    for name, ix in wanted.items():
        if name not in existing:
            conn.execute(CreateIndex(ix, if_not_exists=True))
    return list(wanted)
