"""Effects as JSON (the run log, dry runs, job payloads): type name plus fields."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def effect_json(effect: Any) -> dict[str, Any]:
    """`{"type": "Notify", "to": [...], ...}` for any effect dataclass."""
    body = _plain(effect)
    return {"type": type(effect).__name__, **(body if isinstance(body, dict) else {})}
