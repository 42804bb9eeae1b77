"""Logging: one line per event, plain text or JSON, with the request or socket id.

``SEALCHAT_LOG_FORMAT=json`` writes one JSON object per line (``ts``, ``level``,
``logger``, ``message``, and ``request_id`` / ``socket_id`` when known, ``exc`` for a
traceback). What may never be logged: tokens, passwords, envelopes, keys. Sealchat's own
log calls name ids and counts only; as a safety net a filter masks anything shaped like
a JWT or a bearer credential, and the libraries whose output would print statements with
their parameters or frames with their payloads (SQLAlchemy logs SQL at INFO, uvicorn's
websocket trace at DEBUG) are held at WARNING, and uvicorn's at INFO, whatever
``SEALCHAT_LOG_LEVEL`` says.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: ContextVar[str | None] = ContextVar("sealchat_request_id", default=None)
socket_id: ContextVar[str | None] = ContextVar("sealchat_socket_id", default=None)

# Libraries whose debug (SQLAlchemy: info) output would carry statement parameters or
# frame payloads: never below WARNING.
QUIET_LIBRARIES = (
    "aiosqlite",
    "asyncpg",
    "sqlalchemy",
    "httpx",
    "httpcore",
    "websockets",
    "engineio",
    "socketio",
    "redis",
    "hpack",
    "multipart",
    "python_multipart",
    "botocore",
    "urllib3",
    "asyncio",
)

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',]+")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def redact(text: str) -> str:
    if "eyJ" in text:
        text = _JWT.sub("[token]", text)
    if "earer" in text:
        text = _BEARER.sub(r"\1[token]", text)
    return text


class ContextFilter(logging.Filter):
    """Adds the current request and socket ids; masks credentials in the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.socket_id = socket_id.get()
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned is not message and cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = _ids(record)
        if ids:
            line += " [" + " ".join(f"{k}={v}" for k, v in ids.items()) + "]"
        return redact(line)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_ids(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


def _ids(record: logging.LogRecord) -> dict[str, str]:
    found = {}
    for name in ("request_id", "socket_id"):
        value = getattr(record, name, None)
        if value:
            found[name] = value
    return found


def configure_logging(level: str, log_format: str) -> None:
    """Send every log line to stderr in ``log_format``; replaces earlier handlers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = logging.getLevelName(level.upper())
    root.setLevel(numeric if isinstance(numeric, int) else logging.INFO)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        # uvicorn's own handlers (if any) go; its lines take ours.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # uvicorn's DEBUG is a protocol trace (handshake headers, frames): held at INFO.
    for name in ("uvicorn.error", "uvicorn.asgi"):
        logging.getLogger(name).setLevel(max(root.level, logging.INFO))


class RequestIds:
    """ASGI middleware: every HTTP request and websocket gets an id, in the logs
    (``request_id``) and, for HTTP, in the ``X-Request-ID`` response header. A sane
    ``X-Request-ID`` from the client (or a proxy) is kept; anything else is replaced."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _REQUEST_ID.fullmatch(given) else secrets.token_hex(8)
        request_id.set(rid)
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)
