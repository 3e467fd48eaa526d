"""Channel templates: `{name}` placeholders filled from a flat mapping.

Why not `str.format`: templates come from configuration that analysts edit, and
`format` would let `{x.__class__}` or `{x[0]}` reach into objects. Here a placeholder
is a plain identifier only; `{{` and `}}` are literal braces; an unknown name is left
as written so a typo is visible in the message rather than raising mid-delivery.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def render(template: str, values: Mapping[str, Any],
           escape: Callable[[str], str] | None = None) -> str:
    """Fill `template`; `escape` (e.g. html.escape) is applied to every inserted value."""

    def substitute(match: re.Match[str]) -> str:
        found = match.group(0)
        if found == "{{":
            return "{"
        if found == "}}":
            return "}"
        name = match.group(1)
        if name not in values:
            return found
        text = display(values[name])
        return escape(text) if escape else text

    return _PLACEHOLDER.sub(substitute, template)


def display(value: Any) -> str:
    """A value as a person reads it: blanks empty, lists joined, booleans as ✓/✗."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list | tuple):
        return ", ".join(display(v) for v in value)
    return str(value)
