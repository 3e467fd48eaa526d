"""Long imports as jobs: 202 with an id, a status the UI polls, progress, the result
and error report when the job ran, a refused file reported as such; and the
CLI-friendly call with a progress callback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from transfer_kit import import_file, with_dimension, xlsx

from runtime.auth.models import SYSTEM
from runtime.jobs.service import run_due
from runtime.store.tables import records
from runtime.transfer.importing import ImportOptions, run_import


def _rows(n: int, bad_every: int = 0) -> list[list[Any]]:
    return [[f"公司{i}", "华东", i, 500 if bad_every and i % bad_every == 0 else i % 100,
             None, None, None] for i in range(1, n + 1)]


def test_a_background_import_runs_as_a_job(sales: Any, ctx: Any) -> None:
    r = import_file(sales, xlsx(_rows(30, bad_every=10)), background=True,
                    mode="skip_bad_rows")
    assert r.status_code == 202, r.text
    import_id = r.json()["id"]
    status = sales.get(f"/api/v1/imports/{import_id}").json()
    assert status["status"] == "queued" and status["progress"]["done"] == 0
    assert run_due(ctx, now=ctx.clock.now()) == {"done": 1, "failed": 0}
    status = sales.get(f"/api/v1/imports/{import_id}").json()
    assert status["status"] == "done", status
    assert status["progress"] == {"done": 30, "total": 30}
    result = status["result"]
    assert result["created"] == 27 and result["failed"] == 3
    assert [e["row"] for e in result["errors"]] == [11, 21, 31]
    report = sales.get(f"/api/v1/files/{result['error_report']['id']}")
    assert report.status_code == 200 and report.content[:2] == b"PK"
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(records)).scalar_one() == 27


def test_an_all_or_nothing_job_with_errors_writes_nothing(sales: Any, ctx: Any) -> None:
    r = import_file(sales, xlsx(_rows(12, bad_every=5)), background=True)
    import_id = r.json()["id"]
    run_due(ctx, now=ctx.clock.now())
    status = sales.get(f"/api/v1/imports/{import_id}").json()
    assert status["status"] == "failed" and status["result"]["failed"] == 2
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(records)).scalar_one() == 0


def test_a_hostile_file_in_a_job_is_refused_not_retried(sales: Any, ctx: Any) -> None:
    r = import_file(sales, with_dimension(xlsx(_rows(2)), "A1:XFD1048576"), background=True)
    import_id = r.json()["id"]
    assert run_due(ctx, now=ctx.clock.now())["done"] == 1
    status = sales.get(f"/api/v1/imports/{import_id}").json()
    assert status["status"] == "refused"
    assert status["result"]["error"]["code"] == "too_many_rows"


def test_unknown_import_is_404(sales: Any) -> None:
    assert sales.get("/api/v1/imports/nope").status_code == 404


def test_the_cli_call_reports_progress(sales: Any, ctx: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    path.write_bytes(xlsx(_rows(25)))
    seen: list[tuple[int, int | None]] = []
    with ctx.engine.begin() as conn:
        result = run_import(conn, ctx, app="sales", form="customer", path=path,
                            name=path.name, options=ImportOptions(batch_size=10),
                            actor=SYSTEM, progress=lambda d, t: seen.append((d, t)))
    assert result.created == 25
    assert seen == [(10, 25), (20, 25), (25, 25)]


def test_the_cli_import_draws_a_bar_and_keeps_the_report(sales: Any, ctx: Any,
                                                         tmp_path: Path) -> None:
    import io

    from runtime.transfer.cli import import_file as cli_import
    from runtime.transfer.cli import progress_bar

    path = tmp_path / "cli.xlsx"
    path.write_bytes(xlsx(_rows(12, bad_every=4)))
    out = io.StringIO()
    result = cli_import(ctx, app="sales", form="customer", path=path,
                        options=ImportOptions(mode="skip_bad_rows", batch_size=5),
                        actor=SYSTEM, progress=progress_bar(out))
    assert result.created == 9 and result.failed == 3
    assert out.getvalue().endswith("[" + "#" * 30 + "] 12/12\n")
    assert result.error_report is not None
    assert sales.get(f"/api/v1/files/{result.error_report['id']}").status_code == 200
