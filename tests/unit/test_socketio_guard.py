"""The python-socketio / python-engineio internals GuardedAsyncServer relies on.

If one of these fails after an upgrade, the auth deadline or the per-address cap may
silently stop working: read the new library source and adapt sealchat/adapters/socketio_guard.py
(tests/integration/test_socket_limits.py shows the behaviour through a live server).
"""

from __future__ import annotations

import inspect
from typing import Any

import engineio
import socketio
from engineio.async_drivers import asgi as engineio_asgi

from sealchat.adapters.socketio_guard import GuardedAsyncServer, client_address


def params(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_overridden_hooks_keep_their_signatures() -> None:
    server = socketio.AsyncServer
    assert params(server._handle_eio_connect) == ["self", "eio_sid", "environ"]
    assert params(server._handle_eio_disconnect) == ["self", "eio_sid", "reason"]
    assert params(server._handle_connect) == ["self", "eio_sid", "namespace", "data"]
    assert params(server._handle_disconnect) == ["self", "eio_sid", "namespace", "reason"]
    assert params(server.disconnect) == ["self", "sid", "namespace", "ignore_queue"]
    for name in ("_handle_eio_connect", "_handle_eio_disconnect", "_handle_connect"):
        assert inspect.iscoroutinefunction(getattr(server, name)), name


def test_engineio_calls_our_connect_and_disconnect_hooks() -> None:
    server = GuardedAsyncServer(auth_deadline=1, max_per_address=1, async_mode="asgi")
    assert server.eio.handlers["connect"].__func__ is GuardedAsyncServer._handle_eio_connect
    assert server.eio.handlers["disconnect"].__func__ is GuardedAsyncServer._handle_eio_disconnect


def test_engineio_refuses_a_handshake_its_connect_handler_declines() -> None:
    # python-engineio turns a connect handler's value other than None/True into a 401.
    source = inspect.getsource(engineio.AsyncServer._handle_connect)
    assert "ret is not None and ret is not True" in source
    assert "self._unauthorized(" in source


def test_a_none_in_the_socket_queue_ends_its_websocket_writer() -> None:
    from engineio.async_socket import AsyncSocket

    poll = inspect.getsource(AsyncSocket.poll)
    assert "self.queue.get()" in poll and "if packets == [None]:" in poll
    handler = inspect.getsource(AsyncSocket._websocket_handler)
    assert "if not packets:" in handler and "await ws.close()" in handler
    socket = AsyncSocket(engineio.AsyncServer(async_mode="asgi"), "sid")
    assert socket.upgraded is False and hasattr(socket.queue, "put")


def test_manager_lookups_exist() -> None:
    manager = socketio.AsyncManager()
    assert params(manager.sid_from_eio_sid) == ["eio_sid", "namespace"]
    assert params(manager.eio_sid_from_sid) == ["sid", "namespace"]


async def test_the_asgi_environ_carries_the_client_address_in_its_scope() -> None:
    scope = {
        "type": "websocket",
        "path": "/socket.io/",
        "query_string": b"EIO=4&transport=websocket",
        "headers": [],
        "client": ("203.0.113.7", 50123),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:  # pragma: no cover - not called
        raise AssertionError(message)

    environ = await engineio_asgi.translate_request(scope, receive, send)
    # engineio's own REMOTE_ADDR is a constant, which is why we read the scope.
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert client_address(environ) == "203.0.113.7"
