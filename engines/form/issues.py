"""Problems found in a form definition or in a submission, as plain data.

Both kinds carry a location, a stable English code and a message in zh and en, so the
API can answer in the request's language and list every problem at once (STYLE:
jsonschema's iter_errors). Checks *return* issues rather than raising on the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engines.common import Lang


@dataclass(frozen=True, slots=True)
class FieldIssue:
    """One error in a submission: `field` is a data path such as `lines[2].qty`
    (None for a form-level validation)."""

    field: str | None
    code: str
    message: dict[str, str]

    def render(self, lang: Lang) -> dict[str, Any]:
        return {"field": self.field, "code": self.code,
                "message": self.message.get(lang) or self.message.get("en", "")}


@dataclass(frozen=True, slots=True)
class DefinitionIssue:
    """One error in a form definition: `path` is a JSON path such as `fields[3].expr`."""

    path: str
    code: str
    message: dict[str, str]

    def render(self, lang: Lang) -> dict[str, Any]:
        return {"path": self.path, "code": self.code,
                "message": self.message.get(lang) or self.message.get("en", "")}


class FormDefinitionError(Exception):
    """A form that cannot be compiled; `issues` lists every problem found."""

    def __init__(self, issues: Sequence[DefinitionIssue]) -> None:
        self.issues = tuple(issues)
        first = self.issues[0] if self.issues else None
        summary = f"{first.path}: {first.message['en']}" if first else "invalid form"
        more = f" (and {len(self.issues) - 1} more)" if len(self.issues) > 1 else ""
        super().__init__(summary + more)


class Invalid(Exception):
    """Raised by a normaliser for a value it cannot accept; becomes a FieldIssue."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.code = code
        self.message = {"zh": zh, "en": en}
