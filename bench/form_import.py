"""Spreadsheet import through the platform vs the raw insert of the same rows.

One run, side by side, into SQLite and PostgreSQL: an N-row XLSX (8 columns: text,
option label, money, integer, date, boolean, phone, text) is
- imported by `runtime.transfer.importing.run_import` (streamed read, mapping, every
  row through the record lifecycle: processing, validation, history, hooks), and
- the baseline: the same file read with openpyxl in read-only mode and its rows
  inserted raw into `records` (multi-row INSERTs of 500, no validation, no history).
Each side runs in a child process of its own, so its peak memory (VmHWM) is its
own. Prints rows/s, the time ratio (target ≤ 3×), the ratio against the insert alone
(file reading excluded from the baseline), the ratio of the two processes' CPU time
(less distorted by a busy machine; on PostgreSQL it leaves out the server's work) and
peak memory (target ≤ 500 MB).

    python bench/form_import.py [--quick] [--rows N] [--skip-pg]

`bench/form_submit.py --import` runs it too. Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("LOOM_TEST_PG_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
HEADERS = ["名称", "地区", "信用额度", "评分", "开始日期", "重要", "电话", "备注"]
KEYS = ["name", "region", "credit", "score", "since", "vip", "phone", "note"]
APP = {"schema_version": 1, "key": "bench", "name": "Bench", "version": "1.0.0",
       "menu": [{"form": "customer"}]}
FORM = {"schema_version": 1, "key": "customer", "name": "客户", "fields": [
    {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}, "required": True,
     "max_length": 100},
    {"key": "region", "type": "select", "label": {"zh": "地区", "en": "Region"}, "options": [
        {"value": v, "label": {"zh": zh, "en": v}} for v, zh in
        (("east", "华东"), ("north", "华北"), ("south", "华南"))]},
    {"key": "credit", "type": "money", "label": {"zh": "信用额度", "en": "Credit"}, "min": 0},
    {"key": "score", "type": "integer", "label": {"zh": "评分", "en": "Score"}, "min": 0,
     "max": 100},
    {"key": "since", "type": "date", "label": {"zh": "开始日期", "en": "Since"}},
    {"key": "vip", "type": "boolean", "label": {"zh": "重要", "en": "VIP"}},
    {"key": "phone", "type": "phone", "label": {"zh": "电话", "en": "Phone"}},
    {"key": "note", "type": "textarea", "label": {"zh": "备注", "en": "Note"}},
]}
REGIONS = ["华东", "华北", "华南"]


def write_xlsx(path: Path, n: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("customers")
    sheet.append(HEADERS)
    for i in range(n):
        sheet.append([f"客户{i:06d}", REGIONS[i % 3], round(1000 + i * 1.25, 2), i % 101,
                      datetime(2020 + i % 6, i % 12 + 1, i % 28 + 1), bool(i % 2),
                      f"138{i:08d}", "备注" * (i % 4)])
    book.save(path)


def _ctx(url: str) -> Any:
    from builder.bundle import parse_files
    from runtime.apps import service as apps_service
    from runtime.auth.models import SYSTEM
    from runtime.clock import FixedClock
    from runtime.config import Settings
    from runtime.context import Context
    from runtime.store.engine import make_engine

    engine = make_engine(url)
    ctx = Context(settings=Settings(database_url=url, jobs_in_process=False,
                                    var_dir=Path(tempfile.mkdtemp(prefix="loom-bench-"))),
                  engine=engine, clock=FixedClock(datetime(2026, 3, 2, tzinfo=UTC)))
    with engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM apps WHERE key = 'bench'")).first()
        if exists is None:
            apps_service.install(conn, ctx, parse_files(
                {"app.json": APP, "forms/customer.json": FORM}), actor=SYSTEM)
    return ctx


def child_platform(url: str, path: Path) -> dict[str, Any]:
    from runtime.auth.models import SYSTEM
    from runtime.files.hooks import install_file_hooks
    from runtime.rules import install_rule_hooks
    from runtime.transfer.importing import ImportOptions, run_import

    ctx = _ctx(url)
    install_rule_hooks(ctx)
    install_file_hooks(ctx)
    start, cpu = time.perf_counter(), time.process_time()
    with ctx.engine.begin() as conn:
        result = run_import(conn, ctx, app="bench", form="customer", path=path,
                            name=path.name, options=ImportOptions(), actor=SYSTEM)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "cpu_seconds": time.process_time() - cpu,
            "created": result.created, "failed": result.failed,
            "errors": result.errors[:3]}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def child_raw(url: str, path: Path) -> dict[str, Any]:
    from openpyxl import load_workbook

    from runtime.store.tables import records

    ctx = _ctx(url)
    now = ctx.clock.now()
    stmt = insert(records).returning(records.c.id, sort_by_parameter_order=True)
    start, cpu = time.perf_counter(), time.process_time()
    insert_s = 0.0
    with path.open("rb") as handle, ctx.engine.begin() as conn:
        book = load_workbook(handle, read_only=True, data_only=True)
        rows = book.worksheets[0].iter_rows(values_only=True, min_row=2)
        batch: list[dict[str, Any]] = []
        count = 0

        def flush() -> float:
            t = time.perf_counter()
            conn.execute(stmt, batch).all()
            return time.perf_counter() - t

        for row in rows:
            batch.append({"app": "bench", "form": "customer_raw", "form_version": 1,
                          "data": {k: _jsonable(v) for k, v in zip(KEYS, row, strict=False)},
                          "version": 1, "owner": "system", "department": None,
                          "created_at": now, "created_by": "system", "updated_at": now,
                          "updated_by": "system"})
            count += 1
            if len(batch) >= 500:
                insert_s += flush()
                batch = []
        if batch:
            insert_s += flush()
        book.close()
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
            "insert_seconds": insert_s, "created": count}


def peak_mb() -> float:
    """This process's peak resident memory. VmHWM (Linux) belongs to the process's own
    address space, so unlike ru_maxrss it does not inherit the parent's peak from
    before the exec."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(side: str, url: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - this very script
        [sys.executable, __file__, "--child", side, "--url", url, "--file", str(path)],
        capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def compare(label: str, url: str, path: Path, n: int) -> dict[str, Any]:
    _ctx(url).engine.dispose()  # migrate and install once, outside the timings
    raw = run_child("raw", url, path)
    platform = run_child("platform", url, path)
    if platform["created"] != n:
        print(f"{label}: platform created {platform['created']} of {n}: {platform['errors']}")
    out = {"rows": n, "platform_per_s": n / platform["seconds"],
           "raw_per_s": n / raw["seconds"], "ratio": platform["seconds"] / raw["seconds"],
           "ratio_vs_insert_only": platform["seconds"] / raw["insert_seconds"],
           "cpu_ratio": platform["cpu_seconds"] / raw["cpu_seconds"],
           "platform_peak_mb": platform["peak_mb"], "raw_peak_mb": raw["peak_mb"],
           "created": platform["created"]}
    print(f"{label:10s} import {out['platform_per_s']:8.0f} rows/s  raw read+insert "
          f"{out['raw_per_s']:8.0f} rows/s  time ratio {out['ratio']:.2f}x (target <= 3x; "
          f"vs the insert alone {out['ratio_vs_insert_only']:.1f}x; this process's CPU "
          f"time ratio {out['cpu_ratio']:.2f}x)  peak memory "
          f"{out['platform_peak_mb']:.0f} MB (raw {out['raw_peak_mb']:.0f} MB; target <= 500)")
    return out


