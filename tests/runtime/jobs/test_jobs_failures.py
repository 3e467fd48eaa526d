"""The job runner tells permanent failures from transient ones, on SQLite and
PostgreSQL: a 4xx answer (other than 408/425/429) or a malformed address fails the job
at once and visibly; a 5xx, a 429 or a plain exception is retried with backoff."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from http_target import Target, http_target
from sqlalchemy import select

from runtime.context import Context
from runtime.jobs.service import BASE_BACKOFF, enqueue, handler, is_retryable, run_due
from runtime.notifications import jobs as notification_jobs
from runtime.store.tables import jobs


@pytest.fixture
def target() -> Iterator[tuple[str, Target]]:
    with http_target() as served:
        yield served


class Refused(Exception):
    retryable = False


@handler("test.refused")
def _refused(ctx: Context, payload: Any, now: datetime) -> None:
    raise Refused("the other side said no for good")


@handler("test.flaky")
def _flaky(ctx: Context, payload: Any, now: datetime) -> None:
    raise RuntimeError("try again later")


def _enqueue(ctx: Context, kind: str, payload: dict[str, Any]) -> None:
    with ctx.engine.begin() as conn:
        enqueue(conn, kind=kind, payload=payload, now=ctx.clock.now(), max_attempts=4)


def _job(ctx: Context) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(select(jobs)).one()


def _webhook(url: str) -> dict[str, Any]:
    return {"url": url, "payload": {"a": 1}, "secret_ref": None, "key": None}


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_a_4xx_answer_fails_the_job_at_once(ctx: Context, target: tuple[str, Target],
                                            status: int) -> None:
    url, server = target
    server.status = status
    _enqueue(ctx, notification_jobs.WEBHOOK_CALL, _webhook(url))
    assert run_due(ctx, now=ctx.clock.now()) == {"done": 0, "failed": 1}
    job = _job(ctx)
    assert job.status == "failed" and job.attempts == 1 and job.finished_at is not None
    assert f"http_{status}" in job.last_error
    assert run_due(ctx, now=ctx.clock.now() + timedelta(days=1)) == {"done": 0, "failed": 0}
    assert server.hits == 1


@pytest.mark.parametrize("status", [408, 429, 503])
def test_transient_answers_are_retried_with_backoff_then_fail_visibly(
        ctx: Context, target: tuple[str, Target], status: int) -> None:
    url, server = target
    server.status = status
    _enqueue(ctx, notification_jobs.WEBHOOK_CALL, _webhook(url))
    now = ctx.clock.now()
    run_due(ctx, now=now)
    job = _job(ctx)
    assert job.status == "queued" and job.attempts == 1
    assert job.run_at.replace(tzinfo=None) == (now + BASE_BACKOFF).replace(tzinfo=None)
    for _ in range(3):
        run_due(ctx, now=job.run_at + timedelta(seconds=1))
        job = _job(ctx)
    assert job.status == "failed" and job.attempts == 4 and f"http_{status}" in job.last_error
    assert server.hits == 4


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "not a url", ""])
def test_a_malformed_address_fails_the_job_at_once(ctx: Context, url: str) -> None:
    _enqueue(ctx, notification_jobs.WEBHOOK_CALL, _webhook(url))
    assert run_due(ctx, now=ctx.clock.now()) == {"done": 0, "failed": 1}
    job = _job(ctx)
    assert job.status == "failed" and job.attempts == 1 and "bad_address" in job.last_error


def test_any_handler_can_say_retrying_cannot_help(ctx: Context) -> None:
    _enqueue(ctx, "test.refused", {})
    run_due(ctx, now=ctx.clock.now())
    job = _job(ctx)
    assert job.status == "failed" and job.attempts == 1 and "Refused" in job.last_error


def test_a_plain_exception_is_retried(ctx: Context) -> None:
    _enqueue(ctx, "test.flaky", {})
    run_due(ctx, now=ctx.clock.now())
    job = _job(ctx)
    assert job.status == "queued" and job.attempts == 1 and "try again" in job.last_error


def test_is_retryable() -> None:
    assert is_retryable(RuntimeError("x"))
    assert not is_retryable(Refused())
    flagged = RuntimeError("x")
    flagged.retryable = True  # type: ignore[attr-defined]
    assert is_retryable(flagged)
