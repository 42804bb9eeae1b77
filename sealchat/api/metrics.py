"""Serving ``/metrics``: on the main port behind a bearer token, and/or on a port of its own.

- ``SEALCHAT_METRICS_TOKEN`` set: ``GET /metrics`` on the main port answers with
  ``Authorization: Bearer <token>`` only (401 otherwise); the separate port asks for it too.
- ``SEALCHAT_METRICS_PORT`` set: a small threaded server on ``SEALCHAT_METRICS_HOST``
  (loopback by default) serves ``/metrics`` there; with ``--workers N`` the supervising
  process serves it, adding up every worker's values.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.exposition import ThreadingWSGIServer

from sealchat import metrics
from sealchat.domain.errors import Unauthorized

Sampler = Callable[[], None]


def token_matches(authorization: str, token: str) -> bool:
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def build_metrics_router(token: str, sample: Sampler) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def scrape(request: Request) -> Response:
        if not token_matches(request.headers.get("authorization", ""), token):
            raise Unauthorized("a metrics token is required")
        sample()
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return router


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log for scrapes."""


def metrics_wsgi_app(token: str) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if token and not token_matches(environ.get("HTTP_AUTHORIZATION", ""), token):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")],
            )
            return [b"a metrics token is required\n"]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [metrics.exposition()]

    return app


class MetricsListener:
    """The metrics port: a daemon thread serving ``/metrics`` until ``close``."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self._server: WSGIServer = make_server(
            host, port, metrics_wsgi_app(token), ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sealchat-metrics", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@asynccontextmanager
async def serving_metrics(
    port: int, host: str, token: str, sample: Sampler, every: float
) -> AsyncIterator[MetricsListener | None]:
    """While the server runs: sample the connection gauge every ``every`` seconds and,
    unless the supervising process of ``--workers`` serves it, listen on the metrics port."""

    async def sampling() -> None:
        while True:
            sample()
            await asyncio.sleep(every)

    task = asyncio.create_task(sampling(), name="sealchat-metrics-sampler")
    listener = MetricsListener(host, port, token) if port and not metrics.multiprocess() else None
    try:
        yield listener
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if listener is not None:
            listener.close()
