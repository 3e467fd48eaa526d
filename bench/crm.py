"""Installing the credit CRM template with demo data vs the raw insert of the same rows,
and (`--scale N`) the nightly score recompute and the trust dashboard over N customers.

One run, side by side, on a fresh SQLite file:
- platform: `loom app install examples/credit_crm` + demo data for N customers through
  `runtime.demo` (every record through the record lifecycle: normalise, validate,
  formulas, lookups, auto-numbers, uniques, history), then the end-of-history
  scheduler tick (the nightly score recompute over every customer), and
- baseline: the very rows it wrote (`records` table, read back) inserted raw with
  `executemany` into a fresh migrated database, in transactions of 2,000 rows.

Prints both rates, their ratio, and the install time against the target (1,000
customers in <= 60 s). `--quick` uses 20 customers. Ends with one line of JSON.

`--scale N` (PostgreSQL, `LOOM_BENCH_PG_URL`, default the local server) measures issue
8's two 100,000-customer targets. Writing 6.4 M records through the platform takes
hours, so the data is REPLICATED: a base of `--base` customers (1,000) is generated
through the platform, then copied in SQL to N customers: new ids (id + k * max id),
every relation field remapped to the copy's records, customer names suffixed and
credit codes re-issued (valid check character) so uniques hold, and every date and
instant of copy k (fields, formula results, created/updated times) shifted back by
k mod 28 days. Amounts are copied unchanged, so stored formulas (outstanding,
weighted sums) stay consistent with them. Only the last history entry of each
copied customer is copied (what the next update chains to), so history verification
fails on copies. The database (`loom_bench_crm_<N>`) is kept with `--keep` and reused
when it holds N customers. Then, timed:
  (a) the nightly score recompute (`rules/score_recompute.json`) over all N customers,
      as one scheduler tick runs it (claims of earlier runs cleared first), target
      <= 5 min;
  (b) the trust dashboard (`dashboards/trust.json`, every widget, no report cache)
      through the report service, five runs, target <= 2 s on the median run (one
      run differs from the next by up to a third here); each widget timed, and EXPLAIN
      ANALYZE of the slowest printed when the target is missed.

    python bench/crm.py [--quick] [--customers N] [--seed S]
    python bench/crm.py --scale 100000 [--base 1000] [--keep]
    python bench/crm.py --scale 100000 --dashboard-only   (b) alone, on the kept database
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from runtime.api.app import build_context  # noqa: E402
from runtime.bootstrap import install_bundle  # noqa: E402
from runtime.clock import FixedClock  # noqa: E402
from runtime.config import Settings  # noqa: E402
from runtime.demo import generate_demo_data  # noqa: E402
from runtime.scheduler import tick  # noqa: E402
from runtime.store.engine import make_engine  # noqa: E402
from runtime.store.migrate import upgrade  # noqa: E402
from runtime.store.tables import records  # noqa: E402

BUNDLE = ROOT / "examples" / "credit_crm"
TARGET_S = 60.0
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def platform(url: str, customers: int, seed: int) -> dict[str, Any]:
    settings = replace(Settings.from_env(), database_url=url, jobs_in_process=False)
    ctx = build_context(settings, clock=FixedClock(NOW))
    t0 = time.perf_counter()
    install_bundle(ctx, BUNDLE, echo=lambda _m: None)
    t1 = time.perf_counter()
    result = generate_demo_data(ctx, BUNDLE, customers=customers, seed=seed,
                                echo=lambda _m: None, run_tick=False)
    t2 = time.perf_counter()
    # the end-of-history tick `loom app install --demo-data` runs (runtime.demo)
    report = tick(replace(ctx, clock=FixedClock(NOW)), NOW)
    t3 = time.perf_counter()
    ctx.engine.dispose()
    scored = report["rules"].get("credit_crm/score_recompute", {})
    return {"install_s": round(t1 - t0, 2), "demo_s": round(t2 - t1, 2),
            "tick_s": round(t3 - t2, 2), "tick_scored": scored,
            "total_s": round(t3 - t0, 2), "records": result.records,
            "updates": result.updates, "users": result.users,
            "records_per_s": round(result.records / (t2 - t1), 1),
            "writes_per_s": round((result.records + result.updates) / (t2 - t1), 1)}


def raw_insert(source_url: str, target_url: str) -> dict[str, Any]:
    source = make_engine(source_url)
    with source.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(records).order_by(records.c.id))]
    source.dispose()
    for row in rows:
        row.pop("id")
    target = make_engine(target_url)
    upgrade(target)
    t0 = time.perf_counter()
    for start in range(0, len(rows), 2000):
        with target.begin() as conn:
            conn.execute(insert(records), rows[start:start + 2000])
    elapsed = time.perf_counter() - t0
    with target.connect() as conn:
        count = conn.execute(select(func.count()).select_from(records)).scalar_one()
    target.dispose()
    assert count == len(rows)
    return {"rows": len(rows), "seconds": round(elapsed, 3),
            "rows_per_s": round(len(rows) / elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 customers")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=int, default=None, metavar="N",
                        help="PostgreSQL: N customers replicated from --base (see above)")
    parser.add_argument("--base", type=int, default=1000,
                        help="customers generated through the platform for --scale")
    parser.add_argument("--keep", action="store_true",
                        help="keep (and reuse) the --scale database between runs")
    parser.add_argument("--dashboard-only", action="store_true",
                        help="with --scale: time only the trust dashboard on the kept "
                             "database (no build, no score recompute)")
    args = parser.parse_args()
    if args.scale and args.dashboard_only:
        dashboard_main(args)
        return
    if args.scale:
        scale_main(args)
        return
    customers = args.customers or (20 if args.quick else 1000)
    with tempfile.TemporaryDirectory() as tmp:
        loom_url = f"sqlite:///{Path(tmp) / 'loom.db'}"
        raw_url = f"sqlite:///{Path(tmp) / 'raw.db'}"
        plat = platform(loom_url, customers, args.seed)
        raw = raw_insert(loom_url, raw_url)
    ratio = raw["rows_per_s"] / plat["records_per_s"]
    print(f"credit CRM install + demo data, {customers} customers (SQLite)")
    print(f"  platform : {plat['records']} records + {plat['updates']} updates in "
          f"{plat['demo_s']} s (install {plat['install_s']} s) -> "
          f"{plat['records_per_s']} records/s, {plat['writes_per_s']} writes/s; end tick "
          f"{plat['tick_s']} s (score recompute {plat['tick_scored']})")
    print(f"  raw insert of the same rows: {raw['rows']} rows in {raw['seconds']} s -> "
          f"{raw['rows_per_s']} rows/s")
    print(f"  ratio raw/platform: {ratio:.1f}x; total {plat['total_s']} s "
          f"(target for 1,000 customers: <= {TARGET_S:.0f} s)")
    figures = {"bench": "crm", "quick": args.quick, "customers": customers,
               "platform": plat, "raw": raw, "ratio": round(ratio, 2),
               "target_s": TARGET_S,
               "meets_target": customers >= 1000 and plat["total_s"] <= TARGET_S}
    print(json.dumps(figures))


def scale_main(args: argparse.Namespace) -> None:
    from bench.crm_scale import DASHBOARD_TARGET_S, TICK_TARGET_S, run_scale

    print(f"credit CRM at {args.scale} customers (PostgreSQL, replicated from "
          f"{args.base} generated through the platform)")
    out = run_scale(BUNDLE, NOW, n=args.scale, base=args.base, keep=args.keep,
                    seed=args.seed)
    rec, dash = out["recompute"], out["dashboard"]
    print(f"  nightly score recompute: {rec['seconds']} s for {out['customers']} customers "
          f"({rec['ms_per_customer']} ms each) {rec['counts']} "
          f"(target <= {TICK_TARGET_S:.0f} s)")
    print(f"  trust dashboard, {dash['widgets']} widgets, no report cache: "
          f"{dash['seconds']} s, median {dash['median_s']} s "
          f"(target <= {DASHBOARD_TARGET_S:.0f} s)")
    print(f"  per widget: {dash['per_widget_s']}")
    if "slowest_plan" in dash:
        print(f"  EXPLAIN ANALYZE of the slowest widget ({dash['slowest_widget']}):")
        for line in dash["slowest_plan"]:
            print(f"    {line}")
    figures = {"bench": "crm_scale", "load": os.getloadavg(), **out}
    figures["dashboard"] = {k: v for k, v in dash.items() if k != "slowest_plan"}
    print(json.dumps(figures, default=str))


def dashboard_main(args: argparse.Namespace) -> None:
    """The trust dashboard alone on the kept `--scale` database, as `scale_main` times
    it: five whole-dashboard runs, then each widget's statement on its own."""
    from sqlalchemy.engine import make_url

    from bench.crm_scale import DASHBOARD_TARGET_S, PG_ADMIN_URL, _context, time_dashboard

    url = make_url(PG_ADMIN_URL).set(database=f"loom_bench_crm_{args.scale}")
    ctx = _context(url.render_as_string(hide_password=False), NOW)
    dash = time_dashboard(ctx, NOW)
    ctx.engine.dispose()
    print(f"trust dashboard over the kept {args.scale}-customer database, no report cache: "
          f"{dash['seconds']} s, median {dash['median_s']} s "
          f"(target <= {DASHBOARD_TARGET_S:.0f} s)")
    print(f"  per widget (each statement alone): {dash['per_widget_s']}")
    for line in dash.get("slowest_plan", []):
        print(f"    {line}")
    dash = {k: v for k, v in dash.items() if k != "slowest_plan"}
    print(json.dumps({"bench": "crm_dashboard", "load": os.getloadavg(),
                      "customers": args.scale, "dashboard": dash}, default=str))


if __name__ == "__main__":
    main()
