"""bench/flows.py --store runs in quick mode and ends with one JSON line holding the
store figures next to the engine ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_flow_store_benchmark_quick_run_prints_its_figures() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "flows.py"), "--quick",  # noqa: S603 - our own script
                           "--n", "50", "--store"], capture_output=True, text=True,
                          timeout=300, check=True, cwd=ROOT)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["store_sqlite_per_s"] > 0 and figures["loom_memory_per_s"] > 0
    pg = figures["store_postgresql_per_s"]
    if os.environ.get("CI", "").lower() == "true":
        assert pg is not None and pg > 0
    assert pg is None or pg > 0
