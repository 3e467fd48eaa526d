"""Concurrent writers on real databases: optimistic locks lose no update, unique values
admit exactly one claimant, auto-numbers never repeat."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from builder.bundle import load
from runtime.apps import service as apps_service
from runtime.auth.models import SYSTEM, Actor
from runtime.context import Context
from runtime.errors import Conflict, StaleVersion
from runtime.records import service
from runtime.store.tables import record_history

FIXTURE = Path(__file__).parents[2] / "fixtures" / "bundles" / "crm_lite"
THREADS = 20


@pytest.fixture
def installed(ctx: Context) -> Context:
    with ctx.engine.begin() as conn:
        apps_service.install(conn, ctx, load(FIXTURE), actor=SYSTEM)
    return ctx


def _run(n: int, work: Any) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def body(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_if_match_patches_lose_no_update(installed: Context) -> None:
    ctx = installed
    with ctx.engine.begin() as conn:
        rec = service.create(conn, ctx, app="crm_lite", form="customer",
                             data={"name": "并发客户", "score": 0}, actor=SYSTEM)

    def patch(i: int) -> dict[str, Any]:
        with ctx.engine.begin() as conn:
            return service.update_record(
                conn, ctx, app="crm_lite", form="customer", record_id=rec["id"],
                patch={"score": i + 1}, expected_version=1,
                actor=Actor(f"user{i}"))

    results = _run(THREADS, patch)
    ok = [r for r in results if isinstance(r, dict)]
    stale = [r for r in results if isinstance(r, StaleVersion)]
    assert len(ok) + len(stale) == THREADS, [r for r in results if isinstance(r, Exception)
                                             and not isinstance(r, StaleVersion)]
    assert len(ok) == 1  # every patch named version 1: exactly one can win
    with ctx.engine.connect() as conn:
        final = service.get(conn, ctx, app="crm_lite", form="customer", record_id=rec["id"])
        entries = conn.execute(select(func.count()).select_from(record_history).where(
            record_history.c.record_id == int(rec["id"]))).scalar_one()
    assert final["data"]["score"] == ok[0]["data"]["score"]
    assert final["version"] == 2 and entries == 2


def test_patches_without_if_match_serialise(installed: Context) -> None:
    """Without If-Match nobody gets 412, and history has one entry per success."""
    ctx = installed
    with ctx.engine.begin() as conn:
        rec = service.create(conn, ctx, app="crm_lite", form="customer",
                             data={"name": "计数客户", "score": 0}, actor=SYSTEM)

    def patch(i: int) -> dict[str, Any]:
        with ctx.engine.begin() as conn:
            return service.update_record(conn, ctx, app="crm_lite", form="customer",
                                         record_id=rec["id"], patch={"score": i + 1},
                                         actor=SYSTEM)

    results = _run(THREADS, patch)
    assert all(isinstance(r, dict) for r in results), results
    with ctx.engine.connect() as conn:
        history = service.get_history(conn, ctx, app="crm_lite", form="customer",
                                      record_id=rec["id"])
    assert len(history["entries"]) == THREADS + 1 and history["verified"]
    assert sorted(r["version"] for r in results) == list(range(2, THREADS + 2))


def test_same_unique_value_admits_exactly_one(installed: Context) -> None:
    ctx = installed

    def create(i: int) -> dict[str, Any]:
        with ctx.engine.begin() as conn:
            return service.create(conn, ctx, app="crm_lite", form="customer",
                                  data={"name": "同名公司"}, actor=SYSTEM)

    results = _run(THREADS, create)
    kinds = Counter(type(r).__name__ for r in results)
    assert kinds == {"dict": 1, "Conflict": THREADS - 1}, results
    assert all(isinstance(r, (dict, Conflict)) for r in results)


def test_autonumbers_never_repeat(installed: Context) -> None:
    ctx = installed

    def create(i: int) -> str:
        with ctx.engine.begin() as conn:
            rec = service.create(conn, ctx, app="crm_lite", form="customer",
                                 data={"name": f"公司{i}"}, actor=SYSTEM)
        code: str = rec["data"]["code"]
        return code

    codes = _run(THREADS, create)
    assert all(isinstance(c, str) for c in codes), codes
    assert len(set(codes)) == THREADS


def test_create_many_is_all_or_nothing_and_reports_every_row(installed: Context) -> None:
    from sqlalchemy import func, select

    from runtime.errors import ValidationFailed
    from runtime.store.tables import records

    ctx = installed
    rows: list[Any] = [{"name": "甲公司"}, {"name": ""}, {"name": "丙公司", "score": 500}, "x"]
    with pytest.raises(ValidationFailed) as err, ctx.engine.begin() as conn:
        service.create_many(conn, ctx, app="crm_lite", form="customer", rows=rows,
                            actor=SYSTEM)
    fields = {d.field for d in err.value.details}
    assert {"[1].name", "[2].score", "[3]"} <= fields
    with ctx.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(records).where(
            records.c.form == "customer")).scalar_one()
    assert count == 1  # only the seed customer
    with ctx.engine.begin() as conn:
        made = service.create_many(conn, ctx, app="crm_lite", form="customer", actor=SYSTEM,
                                   rows=[{"name": f"批量{i}"} for i in range(5)])
    assert [m["data"]["name"] for m in made] == [f"批量{i}" for i in range(5)]
    assert len({m["data"]["code"] for m in made}) == 5
    with ctx.engine.connect() as conn:
        for m in made:
            assert service.get_history(conn, ctx, app="crm_lite", form="customer",
                                       record_id=m["id"])["verified"]
