"""Effects as JSON (the run log, dry runs, job payloads): type name plus fields."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any

_SCALARS = (str, int, float, type(None))


_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    # Asked once per type: every rule firing serialises its effects for the run log.
    try:
        return _FIELDS[cls]
    except KeyError:
        names = (tuple(f.name for f in dataclasses.fields(cls))
                 if dataclasses.is_dataclass(cls) else None)
        _FIELDS[cls] = names
        return names


def _plain(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return value
    names = _field_names(type(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
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
