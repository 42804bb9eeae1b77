"""sealchat/logs.py: one JSON object per line, ids, masking, request ids."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from sealchat.logs import ContextFilter, JsonFormatter, RequestIds, TextFormatter, redact, socket_id

JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def emit(formatter: logging.Formatter, message: str, *args: Any, exc: bool = False) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("sealchat.test_logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        if exc:
            try:
                raise ValueError("boom")
            except ValueError:
                logger.exception(message, *args)
        else:
            logger.warning(message, *args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_json_lines_carry_the_socket_id_and_keep_a_traceback_on_one_line() -> None:
    socket_id.set("sid-123")
    out = emit(JsonFormatter(), "failed for %s", "alice", exc=True)
    assert out.count("\n") == 1
    entry = json.loads(out)
    assert entry["message"] == "failed for alice"
    assert entry["socket_id"] == "sid-123"
    assert entry["level"] == "error" and "ValueError: boom" in entry["exc"]


def test_tokens_are_masked_in_messages_and_arguments() -> None:
    out = emit(TextFormatter(), "header Authorization: Bearer %s and %s", "abc.def", JWT)
    assert JWT not in out and "abc.def" not in out
    assert "[token]" in out
    assert redact("nothing secret") == "nothing secret"


@pytest.mark.parametrize(
    ("given", "kept"), [(b"req-42.a_b", True), (b"bad id\n", False), (b"x" * 65, False)]
)
async def test_request_ids_keep_a_sane_one_and_replace_others(given: bytes, kept: bool) -> None:
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {}

    scope = {"type": "http", "headers": [(b"x-request-id", given)]}
    await RequestIds(app)(scope, receive, send)
    header = dict(sent[0]["headers"])[b"x-request-id"]
    assert (header == given) is kept
    assert 1 <= len(header) <= 64
