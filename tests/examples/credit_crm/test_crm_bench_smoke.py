"""bench/crm.py runs with --quick (smaller still here) and ends with one line of JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_bench_crm_quick() -> None:
    command = [sys.executable, str(ROOT / "bench" / "crm.py"), "--quick", "--customers", "3"]
    out = subprocess.run(command,  # noqa: S603 - our own benchmark script
                         capture_output=True, text=True, timeout=300, check=True, cwd=ROOT)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "crm" and figures["quick"] is True
    assert figures["customers"] == 3
    assert figures["platform"]["records"] == figures["raw"]["rows"] > 100
    assert figures["platform"]["records_per_s"] > 0 and figures["ratio"] > 0
