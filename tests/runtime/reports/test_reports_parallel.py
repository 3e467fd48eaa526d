"""A dashboard's statements over one queue (runtime.reports.parallel): rows come back in
the order given, the statements that took longest last time start first, and a
failing statement fails the call and stops the others from taking more (SQLite runs
them one after the other; PostgreSQL on several connections)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.sql import Executable

from runtime.context import Context
from runtime.reports.parallel import last_duration, run_statements

SLEEPS = {"a": 0.01, "b": 0.12, "c": 0.03, "d": 0.06}


class Recorder:
    def __init__(self, fail: str | None = None) -> None:
        self.started: list[str] = []
        self.connections: set[int] = set()
        self.fail = fail
        self.lock = threading.Lock()

    def __call__(self, conn: Connection, statement: Executable) -> Sequence[Any]:
        name = str(conn.execute(statement).scalar_one())  # really runs: SELECT '<name>'
        with self.lock:
            self.started.append(name)
            self.connections.add(id(conn))
        if name == self.fail:
            raise RuntimeError(f"statement {name} failed")
        time.sleep(SLEEPS[name])
        return [{"name": name}]


def statements() -> list[Executable]:
    return [text(f"SELECT '{name}'") for name in SLEEPS]


def test_rows_in_order_and_the_longest_first_once_known(ctx: Context) -> None:
    run_id = uuid.uuid4().hex  # keys of this test only: the memory is the process's
    keys = [("app", run_id, (name,)) for name in SLEEPS]
    with ctx.engine.connect() as conn:
        first = Recorder()
        rows = run_statements(conn, statements(), workers=2, run=first, keys=keys)
        assert [r[0]["name"] for r in rows] == list(SLEEPS)
        assert first.started[:1] == ["a"]  # nothing known yet: the order given
        assert all(last_duration(k) is not None for k in keys)
        second = Recorder()
        rows = run_statements(conn, statements(), workers=2, run=second, keys=keys)
    assert [r[0]["name"] for r in rows] == list(SLEEPS)
    assert second.started[0] == "b"  # the longest last time
    if ctx.engine.dialect.name == "sqlite":
        assert second.started == ["b", "d", "c", "a"]
        assert len(second.connections) == 1
    else:
        assert len(second.connections) == 2  # the caller's and one of its own


def test_a_failing_statement_fails_the_call_and_stops_the_queue(ctx: Context) -> None:
    recorder = Recorder(fail="a")
    many = statements() * 5
    with ctx.engine.connect() as conn, pytest.raises(RuntimeError, match="statement a"):
        run_statements(conn, many, workers=2, run=recorder)
    assert len(recorder.started) < len(many)
