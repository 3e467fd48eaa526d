"""Domain errors. Services raise these; only the HTTP edge maps them to statuses.

Every error carries a stable English `code`, a message in zh and en, and optional
`details` (one per field for validation errors), so the API can answer in the
request's language with one JSON shape everywhere (DESIGN §9).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Detail:
    field: str | None
    code: str
    message: dict[str, str]

    def render(self, lang: str) -> dict[str, Any]:
        return {"field": self.field, "code": self.code,
                "message": self.message.get(lang) or self.message.get("en", "")}


class LoomError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, zh: str, en: str, *, code: str | None = None,
                 details: Sequence[Detail] = ()) -> None:
        super().__init__(en)
        self.message = {"zh": zh, "en": en}
        if code:
            self.code = code
        self.details = list(details)

    def render(self, lang: str) -> dict[str, Any]:
        return {"error": {"code": self.code,
                          "message": self.message.get(lang) or self.message["en"],
                          "details": [d.render(lang) for d in self.details]}}


class BadRequest(LoomError):
    status = 400
    code = "bad_request"


class Unauthorized(LoomError):
    status = 401
    code = "unauthorized"


class Forbidden(LoomError):
    status = 403
    code = "forbidden"


class NotFound(LoomError):
    status = 404
    code = "not_found"


class Conflict(LoomError):
    status = 409
    code = "conflict"


class StaleVersion(LoomError):
    status = 412
    code = "stale_version"


class TooLarge(LoomError):
    status = 413
    code = "too_large"


class ValidationFailed(LoomError):
    status = 422
    code = "validation_failed"


def not_found(kind_zh: str, kind_en: str, key: object) -> NotFound:
    return NotFound(f"{kind_zh}不存在：{key}", f"{kind_en} not found: {key}")
