"""`loom scheduler tick`: run everything due at one instant, then return.

Schedules, date-relative rules, flow timers and SLAs register their tick functions
here as their engines land; jobs due by then run last (they include what the ticks
just enqueued).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from runtime.context import Context
from runtime.jobs.service import run_due

Tick = Callable[[Context, datetime], dict[str, Any]]
TICKS: dict[str, Tick] = {}


def tick(ctx: Context, at: datetime) -> dict[str, Any]:
    report: dict[str, Any] = {"at": at.isoformat()}
    for name, fn in TICKS.items():
        report[name] = fn(ctx, at)
    report["jobs"] = run_due(ctx, now=at, worker="tick")
    return report
