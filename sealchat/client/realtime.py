"""The realtime transport: one Socket.IO connection, events in, acked calls out.

It knows nothing of rooms or messages: the facade registers handlers that feed the
core. What it adds to python-socketio is one rule: a call whose connection drops fails
at once (``disconnected``) instead of waiting out its ack timeout, since resending is
safe (client message ids make sends idempotent).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sealchat.client.errors import ClientError

if TYPE_CHECKING:
    import socketio

AuthSource = Callable[[], Awaitable[dict[str, str]]]
Handler = Callable[..., Awaitable[None] | object]


class RealtimeTransport:
    def __init__(self, ack_timeout: float = 15.0) -> None:
        self.ack_timeout = ack_timeout
        self._handlers: dict[str, Handler] = {}
        self._sio: socketio.AsyncClient | None = None
        self._dropped = asyncio.Event()

    def on(self, event: str, handler: Handler) -> None:
        """The handler of a server event (``*`` for any other); set before ``connect``."""
        self._handlers[event] = handler

    @property
    def has_socket(self) -> bool:
        """A connection exists (open, or reconnecting by itself)."""
        return self._sio is not None

    @property
    def is_open(self) -> bool:
        # The namespace, not ``connected``: that flag lags behind the connect event.
        return self._sio is not None and "/" in self._sio.namespaces

    async def connect(self, url: str, auth: AuthSource, transports: list[str]) -> None:
        """Connect (reconnecting by itself afterwards); a refusal raises ``ClientError``."""
        import socketio  # only commands that connect pay for loading it (and aiohttp)

        sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_delay=0.2,
            reconnection_delay_max=2,
            logger=False,
            engineio_logger=False,
        )
        for event, handler in self._handlers.items():
            sio.on(event, handler)
        refusals: list[Any] = []
        sio.on("connect_error", refusals.append)
        sio.on("connect", self._wrap_connect(self._handlers.get("connect")))
        sio.on("disconnect", self._wrap_disconnect(self._handlers.get("disconnect")))
        self._sio = sio
        try:
            await sio.connect(url, auth=auth, transports=transports, wait_timeout=10)
        except socketio.exceptions.ConnectionError as exc:
            self._sio = None
            refusal = refusals[-1] if refusals else None
            if isinstance(refusal, dict) and isinstance(refusal.get("data"), dict):
                raise ClientError.from_body({"error": refusal["data"]}) from exc
            raise ClientError("unavailable", f"cannot connect: {exc}") from exc

    async def disconnect(self) -> None:
        if self._sio is not None:
            sio, self._sio = self._sio, None
            await sio.disconnect()

    async def reconnect(self, url: str, auth: AuthSource, transports: list[str]) -> None:
        """Drop the connection (its automatic reconnection too) and open a new one."""
        await self.disconnect()
        await self.connect(url, auth, transports)

    async def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send an event and wait for its ack; a refusal raises ``ClientError``."""
        if self._sio is None or not self.is_open:
            raise ClientError("disconnected", "not connected")
        call = asyncio.ensure_future(self._sio.call(event, payload, timeout=self.ack_timeout))
        dropped = asyncio.ensure_future(self._dropped.wait())
        try:
            await asyncio.wait({call, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
        if not call.done():
            call.cancel()
            raise ClientError("disconnected", f"connection lost before the ack for {event}")
        import socketio  # loaded by connect already

        try:
            ack = call.result()
        except socketio.exceptions.TimeoutError as exc:
            raise ClientError("timeout", f"no ack for {event}") from exc
        if not isinstance(ack, dict) or not ack.get("ok"):
            raise ClientError.from_body(ack)
        return ack

    def _wrap_connect(self, handler: Handler | None) -> Handler:
        async def on_connect() -> None:
            self._dropped.clear()
            if handler is not None:
                result = handler()
                if asyncio.iscoroutine(result):
                    await result

        return on_connect

    def _wrap_disconnect(self, handler: Handler | None) -> Handler:
        async def on_disconnect(reason: Any = None) -> None:
            self._dropped.set()
            if handler is not None:
                result = handler(reason)
                if asyncio.iscoroutine(result):
                    await result

        return on_disconnect
