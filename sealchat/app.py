"""The ASGI application: FastAPI for HTTP, python-socketio beside it for realtime."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import socketio
from fastapi import FastAPI

from sealchat import __version__, metrics
from sealchat.adapters.slow_clients import set_header_timeout
from sealchat.api import blobs, keys, read_state, rooms, system
from sealchat.api.metrics import build_metrics_router, serving_metrics
from sealchat.api.realtime import RealtimeGateway
from sealchat.api.security_headers import hardened_api
from sealchat.api.web import content_security_policy, mount_web_client
from sealchat.logs import RequestIds, configure_logging
from sealchat.settings import Settings
from sealchat.wiring import build_realtime_limits, build_socketio_server, runtime

log = logging.getLogger("sealchat")


def create_app_from_environment() -> Any:
    """The app of one worker of ``sealchat serve --workers N`` (settings from SEALCHAT_*)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    set_header_timeout(settings.http_header_timeout_seconds)
    return create_app(settings)


def create_app(settings: Settings) -> Any:
    """Build the whole ASGI app; adapters are created when the app starts."""
    sio = build_socketio_server(settings)

    def sample_connections() -> None:
        metrics.sample_connections(sio.eio.sockets)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            runtime(settings, sio) as built,
            serving_metrics(
                settings.metrics_port,
                settings.metrics_host,
                settings.metrics_token,
                sample_connections,
                settings.metrics_sample_seconds,
            ),
        ):
            app.state.services = built.services
            if built.auth_router is not None:
                app.include_router(built.auth_router)
            if built.kms_router is not None:
                app.include_router(built.kms_router)
            # Last: its catch-all route must not shadow any API route.
            csp = content_security_policy(
                settings.resolved_kms_url(),
                settings.resolved_public_url(),
                settings.provider_urls(),
            )
            mount_web_client(app, settings.resolved_web_dir(), csp)
            limits = built.realtime_limits or build_realtime_limits(settings)
            RealtimeGateway(sio, built.services, limits)
            # Everything built so far lives as long as the server: keep it out of the
            # garbage collector's full passes, which otherwise stall broadcasts.
            gc.freeze()
            log.info("Sealchat %s is ready at %s", __version__, settings.resolved_public_url())
            yield

    api = hardened_api(
        "Sealchat",
        __version__,
        lifespan,
        api_docs=settings.api_docs,
        max_body_bytes=settings.max_http_body_bytes,
        streamed_paths=blobs.UPLOAD_PATH,
    )
    api.include_router(system.router)
    api.include_router(rooms.router)
    api.include_router(keys.router)
    api.include_router(read_state.router)
    api.include_router(blobs.router)
    if settings.metrics_token:
        api.include_router(build_metrics_router(settings.metrics_token, sample_connections))
    api.state.settings = settings
    return RequestIds(socketio.ASGIApp(sio, other_asgi_app=api, socketio_path="socket.io"))
