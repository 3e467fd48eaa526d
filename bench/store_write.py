"""Writes through the record service vs raw SQLAlchemy Core, SQLite and PostgreSQL.

One run, side by side: N records through `runtime.records.service.create` (validation,
auto-number, unique claim, history with hashes) and the same rows inserted with plain
Core `INSERT`s, both one row per statement in transactions of `--batch` rows, into the
same kind of database. Prints both rates and their ratio (target: the service within
2.0× the raw insert's time); the same with a `WriteBatch` per transaction, as bulk
writers without rules use it (demo data: history in one insert per transaction); and
the same with `create_many`, 100 rows a call, against a raw multi-row insert. Also: the
first page of a filtered list over an indexed field with many records on PostgreSQL
(target ≤ 50 ms, with the plan), and HTTP create p50/p99 on SQLite (target p50 ≤ 10 ms).

    python bench/store_write.py [--quick] [--records N] [--list-records N] [--skip-pg]

Ends with one line of JSON holding the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from builder.bundle import load  # noqa: E402
from runtime.apps import service as apps_service  # noqa: E402
from runtime.auth.models import SYSTEM  # noqa: E402
from runtime.clock import FixedClock  # noqa: E402
from runtime.config import Settings  # noqa: E402
from runtime.context import Context  # noqa: E402
from runtime.records import service  # noqa: E402
from runtime.store.engine import make_engine  # noqa: E402
from runtime.store.migrate import upgrade  # noqa: E402
from runtime.store.tables import records  # noqa: E402

BUNDLE = ROOT / "tests" / "fixtures" / "bundles" / "crm_lite"
PG_ADMIN = os.environ.get("LOOM_TEST_PG_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REGIONS = ["east", "north", "south"]
# The raw rows go into the invoice form too, so they pay for the same (partial, per
# form) expression indexes as the service's rows: the same rows, the same table work.
RAW_FORM = "invoice"


def row_data(i: int) -> dict[str, Any]:
    return {"customer": str(i % 500 + 1), "amount": f"{(i * 37) % 100000}.{i % 100:02d}",
            "due_date": f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
            "status": "open" if i % 3 else "paid"}


def make_ctx(url: str) -> Context:
    engine = make_engine(url)
    upgrade(engine)
    ctx = Context(settings=Settings(database_url=url, jobs_in_process=False), engine=engine,
                  clock=FixedClock(datetime(2026, 3, 2, tzinfo=UTC)))
    with engine.begin() as conn:
        apps_service.install(conn, ctx, load(BUNDLE), actor=SYSTEM)
    return ctx


def through_service(ctx: Context, n: int, batch: int) -> float:
    start = time.perf_counter()
    for lo in range(0, n, batch):
        with ctx.engine.begin() as conn:
            for i in range(lo, min(lo + batch, n)):
                service.create(conn, ctx, app="crm_lite", form="invoice", data=row_data(i),
                               actor=SYSTEM)
    return time.perf_counter() - start


def through_service_batched(ctx: Context, n: int, batch: int) -> float:
    """One row a call, as above, carrying a `WriteBatch` through each transaction."""
    from runtime.records.batch import WriteBatch

    start = time.perf_counter()
    for lo in range(0, n, batch):
        writes = WriteBatch()
        with ctx.engine.begin() as conn:
            for i in range(lo, min(lo + batch, n)):
                service.create(conn, ctx, app="crm_lite", form="invoice", data=row_data(i),
                               actor=SYSTEM, batch=writes)
            writes.flush(conn)
    return time.perf_counter() - start


def raw_insert(ctx: Context, n: int, batch: int) -> float:
    """The baseline as a competent hand-written Core insert: one prepared statement,
    one row per execution (as the service writes), no validation and no history."""
    now = ctx.clock.now()
    stmt = insert(records).returning(records.c.id)
    start = time.perf_counter()
    for lo in range(0, n, batch):
        with ctx.engine.begin() as conn:
            for i in range(lo, min(lo + batch, n)):
                conn.execute(stmt, {
                    "app": "crm_lite", "form": RAW_FORM, "form_version": 1,
                    "data": row_data(i), "version": 1, "owner": "system", "department": None,
                    "created_at": now, "created_by": "system", "updated_at": now,
                    "updated_by": "system"})
    return time.perf_counter() - start


def through_service_bulk(ctx: Context, n: int, batch: int) -> float:
    start = time.perf_counter()
    for lo in range(0, n, batch):
        with ctx.engine.begin() as conn:
            service.create_many(conn, ctx, app="crm_lite", form="invoice", actor=SYSTEM,
                                rows=[row_data(i) for i in range(lo, min(lo + batch, n))])
    return time.perf_counter() - start


def raw_bulk(ctx: Context, n: int, batch: int) -> float:
    now = ctx.clock.now()
    stmt = insert(records).returning(records.c.id, sort_by_parameter_order=True)
    start = time.perf_counter()
    for lo in range(0, n, batch):
        with ctx.engine.begin() as conn:
            conn.execute(stmt, [{
                "app": "crm_lite", "form": RAW_FORM, "form_version": 1,
                "data": row_data(i), "version": 1, "owner": "system", "department": None,
                "created_at": now, "created_by": "system", "updated_at": now,
                "updated_by": "system"} for i in range(lo, min(lo + batch, n))]).all()
    return time.perf_counter() - start


def compare(label: str, url: str, n: int, batch: int) -> dict[str, float]:
    ctx = make_ctx(url)
    raw = raw_insert(ctx, n, batch)
    svc = through_service(ctx, n, batch)
    svc_batched = through_service_batched(ctx, n, batch)
    raw_many = raw_bulk(ctx, n, batch)
    svc_many = through_service_bulk(ctx, n, batch)
    ctx.engine.dispose()
    out = {"service_per_s": n / svc, "raw_per_s": n / raw, "ratio": svc / raw,
           "batched_service_per_s": n / svc_batched, "batched_ratio": svc_batched / raw,
           "bulk_service_per_s": n / svc_many, "bulk_raw_per_s": n / raw_many,
           "bulk_ratio": svc_many / raw_many}
    print(f"{label:10s} one row a statement: service {out['service_per_s']:7.0f}/s"
          f"   raw {out['raw_per_s']:7.0f}/s   time ratio {out['ratio']:.2f}x (target <= 2.0x)")
    print(f"{label:10s} one row a statement, WriteBatch: service "
          f"{out['batched_service_per_s']:7.0f}/s   time ratio {out['batched_ratio']:.2f}x")
    print(f"{label:10s} {batch} rows a statement: service {out['bulk_service_per_s']:7.0f}/s"
          f"   raw {out['bulk_raw_per_s']:7.0f}/s   time ratio {out['bulk_ratio']:.2f}x")
    return out


def pg_database() -> tuple[str, Any]:
    name = f"loom_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return url, drop


def list_first_page(url: str, n: int) -> dict[str, Any]:
    """Bulk-load n records with an indexed field, then time the first filtered page."""
    from runtime.auth.models import Actor
    from runtime.records.query import list_records

    ctx = make_ctx(url)
    now = ctx.clock.now()
    chunk = 20_000
    with ctx.engine.begin() as conn:
        for lo in range(0, n, chunk):
            conn.execute(insert(records), [{
                "app": "crm_lite", "form": "customer", "form_version": 1,
                "data": {"name": f"c{i}", "region": REGIONS[i % 3], "score": i % 100},
                "version": 1, "owner": "system", "department": None, "created_at": now,
                "created_by": "system", "updated_at": now, "updated_by": "system"}
                for i in range(lo, min(lo + chunk, n))])
        conn.execute(text("ANALYZE records") if ctx.dialect == "postgresql"
                     else text("ANALYZE"))
    times = []
    for _ in range(20):
        start = time.perf_counter()
        with ctx.engine.begin() as conn:
            page = list_records(conn, ctx, app="crm_lite", form="customer",
                                filter_expr='region == "north"', sort=None, limit=50,
                                cursor=None, actor=Actor("admin", is_admin=True), lang="en")
        times.append(time.perf_counter() - start)
    assert len(page["items"]) == 50
    plan = explain(ctx)
    ctx.engine.dispose()
    return {"first_page_ms_p50": statistics.median(times) * 1000, "plan": plan}


def explain(ctx: Context) -> str:
    from runtime.records.query import build_list_query

    with ctx.engine.begin() as conn:
        stmt = build_list_query(conn, ctx, app="crm_lite", form="customer",
                                filter_expr='region == "north"', sort=None, limit=50,
                                cursor=None)
        compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN ANALYZE " if ctx.dialect == "postgresql" else "EXPLAIN QUERY PLAN "
        rows = conn.execute(text(prefix + str(compiled))).all()
    return "\n".join(" ".join(str(c) for c in r) for r in rows)


def http_create_latency(n: int) -> dict[str, float]:
    from fastapi.testclient import TestClient

    from runtime.api.app import create_app
    from runtime.auth.service import ensure_admin

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/http.db"
        ctx = make_ctx(url)
        with ctx.engine.begin() as conn:
            ensure_admin(conn, password="bench-pass-1", var_dir=Path(tmp), now=ctx.clock.now())
        with TestClient(create_app(ctx=ctx)) as client:
            token = client.post("/api/v1/auth/token", json={
                "username": "admin", "password": "bench-pass-1"}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            times = []
            for i in range(n):
                start = time.perf_counter()
                r = client.post("/api/v1/apps/crm_lite/forms/invoice/records",
                                json=row_data(i), headers=headers)
                times.append(time.perf_counter() - start)
                assert r.status_code == 201, r.text
        ctx.engine.dispose()
    times.sort()
    return {"p50_ms": times[len(times) // 2] * 1000, "p99_ms": times[int(len(times) * .99)] * 1000}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--records", type=int, default=20_000)
    p.add_argument("--list-records", type=int, default=1_000_000)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--skip-pg", action="store_true")
    a = p.parse_args()
    n = 1000 if a.quick else a.records
    list_n = 20_000 if a.quick else a.list_records
    figures: dict[str, Any] = {"records": n}
    with tempfile.TemporaryDirectory() as tmp:
        figures["sqlite"] = compare("sqlite", f"sqlite:///{tmp}/bench.db", n, a.batch)
    if not a.skip_pg:
        url, drop = pg_database()
        try:
            figures["postgresql"] = compare("postgresql", url, n, a.batch)
        finally:
            drop()
        url, drop = pg_database()
        try:
            listing = list_first_page(url, list_n)
        finally:
            drop()
        print(f"list first page, filter on indexed field, {list_n} records (PostgreSQL): "
              f"p50 {listing['first_page_ms_p50']:.1f} ms (target <= 50 ms)\nplan:\n"
              f"{listing['plan']}")
        figures["list_first_page_ms"] = listing["first_page_ms_p50"]
        figures["list_records"] = list_n
    latency = http_create_latency(200 if a.quick else 2000)
    print(f"HTTP create on SQLite: p50 {latency['p50_ms']:.2f} ms, p99 {latency['p99_ms']:.2f} ms"
          " (target p50 <= 10 ms)")
    figures["http_create"] = latency
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
