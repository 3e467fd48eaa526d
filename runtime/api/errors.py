"""One error shape for every error: {"error": {"code", "message", "details"}}.

Domain errors map to their status here and only here; FastAPI's own request
validation errors are reshaped to the same form; anything unexpected becomes a 500
with a generic message (the details go to the log, never to the client).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime.api.deps import get_lang
from runtime.errors import LoomError

log = logging.getLogger("loom.api")

_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 412: "stale_version",
                 413: "too_large", 415: "unsupported_media_type", 422: "validation_failed"}
_STATUS_MESSAGES = {
    404: ("找不到该资源", "Not found"),
    413: ("请求体太大", "Request body too large"),
    405: ("不支持该请求方法", "Method not allowed"),
    401: ("需要登录", "Authentication required"),
}


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None
               ) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def _lang(request: Request) -> str:
    return get_lang(request.headers.get("accept-language"))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoomError)
    async def _loom(request: Request, exc: LoomError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.render(_lang(request)), status_code=exc.status,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = _lang(request)
        details = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ()) if p not in ("body",)]
            details.append({"field": ".".join(loc) or None, "code": str(e.get("type")),
                            "message": str(e.get("msg"))})
        msg = "请求格式错误" if lang == "zh" else "The request is malformed"
        return JSONResponse(error_body("bad_request", msg, details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        zh, en = _STATUS_MESSAGES.get(exc.status_code, (str(exc.detail), str(exc.detail)))
        msg = zh if _lang(request) == "zh" else en
        return JSONResponse(error_body(_STATUS_CODES.get(exc.status_code, "error"), msg),
                            status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        msg = "服务器内部错误" if _lang(request) == "zh" else "Internal server error"
        return JSONResponse(error_body("internal_error", msg), status_code=500)
