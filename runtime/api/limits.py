"""A cap on request bodies (1 MiB by default, more for uploads), enforced while the
body streams in, so a client that lies about Content-Length or sends chunks without
one still gets a 413 before the server buffers too much."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UPLOAD_SUFFIXES = ("/import", "/files")


class BodyTooLarge(HTTPException):
    """Raised while the body streams in. An HTTPException so that FastAPI's body
    parsing passes it through (it turns other errors into a 400)."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="Request body too large")


class BodyLimit:
    def __init__(self, app: ASGIApp, *, limit: int, upload_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    def _limit_for(self, scope: Scope) -> int:
        path: str = scope.get("path", "")
        if path.endswith(UPLOAD_SUFFIXES) or (path.rstrip("/") == "/api/v1/apps"
                                              and scope.get("method") == "POST"):
            return self.upload_limit
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _reject(scope, send, limit)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            # Raised outside a route's body parsing (e.g. a handler streaming the body).
            if not started:
                await _reject(scope, send, limit)


async def _reject(scope: Scope, send: Send, limit: int) -> None:
    headers = dict(scope.get("headers") or [])
    en = (headers.get(b"accept-language") or b"").lower().startswith(b"en")
    message = (f"Request body too large (limit {limit} bytes)" if en
               else f"请求体太大（上限 {limit} 字节）")
    body: dict[str, Any] = {"error": {"code": "too_large", "message": message, "details": []}}
    payload = json.dumps(body, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
