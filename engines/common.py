"""Building blocks every definition spec shares.

Definitions are written by analysts and integrators by hand, so every spec model
rejects unknown keys (a typo must be an error, not a silently ignored setting) and
labels may be a plain string or a `{"zh": …, "en": …}` pair (FORMATS.md).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
KEY_RE = re.compile(KEY_PATTERN)

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN, max_length=64)]
"""An ASCII identifier: form, field, node, rule, report and role keys."""

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"


class StrictModel(BaseModel):
    """Base of every spec model: unknown keys are refused, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class I18nText(StrictModel):
    """A text in both languages; either may be missing, and the other is used."""

    zh: str | None = None
    en: str | None = None

    def get(self, lang: Lang) -> str:
        return (self.zh if lang == "zh" else self.en) or self.en or self.zh or ""


Label = str | I18nText
"""A label as written: a plain string (any language) or a zh/en pair."""


def text_of(label: Label | None, lang: Lang = DEFAULT_LANG) -> str:
    """The label in `lang`, falling back to the other language, then to ''."""
    if label is None:
        return ""
    if isinstance(label, str):
        return label
    return label.get(lang)


def both(zh: str, en: str) -> dict[str, str]:
    """A message in both languages, as errors and notifications carry them."""
    return {"zh": zh, "en": en}


class Versioned(StrictModel):
    """Every definition file carries the version of its own format (FORMATS.md)."""

    schema_version: int = Field(default=1, ge=1, le=1)
