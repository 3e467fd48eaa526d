"""bench/rules.py runs with --quick (smaller still here) and ends with one line of JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_bench_rules_quick() -> None:
    command = [sys.executable, str(ROOT / "bench" / "rules.py"), "--quick", "--writes", "200",
               "--receivables", "3000"]
    out = subprocess.run(command,  # noqa: S603 - our own benchmark script
                         capture_output=True, text=True, timeout=300, check=True, cwd=ROOT)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["quick"] is True
    for dialect in ("sqlite", "postgresql"):
        assert figures["event_rules"][dialect]["rules_per_s"] > 0
        sql = figures["overdue_sql"][dialect]
        assert sql["receivables"] == 3000 and sql["matches"] > 0
        assert sql["platform_s"] > 0 and sql["hand_sql_s"] > 0
