"""bench/form_import.py and `bench/form_submit.py --import` run and end with one line
of JSON holding the import figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _last_json(args: list[str]) -> dict[str, object]:
    done = subprocess.run(  # noqa: S603 - our own benchmark scripts
        [sys.executable, *args], capture_output=True, text=True, timeout=300, check=True)
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


@pytest.mark.slow
def test_form_import_bench_quick_prints_json() -> None:
    figures = _last_json([str(ROOT / "bench" / "form_import.py"), "--quick", "--rows", "300",
                          "--skip-pg"])
    assert figures["benchmark"] == "form_import" and figures["rows"] == 300
    sqlite = figures["sqlite"]
    assert isinstance(sqlite, dict)
    assert sqlite["created"] == 300 and sqlite["platform_per_s"] > 0
    assert 0 < sqlite["platform_peak_mb"] < 500


@pytest.mark.slow
def test_form_submit_bench_with_import_prints_one_json_line() -> None:
    figures = _last_json([str(ROOT / "bench" / "form_submit.py"), "--quick", "--n", "200",
                          "--import", "--import-rows", "200", "--skip-pg"])
    assert figures["benchmark"] == "form_submit" and figures["process_per_s"] > 0  # type: ignore[operator]
    imported = figures["import"]
    assert isinstance(imported, dict) and imported["sqlite"]["created"] == 200
