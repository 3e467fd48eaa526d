"""bench/reports.py runs with --quick and ends with one line of JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_bench_reports_quick() -> None:
    command = [sys.executable, str(ROOT / "bench" / "reports.py"), "--quick", "--records", "3000"]
    out = subprocess.run(command,  # noqa: S603 - our own benchmark script
                         capture_output=True, text=True, timeout=300, check=True, cwd=ROOT)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "reports"
    for dialect in ("sqlite", "postgresql"):
        assert figures[dialect]["same_result"] is True
        assert figures[dialect]["platform_s"] > 0
    assert figures["postgresql"]["dashboard_widgets"] == 6
