"""Run a report statement with a time limit that the database enforces.

PostgreSQL: `SET LOCAL statement_timeout` inside a savepoint, so a cancelled query
rolls back only the savepoint (the caller's transaction stays usable) and the
setting ends with it. SQLite: a progress handler that interrupts the statement once
the deadline has passed (the embedded database has no server-side timeout).
Either way the viewer gets `ReportTimeoutError` with a message, never a hung request.
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


@dataclass(frozen=True, slots=True)
class Limits:
    row_limit: int = 10_000  # aggregated rows a report may return
    timeout_ms: int = 15_000


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


def execute(conn: Connection, statement: Executable, timeout_ms: int) -> Sequence[Any]:
    """All result rows as mappings, or ReportTimeoutError."""
    if conn.dialect.name == "postgresql":
        return _execute_pg(conn, statement, timeout_ms)
    return _execute_sqlite(conn, statement, timeout_ms)


def _execute_pg(conn: Connection, statement: Executable, timeout_ms: int) -> Sequence[Any]:
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
            rows = conn.execute(statement).mappings().all()
            conn.exec_driver_sql("SET LOCAL statement_timeout = DEFAULT")
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
