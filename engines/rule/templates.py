"""Message templates of rules: `工单 {code} 已超期` with the record's values.

Placeholders are plain field keys (checked against the form when the rule compiles,
so a typo is refused at save time); `{{` and `}}` are literal braces. Rendering is
pure: instants are shown in the deployment's zone, money as written ("1200.50").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from engines.common import I18nText, Label

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders(template: str) -> list[str]:
    return [m.group(1) for m in PLACEHOLDER.finditer(template) if m.group(1)]


def label_texts(label: Label) -> dict[str, str]:
    """Both languages of a label (a plain string serves both)."""
    if isinstance(label, I18nText):
        zh = label.zh or label.en or ""
        return {"zh": zh, "en": label.en or zh}
    return {"zh": label, "en": label}


def display(value: Any, tz: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple):
        return ", ".join(display(v, tz) for v in value)
    return str(value)


def render(template: str, values: Mapping[str, Any], tz: ZoneInfo) -> str:
    def substitute(match: re.Match[str]) -> str:
        found = match.group(0)
        if found in ("{{", "}}"):
            return found[0]
        return display(values.get(match.group(1)), tz)

    return PLACEHOLDER.sub(substitute, template)


def render_label(label: Label, values: Mapping[str, Any], tz: ZoneInfo) -> dict[str, str]:
    return {lang: render(text, values, tz) for lang, text in label_texts(label).items()}
