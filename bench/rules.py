"""Rules: the cost of event rules on writes, and a scheduled rule's SQL vs hand SQL.

(1) The same records written through `runtime.records.service.create` (and one update
each) into two apps with the same form: one with 20 event rules (two of them match
each write: one acts — a tag and its run-log row — the other's condition is false),
one with no rules, in alternating rounds of `--batch` writes. Target: rules add at
most 30% to the write time (the median of the rounds' ratios; spread and the ratio of
the totals are printed too).

(2) The overdue-receivable scheduled rule's candidate query (its condition pushed into
SQL by `runtime.rules.scheduled.candidate_query`) over N receivables (default
1,000,000; `--quick` 20,000) vs a hand-written query for the same condition, on SQLite
and PostgreSQL, both fetching every matching row. Target: within 2x.

    python bench/rules.py [--quick] [--writes N] [--receivables N] [--skip-pg]

Ends with one line of JSON holding the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from builder.bundle import Bundle, load, parse_files  # noqa: E402
from runtime.apps import service as apps_service  # noqa: E402
from runtime.auth.models import SYSTEM  # noqa: E402
from runtime.clock import FixedClock  # noqa: E402
from runtime.config import Settings  # noqa: E402
from runtime.context import Context  # noqa: E402
from runtime.records import service  # noqa: E402
from runtime.rules import install_rule_hooks  # noqa: E402
from runtime.rules.compiled import app_rules  # noqa: E402
from runtime.rules.scheduled import candidate_query  # noqa: E402
from runtime.store.engine import make_engine  # noqa: E402
from runtime.store.migrate import upgrade  # noqa: E402
from runtime.store.tables import records  # noqa: E402

CRM = ROOT / "tests" / "fixtures" / "bundles" / "credit_crm"
PG_ADMIN = os.environ.get("LOOM_TEST_PG_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

FORM = {
    "schema_version": 1, "key": "ticket", "name": {"zh": "工单", "en": "Ticket"},
    "fields": [
        {"key": "title", "type": "text", "label": {"zh": "标题", "en": "Title"},
         "required": True},
        {"key": "priority", "type": "select", "label": {"zh": "优先级", "en": "Priority"},
         "options": [{"value": v, "label": {"zh": v, "en": v}} for v in ("low", "high")]},
        {"key": "amount", "type": "money", "label": {"zh": "金额", "en": "Amount"}},
        {"key": "note", "type": "text", "label": {"zh": "备注", "en": "Note"}},
        *[{"key": f"f{i}", "type": "integer", "label": {"zh": f"f{i}", "en": f"f{i}"}}
          for i in range(18)],
    ],
}


def _rule(key: str, trigger: dict[str, Any], when: str | None,
          actions: list[dict[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema_version": 1, "key": key, "name": {"zh": key, "en": key},
                           "form": "ticket", "trigger": trigger, "actions": actions}
    if when:
        doc["when"] = when
    return doc


def event_rules() -> list[dict[str, Any]]:
    """20 rules: 18 watch fields the bench never writes; 2 match every create."""
    tag = [{"kind": "tag", "tags": ["big"]}]
    rules = [_rule(f"watch_f{i}", {"kind": "field_changed", "field": f"f{i}"}, f"f{i} > 5",
                   [{"kind": "set_fields", "values": {"note": "'f'"}}]) for i in range(18)]
    rules.append(_rule("big_amount", {"kind": "created"}, "amount > 100", tag))
    rules.append(_rule("urgent", {"kind": "created"}, "priority == 'urgent'", tag))
    return rules


def app_bundle(key: str, rules: list[dict[str, Any]]) -> Bundle:
    """The test app `key`: the ticket form and `rules`, parsed in memory."""
    files: dict[str, Any] = {
        "app.json": {"schema_version": 1, "key": key, "name": {"zh": key, "en": key},
                     "version": "1.0.0", "menu": [{"form": "ticket"}]},
        "forms/ticket.json": FORM}
    files.update({f"rules/{r['key']}.json": r for r in rules})
    return parse_files(files)


def make_ctx(url: str) -> Context:
    engine = make_engine(url)
    upgrade(engine)
    ctx = Context(settings=Settings(database_url=url, jobs_in_process=False), engine=engine,
                  clock=FixedClock(NOW))
    install_rule_hooks(ctx)
    return ctx


def write_records(ctx: Context, app: str, n: int, batch: int) -> float:
    start = time.perf_counter()
    for lo in range(0, n, batch):
        with ctx.engine.begin() as conn:
            for i in range(lo, min(lo + batch, n)):
                rec = service.create(conn, ctx, app=app, form="ticket", actor=SYSTEM, data={
                    "title": f"t{i}", "priority": "high" if i % 2 else "low",
                    "amount": f"{150 + i % 50}.00"})
                service.update_record(conn, ctx, app=app, form="ticket", record_id=rec["id"],
                                      patch={"title": f"t{i}!"}, actor=SYSTEM)
    return time.perf_counter() - start


def bench_event_rules(label: str, url: str, n: int, batch: int) -> dict[str, Any]:
    """Rounds of `batch` writes, alternating the two apps, so a burst of load from
    elsewhere on the machine hits one round of both alike; the overhead is the median
    of the rounds' ratios (the spread is printed beside it), and the total is shown too."""
    ctx = make_ctx(url)
    ratios: list[float] = []
    plain = ruled = 0.0
    try:
        with ctx.engine.begin() as conn:
            for key, rules in (("plain", []), ("ruled", event_rules())):
                apps_service.install(conn, ctx, app_bundle(key, rules), actor=SYSTEM)
        write_records(ctx, "plain", min(n, 200), batch)  # warm caches and plans
        write_records(ctx, "ruled", min(n, 200), batch)
        rounds = max(4, n // batch)
        for _ in range(rounds):
            p = write_records(ctx, "plain", batch, batch)
            r = write_records(ctx, "ruled", batch, batch)
            plain, ruled = plain + p, ruled + r
            ratios.append(r / p)
    finally:
        ctx.engine.dispose()
    writes = len(ratios) * batch
    out: dict[str, Any] = {
        "writes": writes, "rounds": len(ratios), "no_rules_per_s": writes / plain,
        "rules_per_s": writes / ruled, "overhead_pct": (statistics.median(ratios) - 1) * 100,
        "overhead_pct_min": (min(ratios) - 1) * 100,
        "overhead_pct_max": (max(ratios) - 1) * 100,
        "overhead_pct_total": (ruled / plain - 1) * 100}
    print(f"{label:10s} create+update, 20 event rules: {out['rules_per_s']:6.0f}/s   "
          f"no rules: {out['no_rules_per_s']:6.0f}/s   overhead "
          f"{out['overhead_pct']:+.1f}% (median of {len(ratios)} rounds, "
          f"{out['overhead_pct_min']:+.1f}%..{out['overhead_pct_max']:+.1f}%; total "
          f"{out['overhead_pct_total']:+.1f}%; target <= +30%)")
    return out


def load_receivables(ctx: Context, n: int) -> None:
    with ctx.engine.begin() as conn:
        apps_service.install(conn, ctx, load(CRM), actor=SYSTEM)
    start_day = datetime(2025, 1, 1).date()
    stmt = insert(records)
    chunk = 10_000
    for lo in range(0, n, chunk):
        rows = []
        for i in range(lo, min(lo + chunk, n)):
            due = start_day + timedelta(days=i % 450)
            rows.append({"app": "credit_crm", "form": "receivable", "form_version": 1,
                         "data": {"code": f"AR-{i}", "customer": "1", "amount": "10.00",
                                  "due_date": due.isoformat(),
                                  "status": "paid" if i % 4 == 0 else "open"},
                         "version": 1, "owner": "system", "department": None,
                         "created_at": NOW, "created_by": "system", "updated_at": NOW,
                         "updated_by": "system"})
        with ctx.engine.begin() as conn:
            conn.execute(stmt, rows)
    with ctx.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


HAND_SQL = {
    "postgresql": "SELECT * FROM records WHERE app = 'credit_crm' AND form = 'receivable' "
                  "AND deleted_at IS NULL AND coalesce(data->>'status', '') <> 'paid' "
                  "AND loom_date(data->>'due_date') < DATE '2026-01-31' ORDER BY id",
    "sqlite": "SELECT * FROM records WHERE app = 'credit_crm' AND form = 'receivable' "
              "AND deleted_at IS NULL AND coalesce(json_extract(data, '$.status'), '') "
              "<> 'paid' AND json_extract(data, '$.due_date') < '2026-01-31' ORDER BY id",
}


def best_of(runs: int, fn: Callable[[], int]) -> tuple[float, int]:
    best, found = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        found = fn()
        best = min(best, time.perf_counter() - start)
    return best, found


def bench_overdue_sql(label: str, url: str, n: int) -> dict[str, float]:
    ctx = make_ctx(url)
    try:
        load_receivables(ctx, n)
        with ctx.engine.connect() as conn:
            capp = ctx.apps.current(conn, "credit_crm")
            rule = app_rules(capp).rules["receivable_overdue"]
            dialect = conn.dialect.name

            def platform(ids_only: bool) -> Callable[[], int]:
                def run() -> int:
                    stmt, pushed = candidate_query(conn, ctx, rule, app="credit_crm",
                                                   forms=capp.expr_forms, now=NOW,
                                                   since=None)
                    assert pushed
                    if ids_only:
                        stmt = stmt.with_only_columns(records.c.id)
                    return len(conn.execute(stmt).all())
                return run

            def hand(ids_only: bool) -> Callable[[], int]:
                sql = HAND_SQL[dialect]
                if ids_only:
                    sql = sql.replace("SELECT *", "SELECT id")
                    stmt = text(sql).columns(records.c.id)
                else:  # the same typed columns, so both decode the JSON data alike
                    stmt = text(sql).columns(*records.c)
                return lambda: len(conn.execute(stmt).all())

            runs = 3
            hand_ids_s, _ = best_of(runs, hand(True))
            plat_ids_s, _ = best_of(runs, platform(True))
            hand_s, hand_n = best_of(runs, hand(False))
            plat_s, plat_n = best_of(runs, platform(False))
    finally:
        ctx.engine.dispose()
    if plat_n != hand_n:
        raise SystemExit(f"{label}: platform found {plat_n}, hand SQL {hand_n}")
    out = {"receivables": n, "matches": plat_n, "platform_s": plat_s, "hand_sql_s": hand_s,
           "ratio": plat_s / hand_s, "ids_platform_s": plat_ids_s,
           "ids_hand_sql_s": hand_ids_s, "ids_ratio": plat_ids_s / hand_ids_s}
    print(f"{label:10s} overdue rule over {n} receivables ({plat_n} match), rows: platform "
          f"{plat_s * 1000:8.1f} ms   hand SQL {hand_s * 1000:8.1f} ms   ratio "
          f"{out['ratio']:.2f}x (target <= 2x)")
    print(f"{label:10s} same, ids only:                          platform "
          f"{plat_ids_s * 1000:8.1f} ms   hand SQL {hand_ids_s * 1000:8.1f} ms   ratio "
          f"{out['ids_ratio']:.2f}x")
    return out


def pg_database() -> tuple[str, Callable[[], None]]:
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


def on_each_db(skip_pg: bool, fn: Callable[[str, str], dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    tmp = Path(tempfile.mkdtemp())
    try:
        out["sqlite"] = fn("sqlite", f"sqlite:///{tmp / 'bench.db'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not skip_pg:
        url, drop = pg_database()
        try:
            out["postgresql"] = fn("postgresql", url)
        finally:
            drop()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--writes", type=int, default=None)
    p.add_argument("--receivables", type=int, default=None)
    p.add_argument("--batch", type=int, default=100,
                   help="writes per transaction and per round of the event-rule bench")
    p.add_argument("--skip-pg", action="store_true")
    a = p.parse_args()
    writes = a.writes or (600 if a.quick else 4000)
    receivables = a.receivables or (20_000 if a.quick else 1_000_000)
    figures: dict[str, Any] = {"quick": a.quick}
    figures["event_rules"] = on_each_db(
        a.skip_pg, lambda label, url: bench_event_rules(label, url, writes, a.batch))
    figures["overdue_sql"] = on_each_db(
        a.skip_pg, lambda label, url: bench_overdue_sql(label, url, receivables))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
