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
    """Runs each statement for real, remembers which started when and on which
    connection. With `hold`, the statement of that name waits (up to 10 s) until
    another one has started: on PostgreSQL that proves they run at once, on a machine
    however loaded."""

    def __init__(self, fail: str | None = None, hold: str | None = None) -> None:
        self.started: list[str] = []
        self.connections: set[int] = set()
        self.fail, self.hold = fail, hold
        self.lock = threading.Lock()
        self.another_started = threading.Event()
        self.held_alone = False

    def __call__(self, conn: Connection, statement: Executable) -> Sequence[Any]:
        name = str(conn.execute(statement).scalar_one())  # really runs: SELECT '<name>'
        with self.lock:
            self.started.append(name)
            self.connections.add(id(conn))
        if name != self.hold:
            self.another_started.set()
        elif not self.another_started.wait(10):
            self.held_alone = True
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
        parallel = ctx.engine.dialect.name == "postgresql"
        first = Recorder()
        rows = run_statements(conn, statements(), workers=2, run=first, keys=keys)
        assert [r[0]["name"] for r in rows] == list(SLEEPS)
        # nothing known yet: the order given (on PostgreSQL the first two taken start
        # at the same time, either may be seen first)
        assert first.started == list(SLEEPS) or (parallel and first.started[0] in "ab")
        assert all(last_duration(k) is not None for k in keys)
        second = Recorder(hold="b" if parallel else None)
        rows = run_statements(conn, statements(), workers=2, run=second, keys=keys)
    assert [r[0]["name"] for r in rows] == list(SLEEPS)
    if not parallel:  # one after the other, the longest last time first
        assert second.started == ["b", "d", "c", "a"]
        assert len(second.connections) == 1
    else:  # the two longest start first, one on each connection, at the same time
        assert set(second.started[:2]) == {"b", "d"}
        assert not second.held_alone
        assert len(second.connections) == 2


def test_a_failing_statement_fails_the_call_and_stops_the_queue(ctx: Context) -> None:
    recorder = Recorder(fail="a")
    many = statements() * 5
    with ctx.engine.connect() as conn, pytest.raises(RuntimeError, match="statement a"):
        run_statements(conn, many, workers=2, run=recorder)
    assert len(recorder.started) < len(many)
