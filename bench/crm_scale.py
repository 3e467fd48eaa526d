"""`bench/crm.py --scale N`: the credit CRM at N customers on PostgreSQL, from a base
generated through the platform and REPLICATED in SQL (see bench/crm.py's docstring
for what is copied and how); then the nightly score recompute and the trust dashboard.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, delete, func, select, text
from sqlalchemy.engine import make_url

from engines.expr import T
from engines.form.checks import uscc_check_char
from runtime.api.app import build_context
from runtime.apps.service import prepare_database
from runtime.bootstrap import install_bundle
from runtime.clock import FixedClock
from runtime.config import Settings
from runtime.context import Context
from runtime.demo import generate_demo_data
from runtime.reports.limits import Limits, execute
from runtime.reports.provider import AppReports
from runtime.reports.service import run_dashboard
from runtime.rules.scheduled import run_timed_rule
from runtime.store.migrate import upgrade
from runtime.store.tables import records, rule_claims, rule_schedules

PG_ADMIN_URL = os.environ.get("LOOM_BENCH_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
APP = "credit_crm"
RULE = "score_recompute"
DASHBOARD = "trust"
TICK_TARGET_S = 300.0
DASHBOARD_TARGET_S = 2.0
REPLICAS_PER_STATEMENT = 8
SERIES = "generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS k(k)"


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _context(url: str, now: datetime) -> Context:
    """The platform over `url`, its schema brought up to date (a kept database may
    predate a migration, as a deployment's does)."""
    settings = replace(Settings.from_env(), database_url=url, jobs_in_process=False)
    ctx = build_context(settings, clock=FixedClock(now))
    upgrade(ctx.engine)
    return ctx


def _database(name: str, *, fresh: bool) -> str:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": name}).first()
        if exists and fresh:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        if fresh or not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _customers(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(records).where(
        records.c.app == APP, records.c.form == "customer",
        records.c.deleted_at.is_(None))).scalar_one())


