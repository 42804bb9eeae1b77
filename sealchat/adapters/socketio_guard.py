"""The Socket.IO server with two connection limits python-socketio does not have.

- **A deadline to authenticate.** An Engine.IO connection must complete the Socket.IO
  CONNECT of the ``/`` namespace (whose handler checks the access token) within
  ``auth_deadline`` seconds of opening, and again within that time after leaving the
  namespace (a server-side disconnect at token expiry, a client DISCONNECT packet);
  otherwise the Engine.IO connection is closed. Failed CONNECT attempts do not restart
  the clock.
- **Connections per client address.** At most ``max_per_address`` open Engine.IO
  connections per address; the handshake over it is refused (polling: ``401``; websocket:
  closed before it is accepted, which the web server answers ``403``).
- **A handshake rate per client address** (``handshake_rate``/``handshake_burst``, a token
  bucket; 0: none): handshakes over it are refused the same way, ``rate_limited``.

The address is the one the ASGI server puts in ``scope["client"]`` (uvicorn's, after its
proxy-headers middleware when that is on). python-engineio's ASGI environ always says
``REMOTE_ADDR = 127.0.0.1``, so it is not used.

These hooks override python-socketio internals (``_handle_eio_connect``,
``_handle_eio_disconnect``, ``_handle_connect``, ``_handle_disconnect``) and use the
Engine.IO socket's outgoing ``queue`` (a ``None`` there ends a websocket), pinned to
python-socketio 5.18 / python-engineio 4.15; tests/unit/test_socketio_guard.py fails
loudly when an upgrade changes them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from sealchat import metrics
from sealchat.adapters.socketio_packets import PacketGuardServer
from sealchat.domain.errors import RateLimited
from sealchat.services.rate_limit import TokenBucketLimiter

log = logging.getLogger(__name__)

NAMESPACE = "/"


@dataclass(slots=True)
class _Peer:
    address: str
    # When the connection must be authenticated by (monotonic clock), and the timer for it.
    deadline: float
    timer: asyncio.TimerHandle | None = None


def client_address(environ: dict[str, Any]) -> str:
    """The client's address as the ASGI server reports it (``scope["client"]``)."""
    scope = environ.get("asgi.scope")
    client = scope.get("client") if isinstance(scope, dict) else None
    if client:
        return str(client[0])
    return str(environ.get("REMOTE_ADDR", "unknown"))


class GuardedAsyncServer(PacketGuardServer):
    def __init__(
        self,
        *,
        auth_deadline: float,
        max_per_address: int,
        handshake_rate: float = 0.0,
        handshake_burst: int = 1,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.auth_deadline = auth_deadline
        self.max_per_address = max_per_address  # 0: no cap
        self._handshakes = (
            TokenBucketLimiter(handshake_rate, max(1, handshake_burst), what="handshakes")
            if handshake_rate > 0
            else None
        )
        self._peers: dict[str, _Peer] = {}  # eio sid -> peer
        self._per_address: dict[str, int] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def connections_from(self, address: str) -> int:
        return self._per_address.get(address, 0)

    # -- Engine.IO connection lifecycle (pinned hooks) ---------------------------------

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        address = client_address(environ)
        if self._handshakes is not None:
            try:
                self._handshakes.check(address)
            except RateLimited:
                metrics.refused("connect", "rate_limited")
                return {
                    "code": "rate_limited",
                    "message": "too many connections opened from this address; wait a moment",
                }
        open_now = self._per_address.get(address, 0)
        if self.max_per_address and open_now >= self.max_per_address:
            log.warning("refused a connection: %s already has %d open", address, open_now)
            metrics.refused("connect", "too_many_connections")
            # Anything but None/True makes python-engineio refuse the handshake with it.
            return {
                "code": "too_many_connections",
                "message": f"at most {self.max_per_address} connections per address",
            }
        self._per_address[address] = open_now + 1
        self._peers[eio_sid] = _Peer(address, time.monotonic() + self.auth_deadline)
        self._arm(eio_sid)
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        peer = self._peers.pop(eio_sid, None)
        if peer is not None:
            if peer.timer is not None:
                peer.timer.cancel()
            left = self._per_address.get(peer.address, 1) - 1
            if left > 0:
                self._per_address[peer.address] = left
            else:
                self._per_address.pop(peer.address, None)
        await super()._handle_eio_disconnect(eio_sid, reason)

    # -- namespace connect / disconnect (pinned hooks) ---------------------------------

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        await super()._handle_connect(eio_sid, namespace, data)
        # Refused (bad token): the clock keeps running from where it was.
        self._arm(eio_sid)

    async def _handle_disconnect(
        self, eio_sid: str, namespace: str | None, reason: Any = None
    ) -> None:
        await super()._handle_disconnect(eio_sid, namespace, reason)
        self._restart_clock(eio_sid)

    async def disconnect(
        self, sid: str, namespace: str | None = None, ignore_queue: bool = False
    ) -> None:
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace or NAMESPACE)
        await super().disconnect(sid, namespace, ignore_queue=ignore_queue)
        if eio_sid is not None:
            self._restart_clock(eio_sid)

    # -- the deadline ------------------------------------------------------------------

    def _in_namespace(self, eio_sid: str) -> bool:
        """Connected to ``/``, or its CONNECT is being handled (``_handle_connect`` re-arms
        the timer if that fails)."""
        return self.manager.sid_from_eio_sid(eio_sid, NAMESPACE) is not None

    def _restart_clock(self, eio_sid: str) -> None:
        peer = self._peers.get(eio_sid)
        if peer is not None and not self._in_namespace(eio_sid):
            peer.deadline = time.monotonic() + self.auth_deadline
            self._arm(eio_sid)

    def _arm(self, eio_sid: str) -> None:
        peer = self._peers.get(eio_sid)
        if peer is None or peer.timer is not None or self._in_namespace(eio_sid):
            return
        delay = max(0.0, peer.deadline - time.monotonic())
        peer.timer = asyncio.get_running_loop().call_later(delay, self._deadline_passed, eio_sid)

    def _deadline_passed(self, eio_sid: str) -> None:
        peer = self._peers.get(eio_sid)
        if peer is None:
            return
        peer.timer = None
        if self._in_namespace(eio_sid):
            return
        task = asyncio.ensure_future(self._close_unauthenticated(eio_sid))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_unauthenticated(self, eio_sid: str) -> None:
        log.info("closing a connection that did not authenticate in %g s", self.auth_deadline)
        socket = self.eio.sockets.get(eio_sid)
        try:
            await self.eio.disconnect(eio_sid)
        except Exception:  # pragma: no cover - the transport is already gone
            log.debug("closing %s failed", eio_sid, exc_info=True)
        if socket is not None and socket.upgraded:
            # python-engineio only sends a CLOSE packet and waits for the client to hang
            # up; None stops the websocket writer, which then closes the websocket.
            await socket.queue.put(None)
