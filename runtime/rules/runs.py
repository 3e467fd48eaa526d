"""The run log (`rule_runs`) and the once-per claims (`rule_claims`).

A claim is one insert on the primary key (app, rule, subject, episode) with "on
conflict do nothing": on PostgreSQL a second transaction inserting the same key waits
for the first and then gets nothing, so two schedulers never both fire.

The run log is written behind: a firing's row waits on its connection and all the
rows of a transaction are inserted with one `executemany` just before it commits
(`write_behind` wires the engine). Why: a firing's own INSERT was a third of what one
matching rule adds to a save; batched, it costs a small share of one statement. The
rows commit or roll back exactly as if written at once: a rollback drops them, a
rollback to a savepoint drops those logged inside it, and anything that reads the run
log on that connection (`list_runs`) flushes first. Where the engine is not wired, or
the connection autocommits, a row is inserted at once.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, event, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engines.rule.compiled import Claim
from runtime.ids import as_id
from runtime.store.tables import rule_claims, rule_runs

MAX_LIST = 500
_INSERT_RUN = insert(rule_runs)  # built once: the run log is written on every firing


def claim(conn: Connection, *, app: str, claim: Claim, now: datetime) -> bool:
    """Take the claim; False when someone (this or another process) already has it."""
    build = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = build(rule_claims).values(app=app, rule=claim.rule, subject=claim.subject[:64],
                                     episode=claim.episode[:128], claimed_at=now)
    stmt = stmt.on_conflict_do_nothing(index_elements=["app", "rule", "subject", "episode"])
    # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING.
    return conn.execute(stmt.returning(rule_claims.c.rule)).first() is not None


def claimed_keys(conn: Connection, *, app: str, rule: str,
                 subjects: Sequence[str]) -> set[str]:
    """The claim keys already taken for these subjects (and "*"), for dry runs."""
    wanted = [*subjects, "*"]
    rows = conn.execute(select(rule_claims.c.subject, rule_claims.c.episode).where(
        rule_claims.c.app == app, rule_claims.c.rule == rule,
        rule_claims.c.subject.in_(wanted))).all()
    return {Claim(rule, r.subject, r.episode).key for r in rows}


_PENDING = "loom.rules.pending_runs"
_wired: weakref.WeakSet[Engine] = weakref.WeakSet()
_wiring = threading.Lock()


@dataclass
class _Pending:
    """Run-log rows of one transaction not yet inserted, and where each open savepoint
    began in them."""

    txn: Any
    rows: list[dict[str, Any]] = field(default_factory=list)
    savepoints: list[tuple[str | None, int]] = field(default_factory=list)
    """Open savepoints, outermost first: (name, how many rows there were when it began)."""

    def close_savepoint(self, name: str, *, rolled_back: bool) -> None:
        at = next((i for i in range(len(self.savepoints) - 1, -1, -1)
                   if self.savepoints[i][0] == name), len(self.savepoints) - 1)
        if at < 0:
            return
        if rolled_back:
            del self.rows[self.savepoints[at][1]:]
        del self.savepoints[at:]  # savepoints inside it end with it


def write_behind(engine: Engine) -> None:
    """Let `log_run` hold rows on this engine's connections until commit. Idempotent."""
    with _wiring:
        if engine in _wired:
            return
        event.listen(engine, "commit", flush_runs)
        event.listen(engine, "rollback", _drop)
        event.listen(engine, "savepoint", _savepoint)
        event.listen(engine, "rollback_savepoint", _rollback_savepoint)
        event.listen(engine, "release_savepoint", _release_savepoint)
        _wired.add(engine)


def _pending(conn: Connection) -> _Pending | None:
    found = conn.info.get(_PENDING)
    return found if isinstance(found, _Pending) else None


def flush_runs(conn: Connection) -> None:
    """Insert the rows waiting on this connection (before a commit, or a read)."""
    pending = _pending(conn)
    if pending is None or not pending.rows:
        return
    rows, pending.rows = pending.rows, []
    pending.savepoints = [(name, 0) for name, _ in pending.savepoints]
    if pending.txn is conn.get_transaction():
        conn.execute(_INSERT_RUN, rows)


def _drop(conn: Connection) -> None:
    conn.info.pop(_PENDING, None)


def _current(conn: Connection, txn: Any) -> _Pending:
    pending = _pending(conn)
    if pending is None or pending.txn is not txn:  # rows of an earlier transaction
        pending = conn.info[_PENDING] = _Pending(txn)  # never committed: dropped
    return pending


def _savepoint(conn: Connection, name: str | None) -> None:
    txn = conn.get_transaction()
    if txn is None:
        return
    if name is None:  # SQLAlchemy names it next, from its per-connection counter
        seq = getattr(conn, "_Connection__savepoint_seq", None)
        name = f"sa_savepoint_{seq + 1}" if isinstance(seq, int) else None
    pending = _current(conn, txn)
    pending.savepoints.append((name, len(pending.rows)))


def _rollback_savepoint(conn: Connection, name: str, context: Any) -> None:
    pending = _pending(conn)
    if pending is not None:
        pending.close_savepoint(name, rolled_back=True)


def _release_savepoint(conn: Connection, name: str, context: Any) -> None:
    pending = _pending(conn)
    if pending is not None:
        pending.close_savepoint(name, rolled_back=False)


def log_run(conn: Connection, *, app: str, rule: str, form: str | None,
            record_id: str | None, trigger: str, effects: list[dict[str, Any]],
            outcome: str, error: dict[str, Any] | None, duration_ms: int,
            at: datetime) -> None:
    row = {"app": app, "rule": rule, "form": form, "record_id": as_id(record_id),
           "trigger": trigger[:32], "effects": effects, "outcome": outcome,
           "error": json.dumps(error, ensure_ascii=False, default=str) if error else None,
           "duration_ms": duration_ms, "at": at}
    txn = conn.get_transaction()
    if txn is None or conn.engine not in _wired or conn._is_autocommit_isolation():
        conn.execute(_INSERT_RUN, row)
        return
    info = conn.info
    pending = info.get(_PENDING)
    if pending is None or pending.txn is not txn:
        pending = info[_PENDING] = _Pending(txn)
    pending.rows.append(row)


def _run_json(row: Any) -> dict[str, Any]:
    error: Any = None
    if row.error:
        try:
            error = json.loads(row.error)
        except ValueError:
            error = {"message": {"en": row.error, "zh": row.error}}
    at = row.at.replace(tzinfo=UTC) if row.at.tzinfo is None else row.at
    return {"id": str(row.id), "rule": row.rule, "form": row.form,
            "record_id": None if row.record_id is None else str(row.record_id),
            "trigger": row.trigger, "effects": row.effects, "outcome": row.outcome,
            "error": error, "duration_ms": row.duration_ms, "at": at}


def list_runs(conn: Connection, *, app: str, rule: str | None = None,
              form: str | None = None, record_id: str | None = None,
              outcome: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Runs newest first, for one rule or one record (or both)."""
    flush_runs(conn)
    stmt = select(rule_runs).where(rule_runs.c.app == app)
    if rule is not None:
        stmt = stmt.where(rule_runs.c.rule == rule)
    if form is not None:
        stmt = stmt.where(rule_runs.c.form == form)
    if record_id is not None:
        rid = as_id(record_id) or -1
        stmt = stmt.where(rule_runs.c.record_id == rid)
    if outcome is not None:
        stmt = stmt.where(rule_runs.c.outcome == outcome)
    stmt = stmt.order_by(rule_runs.c.id.desc()).limit(max(1, min(limit, MAX_LIST)))
    return [_run_json(r) for r in conn.execute(stmt)]