def _existing(url: str) -> int | None:
    """Customers in the kept bench database, None when there is none."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return _customers(conn)
    except Exception:  # no database or no tables yet
        return None
    finally:
        engine.dispose()


# ------------------------------------------------------------------ replication

def _shift_date(key: str) -> str:
    return (f"CASE WHEN r.data->>'{key}' ~ '^\\d{{4}}-\\d\\d-\\d\\d$' THEN "
            f"to_jsonb(to_char((r.data->>'{key}')::date - (k.k % 28)::int, 'YYYY-MM-DD')) END")


def _shift_instant(key: str) -> str:
    return (f"CASE WHEN r.data->>'{key}' ~ '^\\d{{4}}-\\d\\d-\\d\\dT' THEN "
            f"to_jsonb(to_char(((r.data->>'{key}')::timestamptz - make_interval(days => "
            f"(k.k % 28)::int)) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) END")


def _remap(key: str) -> str:
    return (f"CASE WHEN r.data->>'{key}' ~ '^\\d+$' THEN "
            f"to_jsonb(((r.data->>'{key}')::bigint + k.k * :off)::text) END")


def _data_expression(ctx: Context, conn: Connection, form: str) -> str:
    """`r.data` of copy `k.k`: relations remapped, dates shifted, names suffixed."""
    capp = ctx.apps.current(conn, APP)
    cform = capp.form(form)
    relations = set(cform.relation_fields)
    parts: list[str] = []
    for key, fld in capp.expr_forms[form].items():
        if key in relations:
            parts.append(f"'{key}', {_remap(key)}")
        elif fld.type is T.DATE:
            parts.append(f"'{key}', {_shift_date(key)}")
        elif fld.type is T.DATETIME:
            parts.append(f"'{key}', {_shift_instant(key)}")
    if form == "customer":
        parts.append("'name', to_jsonb((r.data->>'name') || '·' || k.k)")
    if not parts:
        return "r.data"
    # jsonb_strip_nulls on the changes only: a key the record lacks stays absent
    return f"r.data || jsonb_strip_nulls(jsonb_build_object({', '.join(parts)}))"


def _replicate(ctx: Context, n: int, base: int) -> None:
    copies = math.ceil(n / base)
    with ctx.engine.begin() as conn:
        off = int(conn.execute(select(func.max(records.c.id))).scalar_one())
        forms = list(conn.execute(select(records.c.form).where(records.c.app == APP)
                                  .group_by(records.c.form)).scalars())
        dropped = [name for (name,) in conn.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'records' "
            "AND starts_with(indexname, 'ix_rec_')"))]  # (LIKE 'ix_rec_%' also matched
        # ix_records_app_form_id: `_` is LIKE's any-character, and it was never rebuilt)
        for name in dropped:  # rebuilt once at the end: far cheaper than 6 M inserts each
            conn.execute(text(f'DROP INDEX "{name}"'))
        exprs = {form: _data_expression(ctx, conn, form) for form in forms}
    log(f"replicating {base} customers x {copies} (id offset {off}), "
        f"{len(dropped)} expression indexes dropped for the load")
    cols = ("app, form, form_version, version, owner, department, created_by, updated_by, "
            "marks")
    for first in range(1, copies, REPLICAS_PER_STATEMENT):
        last = min(copies - 1, first + REPLICAS_PER_STATEMENT - 1)
        with ctx.engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            for form in forms:
                conn.execute(text(
                    f"INSERT INTO records (id, data, created_at, updated_at, deleted_at, {cols}) "
                    f"SELECT r.id + k.k * :off, {exprs[form]}, "
                    "r.created_at - make_interval(days => (k.k % 28)::int), "
                    "r.updated_at - make_interval(days => (k.k % 28)::int), "
                    "r.deleted_at - make_interval(days => (k.k % 28)::int), "
                    f"{', '.join('r.' + c.strip() for c in cols.split(','))} "
                    f"FROM records r CROSS JOIN {SERIES} "
                    "WHERE r.app = :app AND r.form = :form AND r.id <= :off"),
                    {"off": off, "first": first, "last": last, "app": APP, "form": form})
            # what the next update of each copied customer chains to
            conn.execute(text(
                "INSERT INTO record_history (record_id, seq, action, actor, at, diff, "
                "prev_hash, hash) SELECT h.record_id + k.k * :off, h.seq, h.action, h.actor, "
                "h.at, '{}'::jsonb, h.prev_hash, h.hash FROM record_history h "
                "JOIN records r ON r.id = h.record_id AND r.version = h.seq "
                f"CROSS JOIN {SERIES} "
                "WHERE r.app = :app AND r.form = 'customer' AND r.id <= :off"),
                {"off": off, "first": first, "last": last, "app": APP})
        log(f"copies {first}-{last} of {copies - 1} written")
    with ctx.engine.begin() as conn:
        _reissue_codes(conn, off)
        conn.execute(text("SELECT setval(pg_get_serial_sequence('records', 'id'), "
                          "(SELECT max(id) FROM records))"))
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        t0 = time.perf_counter()
        _published(ctx, conn)
        log(f"expression indexes and projections rebuilt in {time.perf_counter() - t0:.0f} s")
    with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE records"))
        conn.execute(text("VACUUM ANALYZE record_history"))


def _published(ctx: Context, conn: Connection) -> None:
    """What publishing the version makes for records already there (rows copied in SQL
    above bypassed the write path that keeps the reports' projections)."""
    prepare_database(conn, ctx.apps.current(conn, APP), ctx.tz, ctx.clock.now())


def _reissue_codes(conn: Connection, off: int) -> None:
    """Copies get new, valid unified social credit codes; both uniques are claimed."""
    rows = conn.execute(text(
        "SELECT id, data->>'credit_code', data->>'name' FROM records "
        "WHERE app = :app AND form = 'customer' AND id > :off"), {"app": APP, "off": off}).all()
    codes = []
    for rid, code, name in rows:
        first17 = f"{(code or '91110000')[:8]}{rid % 10**9:09d}"
        codes.append({"id": rid, "code": first17 + uscc_check_char(first17), "name": name})
    conn.execute(text("CREATE TEMP TABLE bench_codes (id bigint, code text, name text) "
                      "ON COMMIT DROP"))
    conn.execute(text("INSERT INTO bench_codes VALUES (:id, :code, :name)"), codes)
    conn.execute(text(
        "UPDATE records SET data = jsonb_set(data, '{credit_code}', to_jsonb(c.code)) "
        "FROM bench_codes c WHERE records.id = c.id"))
    for field, column in (("credit_code", "code"), ("name", "name")):
        conn.execute(text(
            f"INSERT INTO unique_values (app, form, field, value, record_id) "
            f"SELECT :app, 'customer', :field, c.{column}, c.id FROM bench_codes c "
            "ON CONFLICT DO NOTHING"), {"app": APP, "field": field})
    log(f"{len(codes)} customer copies got new credit codes")


# ------------------------------------------------------------------ measurements

def time_recompute(ctx: Context, now: datetime, customers: int) -> dict[str, Any]:
    with ctx.engine.begin() as conn:  # a fresh night: earlier runs' claims cleared
        conn.execute(delete(rule_claims).where(rule_claims.c.app == APP,
                                               rule_claims.c.rule == RULE))
        conn.execute(delete(rule_schedules).where(rule_schedules.c.app == APP,
                                                  rule_schedules.c.rule == RULE))
    t0 = time.perf_counter()
    counts = run_timed_rule(ctx, app=APP, rule_key=RULE, at=now)
    elapsed = time.perf_counter() - t0
    fired = sum(counts.values())
    return {"seconds": round(elapsed, 1), "counts": counts,
            "ms_per_customer": round(elapsed * 1000 / max(1, customers), 3),
            "fired": fired, "meets_target": elapsed <= TICK_TARGET_S}


def time_dashboard(ctx: Context, now: datetime, runs_wanted: int = 5) -> dict[str, Any]:
    """The whole dashboard `runs_wanted` times (no report cache: every run executes
    every statement; the first also plans them and opens the pool's connections), then
    each widget's statement alone. The target is judged on the median run: on this
    two-core machine one run differs from the next by up to a third."""
    provider = AppReports(ctx)
    limits = Limits(timeout_ms=600_000)
    with ctx.engine.begin() as conn:  # a kept database: what publishing now makes
        _published(ctx, conn)
    out: dict[str, Any] = {}
    with ctx.engine.connect() as conn:
        board, version = provider.dashboard(conn, APP, DASHBOARD)
        runs = []
        for _ in range(runs_wanted):
            t0 = time.perf_counter()
            result = run_dashboard(conn, board, app=APP, version=version, now=now,
                                   limits=limits, cache=None)
            runs.append(time.perf_counter() - t0)
        out["seconds"] = [round(r, 3) for r in runs]
        out["widgets"] = len(result.widgets)
        queries = board.queries(app=APP, dialect="postgresql", table=records, now=now,
                                row_limit=limits.row_limit)
        per_widget = []
        for wq in queries:  # with the settings the service runs them under
            t0 = time.perf_counter()
            execute(conn, wq.query.statement, limits.timeout_ms,
                    hash_mem_mb=limits.hash_mem_mb, sort_mem_mb=limits.sort_mem_mb,
                    random_page_cost=limits.random_page_cost)
            per_widget.append((time.perf_counter() - t0, wq.widget.id, wq.query.statement))
        per_widget.sort(key=lambda w: w[0], reverse=True)
        out["per_widget_s"] = {wid: round(s, 3) for s, wid, _ in per_widget}
        out["median_s"] = round(statistics.median(runs), 3)
        out["meets_target"] = out["median_s"] <= DASHBOARD_TARGET_S
        if not out["meets_target"] and per_widget:
            _, wid, stmt = per_widget[0]
            sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
            plan = [row["QUERY PLAN"] for row in execute(
                conn, text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}"), limits.timeout_ms,
                hash_mem_mb=limits.hash_mem_mb, sort_mem_mb=limits.sort_mem_mb,
                random_page_cost=limits.random_page_cost)]
            out["slowest_widget"] = wid
            out["slowest_plan"] = plan
        conn.rollback()
    return out


