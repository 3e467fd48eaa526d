"""Database engines for SQLite (embedded default) and PostgreSQL.

SQLite is put in WAL mode (readers never wait for the writer) and every transaction
starts with `BEGIN IMMEDIATE`: the write lock is taken up front, so two writers queue
on the busy timeout instead of one failing with "database is locked" when it upgrades
a read lock — which is what makes auto-numbers and optimistic locks safe there.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever the URL names."""
    u = make_url(url)
    if u.get_backend_name() == "postgresql" and u.drivername != "postgresql+psycopg":
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                           **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        try:
            cur.execute("SELECT ln(1)")
        except sqlite3.OperationalError:
            add_math_functions(dbapi_conn)
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _positive(fn: Callable[[float], float]) -> Callable[[float | None], float | None]:
    return lambda x: None if x is None or x <= 0 else fn(x)


def _log(*args: float | None) -> float | None:
    """SQLite's log(x) is base 10 and log(b, x) base b, as in its math extension."""
    if any(a is None for a in args):
        return None
    base, x = (10.0, args[0]) if len(args) == 1 else args
    if x is None or base is None or x <= 0 or base <= 0 or base == 1:
        return None
    return math.log10(x) if base == 10 else math.log(x) / math.log(base)


def add_math_functions(dbapi_conn: sqlite3.Connection) -> None:
    """ln, log, exp and sqrt (the expression language's LN, LOG, EXP, SQRT compile to
    them) for a SQLite built without its math functions: deterministic Python versions
    with SQLite's NULL-outside-the-domain behaviour."""
    dbapi_conn.create_function("ln", 1, _positive(math.log), deterministic=True)
    dbapi_conn.create_function("log", 1, _log, deterministic=True)
    dbapi_conn.create_function("log", 2, _log, deterministic=True)
    dbapi_conn.create_function(
        "exp", 1, lambda x: None if x is None or x > 709.78 else math.exp(x),
        deterministic=True)
    dbapi_conn.create_function(
        "sqrt", 1, lambda x: None if x is None or x < 0 else math.sqrt(x), deterministic=True)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One unit of work: commit on success, roll back on any error."""
    with engine.begin() as conn:
        yield conn
