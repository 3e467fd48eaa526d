"""bench/flows.py runs in quick mode and ends with one JSON line of figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_flow_benchmark_quick_run_prints_its_figures() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "flows.py"), "--quick",  # noqa: S603 - our own script
                           "--n", "100"], capture_output=True, text=True, timeout=120,
                          check=True, cwd=ROOT)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("loom_memory_per_s", "spiff_memory_per_s", "ratio_memory",
                "loom_json_per_s", "spiff_json_per_s", "ratio_json"):
        assert figures[key] > 0
