"""PostgreSQL: statistics on the JSON values reports filter on, made when an app is
published.

PostgreSQL keeps statistics per column, and every field of every form is inside the
one `data` column: a report's filter on `status` or `party` gets the planner's default
guess (a few records), and the plan built on it hashes and sorts hundreds of
thousands of wide rows as if they were a handful (`engines.report.indexing.
filter_columns` has the figures). An extended statistics object over the form and the
filtered values (`CREATE STATISTICS … ON form, (data ->> 'party'), …`) gives the
planner each value's distribution and their combinations per form; ANALYZE fills it:
run here when an object is new and the records are already many, and by autovacuum
after. Not on a near-empty table: statistics saying "no records" made the planner
read a record by its id through a per-form index, scanning every customer (2.4 ms a
lookup at 500 customers, growing with them) instead of the primary key — found by a
100,000-customer demo-data run on a server with autovacuum off.

One object per report whose filters compare source-form values (reports filtering the
same values share it), at most `MAX_VALUES` values each (PostgreSQL allows eight
columns and expressions per object, one of them the form). Names are
`st_rec_<app digest>_<digest of form and expressions>`; publishing drops the app's
objects that the new version no longer needs. SQLite has no such thing (its reports
read covering indexes, `runtime.store.indexes`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from runtime.store.indexes import digest
from runtime.store.tables import records

if TYPE_CHECKING:
    from engines.report.compile import CompiledReport
    from runtime.apps.registry import CompiledApp

PREFIX = "st_rec_"
MAX_VALUES = 7
ANALYZE_FROM_BYTES = 16 * 2**20  # the records table's size from which publishing analyzes
_NOW = datetime(2000, 1, 1, tzinfo=UTC)


def app_prefix(app: str) -> str:
    return f"{PREFIX}{digest(app, 8)}_"


def wanted_statistics(conn: Connection, capp: CompiledApp, tz: ZoneInfo) -> dict[str, str]:
    """The app's statistics objects, name → CREATE STATISTICS statement."""
    from runtime.reports.provider import compiled_report

    return report_statistics(conn, capp.key, (compiled_report(capp, key, tz)
                                              for key in sorted(capp.bundle.of("reports"))))


def report_statistics(conn: Connection, app: str,
                      reports: Iterable[CompiledReport]) -> dict[str, str]:
    """The statistics objects of an app's compiled reports, name → CREATE STATISTICS
    statement (what publishing makes; bench/reports.py makes them for its reports)."""
    from engines.report.indexing import filter_columns

    out: dict[str, str] = {}
    for report in reports:
        columns = filter_columns(report, app=app, table=records, dialect="postgresql",
                                 now=_NOW)[:MAX_VALUES]
        if not columns:
            continue
        expressions = ", ".join(
            f"({c.compile(dialect=conn.dialect, compile_kwargs={'literal_binds': True})})"
            for c in columns)
        name = f"{app_prefix(app)}{digest(f'{report.source}:{expressions}', 16)}"
        out[name] = (f'CREATE STATISTICS IF NOT EXISTS "{name}" ON form, {expressions} '
                     "FROM records")
    return out


def existing_statistics(conn: Connection) -> set[str]:
    rows = conn.execute(text(
        "SELECT stxname FROM pg_statistic_ext WHERE stxrelid = 'records'::regclass "
        "AND stxnamespace = current_schema()::regnamespace"))
    return {name for (name,) in rows if name.startswith(PREFIX)}


def ensure_statistics(conn: Connection, capp: CompiledApp, tz: ZoneInfo) -> list[str]:
    """PostgreSQL: create the app's missing statistics objects (then ANALYZE the
    records, so the next report is planned with them) and drop its stale ones; returns
    the names the app now has. Nothing on SQLite."""
    if conn.dialect.name != "postgresql":
        return []
    wanted = wanted_statistics(conn, capp, tz)
    existing = existing_statistics(conn)
    prefix = app_prefix(capp.key)
    for name in sorted(existing - set(wanted)):
        if name.startswith(prefix):
            conn.execute(text(f'DROP STATISTICS IF EXISTS "{name}"'))
    created = [name for name in wanted if name not in existing]
    for name in created:
        conn.execute(text(wanted[name]))
    if created and conn.execute(text("SELECT pg_relation_size('records')")
                                ).scalar_one() >= ANALYZE_FROM_BYTES:
        conn.execute(text("ANALYZE records"))
    return list(wanted)