def run_scale(bundle: Path, now: datetime, *, n: int, base: int, keep: bool,
              seed: int) -> dict[str, Any]:
    name = f"loom_bench_crm_{n}"
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    found = _existing(url) if keep else None
    reused = found == n
    build_s = None
    if not reused:
        t0 = time.perf_counter()
        if found != base:  # (a kept base whose replication failed is reused)
            url = _database(name, fresh=True)
            ctx = _context(url, now)
            install_bundle(ctx, bundle, echo=lambda _m: None)
            log(f"generating {base} customers through the platform")
            generate_demo_data(ctx, bundle, customers=base, seed=seed, echo=log,
                               run_tick=False)
            log(f"base generated in {time.perf_counter() - t0:.0f} s")
        else:
            ctx = _context(url, now)
            log(f"reusing the base of {base} customers in {name}")
        _replicate(ctx, n, base)
        build_s = round(time.perf_counter() - t0, 1)
        ctx.engine.dispose()
    else:
        log(f"reusing database {name}")
    ctx = _context(url, now)
    with ctx.engine.connect() as conn:
        customers = _customers(conn)
        total = int(conn.execute(select(func.count()).select_from(records).where(
            records.c.app == APP)).scalar_one())
    log(f"{customers} customers, {total} records; nightly recompute ...")
    recompute = time_recompute(ctx, now, customers)
    log(f"recompute: {recompute['seconds']} s {recompute['counts']}; dashboard ...")
    dashboard = time_dashboard(ctx, now)
    ctx.engine.dispose()
    if not keep:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return {"customers": customers, "records": total, "base": base, "reused": reused,
            "build_s": build_s, "recompute": recompute, "dashboard": dashboard}
