"""The task centre's tests reuse the flow runtime tests' app and people."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "flows"))
