"""bench/expr_eval.py runs in quick mode and ends with one JSON line of figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_expr_bench_quick_prints_figures() -> None:
    command = [sys.executable, str(ROOT / "bench" / "expr_eval.py"), "--quick"]
    done = subprocess.run(command, capture_output=True, text=True,  # noqa: S603 - our script
                          timeout=120, check=True, cwd=ROOT)
    last = done.stdout.strip().splitlines()[-1]
    figures = json.loads(last)
    assert figures["quick"] is True
    assert figures["loom_per_s"] > 0 and figures["native_per_s"] > 0
    assert figures["sql_sqlite_loom_rows_per_s"] > 0
    assert figures["check_ms_200_chars"] > 0
