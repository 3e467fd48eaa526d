"""Record and row ids arrive as strings (DESIGN §10). `str.isdigit` accepts '¹' and
'٣', which `int` then refuses or reads differently, so ids are parsed here, once:
ASCII digits, positive, within BIGINT."""

from __future__ import annotations

import re

_ID = re.compile(r"[0-9]{1,19}")
MAX_ID = 2**63 - 1


def as_id(value: object) -> int | None:
    """The id as an int, or None when `value` is not a valid id."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _ID.fullmatch(text):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
