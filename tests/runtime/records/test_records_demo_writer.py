"""`runtime.demo.DemoWriter` over a small bundle with its own generator: every write
goes through the record lifecycle in transactions of `batch` writes, the history of
every record verifies across transaction boundaries, and a generator that fails leaves
nothing of its unfinished transaction behind (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from builder.bundle import load
from runtime.apps import service as apps_service
from runtime.auth.models import SYSTEM
from runtime.context import Context
from runtime.demo import generate_demo_data
from runtime.errors import ValidationFailed
from runtime.records import history
from runtime.store.tables import record_history, records

BUNDLE = Path(__file__).parents[2] / "fixtures" / "bundles" / "crm_lite"

GENERATOR = '''
from datetime import timedelta


def generate(writer, *, customers, seed, progress):
    start = writer.now() - timedelta(days=30)
    for i in range(customers):
        writer.at(start + timedelta(days=i))
        cid = writer.create("customer", {"name": f"C{i}", "region": "east"}, by="system")
        inv = writer.create("invoice", {"customer": cid, "amount": "100.00",
                                        "due_date": "2026-04-01"}, by="system")
        for k in range(3):
            writer.update("customer", cid, {"score": 10 * k + i % 7},
                          at=start + timedelta(days=i, hours=k + 1))
        writer.update("invoice", inv, {"status": "paid"})
        if seed == 13 and i == customers - 1:
            writer.create("invoice", {"amount": "-1"})  # refused: nothing of it lands
        progress(i + 1, customers)
'''


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "crm_lite"
    shutil.copytree(BUNDLE, path)
    (path / "demo").mkdir()
    (path / "demo" / "generate.py").write_text(GENERATOR)
    return path


@pytest.fixture
def app_ctx(ctx: Context, bundle: Path) -> Context:
    with ctx.engine.begin() as conn:
        apps_service.install(conn, ctx, load(bundle), actor=SYSTEM)
    return ctx


def _form_counts(ctx: Context) -> dict[str, int]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(records.c.form, func.count()).where(
            records.c.app == "crm_lite").group_by(records.c.form)).all()
    return {form: int(n) for form, n in rows}


def test_every_record_and_chain_across_small_transactions(app_ctx: Context,
                                                          bundle: Path) -> None:
    ctx = app_ctx
    before = _form_counts(ctx)
    seen: list[int] = []
    result = generate_demo_data(ctx, bundle, customers=9, seed=1, echo=lambda _m: None,
                                progress=lambda done, _total: seen.append(done),
                                batch=5, run_tick=False)
    assert (result.records, result.updates) == (18, 36)
    assert seen == list(range(1, 10))
    after = _form_counts(ctx)
    assert after["customer"] - before.get("customer", 0) == 9
    assert after["invoice"] - before.get("invoice", 0) == 9
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(records.c.id, records.c.version, records.c.created_at,
                                   records.c.updated_at).where(
            records.c.created_by == "system")).all()
        entries: dict[int, list[object]] = {}
        for e in conn.execute(select(record_history).order_by(record_history.c.record_id,
                                                               record_history.c.seq)):
            entries.setdefault(e.record_id, []).append(e)
    written = [r for r in rows if r.id in entries and len(entries[r.id]) > 1]
    assert len(written) == 18
    for r in written:
        check = history.verify(r.id, entries[r.id], r.version)
        assert check.verified, (r.id, check)
    # the writer's clock gave the history its times
    customers = sorted((r for r in written if r.version == 4), key=lambda r: r.id)
    assert (customers[-1].created_at - customers[0].created_at).days == 8
    assert all((r.updated_at - r.created_at).total_seconds() == 3 * 3600 for r in customers)


def test_a_refused_write_rolls_back_its_unfinished_transaction(app_ctx: Context,
                                                               bundle: Path) -> None:
    ctx = app_ctx
    before = _form_counts(ctx)
    with pytest.raises(ValidationFailed):
        generate_demo_data(ctx, bundle, customers=4, seed=13, echo=lambda _m: None,
                           batch=10, run_tick=False)
    after = _form_counts(ctx)
    # each customer is 6 writes; transactions of 10 commit writes 1-20, so the fourth
    # customer and its invoice (writes 19-20) stay but its updates (21-24) roll back
    assert after["customer"] - before.get("customer", 0) == 4
    with ctx.engine.connect() as conn:
        hist = conn.execute(select(func.count()).select_from(record_history)).scalar_one()
        versions = conn.execute(select(func.sum(records.c.version))).scalar_one()
        last = conn.execute(select(records.c.version, records.c.data).where(
            records.c.form == "customer").order_by(records.c.id.desc()).limit(1)).one()
    assert hist == versions  # no history entry without its write, nor the reverse
    assert (last.version, last.data["name"], last.data.get("score")) == (1, "C3", None)
