"""The job queue over the `jobs` table.

Jobs are enqueued in the transaction of the write that caused them, so a committed
write always has its follow-up work and a rolled-back one never does. Claiming uses
`FOR UPDATE SKIP LOCKED` on PostgreSQL (any number of workers on any hosts) and the
single-writer lock on SQLite; a claim holds a lease (`locked_until`), so a worker that
dies mid-job leaves it to be picked up again: at-least-once, nothing lost on a crash.
Failures are retried with exponential backoff, then marked failed and kept visible.
A failure that says trying again cannot help — an exception whose `retryable` is False,
such as a channel's `DeliveryError` for a 4xx answer (other than 408/425/429), a refused
address or a malformed URL — fails the job at once instead of after every backoff.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from runtime.clock import FixedClock
from runtime.store.tables import jobs

if TYPE_CHECKING:
    from runtime.context import Context

log = logging.getLogger("loom.jobs")

LEASE = timedelta(minutes=5)
BASE_BACKOFF = timedelta(seconds=10)
MAX_BACKOFF = timedelta(hours=1)

Handler = Callable[["Context", Mapping[str, Any], datetime], None]
"""A job's work: the context it runs in (its clock fixed at the job's `now`), the
payload, and that instant. Handlers own their transactions (`ctx.engine.begin()`)."""
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn
    return register


def enqueue(conn: Connection, *, kind: str, payload: Mapping[str, Any], now: datetime,
            run_at: datetime | None = None, dedupe_key: str | None = None,
            max_attempts: int = 5) -> int | None:
    """Add a job; with `dedupe_key`, a second job with the same key is not added."""
    values = {"kind": kind, "payload": dict(payload), "status": "queued", "attempts": 0,
              "max_attempts": max_attempts, "run_at": run_at or now, "created_at": now,
              "dedupe_key": dedupe_key}
    if dedupe_key is None:
        return int(conn.execute(insert(jobs).values(values).returning(jobs.c.id)).scalar_one())
    try:
        with conn.begin_nested():
            return int(conn.execute(insert(jobs).values(values).returning(jobs.c.id))
                       .scalar_one())
    except IntegrityError:
        return None


def backoff(attempts: int) -> timedelta:
    seconds = BASE_BACKOFF.total_seconds() * 2.0 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, MAX_BACKOFF.total_seconds()))


def claim(engine: Engine, *, now: datetime, worker: str, limit: int = 10) -> list[Any]:
    """Take up to `limit` due jobs (queued, or running with an expired lease)."""
    with engine.begin() as conn:
        stmt = (select(jobs).where(
            jobs.c.run_at <= now,
            or_(jobs.c.status == "queued",
                (jobs.c.status == "running") & (jobs.c.locked_until < now)))
            .order_by(jobs.c.run_at, jobs.c.id).limit(limit))
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(conn.execute(stmt).all())
        for r in rows:
            conn.execute(update(jobs).where(jobs.c.id == r.id).values(
                status="running", locked_by=worker, locked_until=now + LEASE,
                attempts=r.attempts + 1))
        return rows


def is_retryable(exc: BaseException) -> bool:
    """Could running the job again succeed? Yes unless the error says otherwise with
    `retryable = False` (the channel plugins' `DeliveryError`; any handler may raise
    an exception carrying it)."""
    return getattr(exc, "retryable", True) is not False


def run_one(ctx: Context, job: Any, now: datetime) -> bool:
    engine = ctx.engine
    fn = HANDLERS.get(job.kind)
    try:
        if fn is None:
            raise LookupError(f"no handler for job kind {job.kind!r}")
        fn(dataclasses.replace(ctx, clock=FixedClock(now)), job.payload, now)
    except Exception as exc:  # a job's failure must never stop the runner
        attempts = job.attempts + 1
        permanent = fn is None or not is_retryable(exc)
        failed = permanent or attempts >= job.max_attempts
        log.warning("job %s (%s) failed, attempt %s%s: %s", job.id, job.kind, attempts,
                    " (permanent)" if permanent else "", type(exc).__name__)
        with engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job.id).values(
                status="failed" if failed else "queued", locked_by=None, locked_until=None,
                run_at=now + backoff(attempts), last_error=f"{type(exc).__name__}: {exc}"[:2000],
                finished_at=now if failed else None))
        return False
    with engine.begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job.id).values(
            status="done", locked_by=None, locked_until=None, finished_at=now))
    return True


def run_due(ctx: Context, *, now: datetime, worker: str = "inline",
            max_jobs: int = 10_000) -> dict[str, int]:
    """Run every job due at `now` (scheduler ticks, the runners, tests); returns counts."""
    done = failed = 0
    started = time.monotonic()
    while done + failed < max_jobs:
        batch = claim(ctx.engine, now=now, worker=worker)
        if not batch:
            break
        for job in batch:
            if run_one(ctx, job, now):
                done += 1
            else:
                failed += 1
    log.debug("ran %s jobs (%s failed) in %.3fs", done + failed, failed,
              time.monotonic() - started)
    return {"done": done, "failed": failed}
