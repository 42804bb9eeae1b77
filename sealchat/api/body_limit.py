"""Refuse HTTP request bodies over a size cap, declared or streamed."""

from __future__ import annotations

import json
import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """ASGI middleware: 413 ``payload_too_large`` for bodies over ``max_bytes``.

    A body whose Content-Length is too big is refused before it is read; a chunked
    body is counted as it streams, and the route reading it gets the same 413.
    POSTs to ``streamed_paths`` (blob uploads) pass: those routes enforce limits of their own.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, streamed_paths: re.Pattern[str] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed_paths = streamed_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._streamed(scope):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and not declared.isdigit():
            await self._refuse(send, 400, "invalid_input", "Content-Length is not a number")
            return
        if declared is not None and int(declared) > self.max_bytes:
            await self._refuse(send, 413, "payload_too_large", self._message())
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, counting_receive, send)

    def _streamed(self, scope: Scope) -> bool:
        return (
            self.streamed_paths is not None
            and scope.get("method") == "POST"
            and self.streamed_paths.match(scope.get("path", "")) is not None
        )

    def _message(self) -> str:
        return f"request body is over {self.max_bytes} bytes"

    async def _refuse(self, send: Send, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
