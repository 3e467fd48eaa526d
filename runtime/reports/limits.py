"""Run a report statement with a time limit that the database enforces.

PostgreSQL: `SET LOCAL statement_timeout` inside a savepoint, so a cancelled query
rolls back only the savepoint (the caller's transaction stays usable) and the
setting ends with it. SQLite: a progress handler that interrupts the statement once
the deadline has passed (the embedded database has no server-side timeout).
Either way the viewer gets `ReportTimeoutError` with a message, never a hung request.

PostgreSQL also gets planner settings for the statement (`set_config(…, true)`,
put back right after it like the timeout; the server's configuration is untouched):

- `jit = off`: compiling a report's expressions took ~80 ms per statement (EXPLAIN
  ANALYZE of the month × region report over a million records) and saved nothing:
  the fused dashboard scan used 1.33 s of CPU with JIT, 1.25 s without.
- `hash_mem_multiplier` raised so a hash aggregate may hold `Limits.hash_mem_mb` (by
  default 64 MB) per process before it spills to disk. Report statements read the
  records through a statistics fence (`engines.report.query.statistics_fence`), so
  the planner estimates 200 values per grouped key — up to 100,000 groups, whatever
  the size of the table; such a hash table does not fit the default 8 MB, and the
  planner would sort every record instead of hashing the (usually few hundred) real
  groups in parallel workers. The memory is used only when the groups are really
  that many, and past the limit the aggregate spills rather than fails.
- `work_mem` raised to `Limits.sort_mem_mb` (64 MB) when the server's is lower, so a
  sort keeps its rows in memory: the planner cannot estimate how many records match a
  filter on a JSON field (it guessed 12 commitments where 213,000 matched), sorts
  them for a GroupAggregate, and at the default 4 MB the sort went to disk (69 MB
  written, EXPLAIN ANALYZE of the trust dashboard's `kept` widget). The hash memory
  above is computed from the raised value.
- `random_page_cost` lowered to `Limits.random_page_cost` (1.1, the usual figure for
  data in memory or on SSD; the server default 4 is for spinning disks). Every form
  shares the one `records` table, so a report reads a form's rows out of a table
  mostly made of other forms' rows. At 4, the planner prices fetching 486,000
  invoices of a 5.9 M-record table through `ix_records_app_form_id` above reading all
  348,000 pages, and scans the whole table for each widget: 2.5 s, 3.6 GB read,
  against 0.26 s and 75,000 pages through the index (EXPLAIN ANALYZE, the 100,000-
  customer credit CRM, bench/crm.py --scale 100000 --dashboard-only). A form that is
  most of the table is still scanned sequentially: the estimate still says so.
- `enable_indexscan = off`: with that page cost, the planner read a form's rows
  through a plain index scan, one heap page per row in index order (the index of
  some boolean field of the form); a bitmap heap scan over the same index reads the
  pages in table order, each once. The trust dashboard's statements one after the
  other: 3.7 s against 4.4 s; its ageing widget 0.46 s against 0.70 s. Report
  statements read many rows and never want rows in index order (they sort their few
  groups), so nothing is lost; index-only scans stay allowed.
- `max_parallel_workers_per_gather = 0` for the statements of a dashboard that has
  more statements than connections to run them on (`runtime.reports.service`): every
  connection is then busy for the whole run, so the CPUs are too, and a statement's
  parallel workers only take turns with the other statements. The trust dashboard at
  100,000 customers (7 statements on 3 connections, two cores): median 1.68 s / 1.70 s
  with the server's 2 workers, 1.46 s / 1.54 s with none, runs alternated. A dashboard
  with fewer statements keeps them: bench/reports.py's six widgets in 2 statements
  took 618 ms with workers, 928 ms without.
- Not `enable_sort = off`: it cured a 69 MB sort of the trust dashboard's commitments
  (the planner guessed 11 rows where 213,000 matched), but it also priced out the
  few-row sorts of parallel aggregation, and a plain month × region widget went
  from 0.46 s to 0.94 s over a million records. The guess is fixed at its cause
  instead: statistics on the filtered JSON values (`runtime.store.statistics`) — the
  planner then estimates 109,000 rows and hashes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import Executable

from runtime.errors import LoomError

QUERY_CANCELED = "57014"
PROGRESS_STEPS = 20_000  # SQLite VM steps between deadline checks
HASH_MEM_MB = 64
SORT_MEM_MB = 64
RANDOM_PAGE_COST = 1.1


@dataclass(frozen=True, slots=True)
class Limits:
    row_limit: int = 10_000  # aggregated rows a report may return
    timeout_ms: int = 15_000
    hash_mem_mb: int = HASH_MEM_MB  # PostgreSQL: memory a hash aggregate may use per process
    sort_mem_mb: int = SORT_MEM_MB  # PostgreSQL: memory a sort may use per process
    fuse_max_rows: int = 50_000  # a dashboard's fused grain past this: one scan per widget
    parallel_statements: int = 3  # PostgreSQL: a dashboard's statements run at once
    random_page_cost: float = RANDOM_PAGE_COST  # PostgreSQL: planner cost of a page by index


class ReportTimeoutError(LoomError):
    status = 503
    code = "report_timeout"


class TooManyRowsError(LoomError):
    status = 422
    code = "report_too_many_rows"


def timeout_error(ms: int) -> ReportTimeoutError:
    return ReportTimeoutError(
        f"报表查询超过 {ms / 1000:g} 秒未完成，已停止；请缩小筛选范围",
        f"the report query ran past {ms / 1000:g} s and was stopped; narrow the filters")


def execute(conn: Connection, statement: Executable, timeout_ms: int, *,
            hash_mem_mb: int = HASH_MEM_MB, sort_mem_mb: int = SORT_MEM_MB,
            random_page_cost: float = RANDOM_PAGE_COST,
            parallel_workers: int | None = None) -> Sequence[Any]:
    """All result rows as mappings, or ReportTimeoutError. `parallel_workers` caps the
    statement's parallel workers on PostgreSQL (None: the server's setting)."""
    if conn.dialect.name == "postgresql":
        return _execute_pg(conn, statement, timeout_ms, hash_mem_mb, sort_mem_mb,
                           random_page_cost, parallel_workers)
    return _execute_sqlite(conn, statement, timeout_ms)


# work_mem (in kB) and the hash multiplier over it come from one subquery, so neither
# depends on the order PostgreSQL evaluates the select list in
_PG_SETTINGS = (
    "SELECT set_config('statement_timeout', %(timeout)s, true),"
    " set_config('jit', 'off', true),"
    " set_config('work_mem', (m.work / 1024)::bigint::text, true),"
    " set_config('hash_mem_multiplier', greatest(current_setting('hash_mem_multiplier')::float8,"
    " least(1000, %(hash_bytes)s / m.work))::text, true),"
    " set_config('random_page_cost', %(page_cost)s, true),"
    " set_config('enable_indexscan', 'off', true),"
    " set_config('max_parallel_workers_per_gather', coalesce(%(workers)s,"
    " current_setting('max_parallel_workers_per_gather')), true)"
    " FROM (SELECT greatest(pg_size_bytes(current_setting('work_mem')),"
    " %(sort_bytes)s)::float8 AS work) AS m")
_PG_RESET = ("SELECT set_config(name, reset_val, true) FROM pg_settings"
             " WHERE name IN ('statement_timeout', 'jit', 'work_mem', 'hash_mem_multiplier',"
             " 'random_page_cost', 'enable_indexscan', 'max_parallel_workers_per_gather')")


def _execute_pg(conn: Connection, statement: Executable, timeout_ms: int,
                hash_mem_mb: int, sort_mem_mb: int, random_page_cost: float,
                parallel_workers: int | None) -> Sequence[Any]:
    workers = None if parallel_workers is None else str(max(0, int(parallel_workers)))
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(_PG_SETTINGS, {"timeout": str(int(timeout_ms)),
                                                "hash_bytes": float(hash_mem_mb) * 2**20,
                                                "sort_bytes": int(sort_mem_mb) * 2**20,
                                                "page_cost": repr(float(random_page_cost)),
                                                "workers": workers})
            rows = conn.execute(statement).mappings().all()
            conn.exec_driver_sql(_PG_RESET)  # SET LOCAL outlives the savepoint
            return rows
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == QUERY_CANCELED:
            raise timeout_error(timeout_ms) from exc
        raise


def _execute_sqlite(conn: Connection, statement: Executable, timeout_ms: int) -> Sequence[Any]:
    raw = conn.connection.dbapi_connection
    deadline = time.monotonic() + timeout_ms / 1000

    def past_deadline() -> int:
        return 1 if time.monotonic() > deadline else 0

    raw.set_progress_handler(past_deadline, PROGRESS_STEPS)  # type: ignore[union-attr]
    try:
        return conn.execute(statement).mappings().all()
    except OperationalError as exc:
        if "interrupted" in str(exc.orig):
            raise timeout_error(timeout_ms) from exc
        raise
    finally:
        raw.set_progress_handler(None, 0)  # type: ignore[union-attr]