def pg_url() -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    from runtime.store.engine import make_engine
    from runtime.store.migrate import upgrade

    name = f"loom_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url, name


def drop_pg(name: str) -> None:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def run(rows: int, *, skip_pg: bool = False) -> dict[str, Any]:
    from runtime.store.engine import make_engine
    from runtime.store.migrate import upgrade

    tmp = Path(tempfile.mkdtemp(prefix="loom-import-bench-"))
    path = tmp / "customers.xlsx"
    start = time.perf_counter()
    write_xlsx(path, rows)
    print(f"wrote {rows:,} rows to {path.name} ({path.stat().st_size / 1e6:.1f} MB) in "
          f"{time.perf_counter() - start:.1f}s")
    figures: dict[str, Any] = {"rows": rows, "file_mb": round(path.stat().st_size / 1e6, 2)}
    sqlite_url = f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(sqlite_url)
    upgrade(engine)
    engine.dispose()
    figures["sqlite"] = compare("sqlite", sqlite_url, path, rows)
    if not skip_pg:
        try:
            url, name = pg_url()
        except Exception as exc:  # report, do not fail the whole benchmark
            print(f"postgresql skipped: {str(exc).splitlines()[0]}")
        else:
            try:
                figures["postgresql"] = compare("postgresql", url, path, rows)
            finally:
                drop_pg(name)
    sides = [v for k, v in figures.items() if k in ("sqlite", "postgresql")]
    figures["target_ratio"] = 3.0
    figures["target_peak_mb"] = 500
    figures["ratio_met"] = all(s["ratio"] <= 3.0 for s in sides)
    figures["memory_met"] = all(s["platform_peak_mb"] <= 500 for s in sides)
    return _round(figures)


def _round(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 3) if isinstance(v, float) else _round(v) if isinstance(v, dict)
                else v) for k, v in doc.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 rows (under a minute)")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--child", choices=["platform", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fn = child_platform if args.child == "platform" else child_raw
        result = fn(args.url, Path(args.file))
        result["peak_mb"] = peak_mb()
        print(json.dumps(result, ensure_ascii=False))
        return
    rows = args.rows or (5_000 if args.quick else 100_000)
    figures = run(rows, skip_pg=args.skip_pg)
    print(json.dumps(_round({"benchmark": "form_import", **figures})))


if __name__ == "__main__":
    main()
