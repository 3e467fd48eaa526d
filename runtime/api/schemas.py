"""Response models shared by routers, and the documented error responses, so the
OpenAPI document lists every status a route can answer with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ErrorItem(BaseModel):
    field: str | None = Field(None, description="JSON path of the offending field")
    code: str
    message: str


class ErrorBody(BaseModel):
    code: str = Field(description="stable English error code")
    message: str = Field(description="in the request's Accept-Language (zh default)")
    details: list[ErrorItem] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorBody


_DESCRIPTIONS = {
    400: "Bad input", 401: "Missing or invalid token", 403: "Not allowed",
    404: "Unknown app, form, record or definition", 409: "Conflict (unique value, state)",
    412: "Stale version (If-Match)", 413: "Body too large",
    422: "Validation failed; every error listed",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: the listed statuses plus 401 and 413, all with the
    error shape."""
    wanted = sorted({*statuses, 401, 413, 422})
    return {s: {"model": ErrorResponse, "description": _DESCRIPTIONS.get(s, "Error")}
            for s in wanted}


class Record(BaseModel):
    id: str
    app: str
    form: str
    form_version: int
    version: int
    data: dict[str, Any]
    owner: str | None
    department: str | None = None
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


class RecordPage(BaseModel):
    items: list[Record]
    next_cursor: str | None = None


class HistoryEntry(BaseModel):
    seq: int
    action: str
    actor: str
    at: datetime
    diff: dict[str, Any]
    hash: str


class History(BaseModel):
    record_id: str
    entries: list[HistoryEntry]
    verified: bool
    problem: str | None = None
    at_seq: int | None = None
