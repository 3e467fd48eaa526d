"""Where the conformance corpora others wrote live: `../shared/corpora` beside the
repository (CI and the development machines have it), or LOOM_SHARED_DIR. Tests read
them from there and never copy them in; tests that need one skip where it is absent,
and `test_corpora_present.py` fails under CI=true when it is, so CI cannot go green
without them."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def corpus_path(name: str) -> Path:
    base = Path(os.environ.get("LOOM_SHARED_DIR") or REPO.parent / "shared")
    return base / "corpora" / name
