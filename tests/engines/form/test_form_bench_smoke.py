"""bench/form_submit.py runs with --quick and ends with one line of JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_form_submit_bench_quick_prints_json() -> None:
    done = subprocess.run(  # noqa: S603 - our own benchmark script
        [sys.executable, str(ROOT / "bench" / "form_submit.py"), "--quick", "--n", "300"],
        capture_output=True, text=True, timeout=120, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "form_submit"
    assert figures["process_per_s"] > 0 and figures["jsonschema_per_s"] > 0
    assert figures["process_errors"] == 0 and figures["schema_invalid"] == 0
