"""The Sealchat client: REST calls plus a Socket.IO connection that never misses a message.

Incoming messages (including the acks of our own sends) pass through a ``ReorderBuffer``,
so ``next_message`` yields every message of every room once, in ``seq`` order. After
a reconnect the client sends its cursors and receives exactly what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any
from urllib.parse import urljoin

import httpx
import socketio

from sealchat.client.errors import ClientError
from sealchat.client.http_api import HttpApi
from sealchat.client.key_service import EmbeddedKmsClient, KeyService
from sealchat.client.keyring import ClientKeyring, KeyServiceCalls
from sealchat.client.reorder_buffer import Message, ReorderBuffer
from sealchat.client.sealed import OpenedMessage, RoomGrants, Sealer

log = logging.getLogger(__name__)

# How many times one step of the sync loop waits out a rate_limited refusal before failing.
SYNC_RATE_LIMIT_RETRIES = 5
EventHandler = Callable[[Any], Awaitable[None] | None]

# Pins the key-service URL for clients built without ``kms_url`` (the command line).
PINNED_KMS_URL_ENV = "SEALCHAT_CLIENT_KMS_URL"


class SealchatClient:
    def __init__(
        self,
        base_url: str,
        *,
        http: httpx.AsyncClient | None = None,
        ack_timeout: float = 15.0,
        key_service: KeyService | None = None,
        key_id: str | None = None,
        kms_url: str | None = None,
    ) -> None:
        """``key_service`` defaults to the server's embedded key service (from /api/config);
        pass another (e.g. AWS KMS) with its ``key_id`` to use that instead.

        ``kms_url`` pins where the key-service token and grants go (default: the
        ``SEALCHAT_CLIENT_KMS_URL`` environment variable): the URL the server advertises
        is then ignored, with a warning when it differs. Unpinned, the advertised URL is
        used, and a change of it during the client's life is warned about and ignored."""
        self.api = HttpApi(base_url, http)
        self._base_url = base_url
        pinned = kms_url or os.environ.get(PINNED_KMS_URL_ENV) or None
        self._pinned_kms_url = pinned.rstrip("/") if pinned else None
        self._kms_url_seen: str | None = None
        self.grants = RoomGrants(self.api)
        self._key_service = key_service
        self._key_id = key_id
        self._kms_client: EmbeddedKmsClient | None = None
        self._sealer: Sealer | None = None
        self.timeline = ReorderBuffer()
        self.ack_timeout = ack_timeout
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._handlers: dict[str, list[EventHandler]] = {}
        self._sio: socketio.AsyncClient | None = None
        self._sync_lock = asyncio.Lock()
        self._expired = False
        self._closing = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.connected = asyncio.Event()
        self._dropped = asyncio.Event()

    async def __aenter__(self) -> SealchatClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def user(self) -> dict[str, Any] | None:
        return self.api.user

    # -- accounts --------------------------------------------------------------------------

    async def register(self, username: str, password: str) -> dict[str, Any]:
        """Create an account and sign in; returns ``{id, username}``."""
        return await self.api.register(username, password)

    async def login(self, username: str, password: str) -> dict[str, Any]:
        """Sign in; returns ``{id, username}``."""
        return await self.api.login(username, password)

    async def refresh(self) -> None:
        """Rotate the token pair now."""
        await self.api.refresh()

    async def logout(self) -> None:
        await self.disconnect()
        await self.api.logout()

    async def me(self) -> dict[str, Any]:
        return (await self.api.get("/api/me"))["user"]  # type: ignore[no-any-return]

    # -- rooms ---------------------------------------------------------------------------

    async def rooms(self) -> list[dict[str, Any]]:
        """My rooms, each with my ``role`` and the room's ``last_seq``."""
        return (await self.api.get("/api/rooms"))["rooms"]  # type: ignore[no-any-return]

    async def directory(self) -> list[dict[str, Any]]:
        return (await self.api.get("/api/rooms/directory"))["rooms"]  # type: ignore[no-any-return]

    async def create_room(self, name: str, visibility: str = "public") -> dict[str, Any]:
        body = {"name": name, "visibility": visibility}
        return self._track((await self.api.post("/api/rooms", body))["room"])

    async def join(self, room_id: str) -> dict[str, Any]:
        return self._track((await self.api.post(f"/api/rooms/{room_id}/join"))["room"])

    async def leave(self, room_id: str) -> None:
        await self.api.post(f"/api/rooms/{room_id}/leave")
        self.timeline.forget(room_id)
        self.grants.forget(room_id)
        if self._sealer is not None:
            self._sealer.keyring.forget_room(room_id)

    async def members(self, room_id: str) -> list[dict[str, Any]]:
        return (await self.api.get(f"/api/rooms/{room_id}/members"))["members"]  # type: ignore[no-any-return]

    async def invite(self, room_id: str, username: str) -> dict[str, Any]:
        """Invite ``username`` to a room (owners only); they join by accepting.

        Returns ``{status, invitation, member}``: ``status`` is ``invited``,
        ``already_invited`` (``invitation`` set) or ``already_member`` (``member`` set).
        """
        body = {"username": username}
        return await self.api.post(f"/api/rooms/{room_id}/invitations", body)  # type: ignore[no-any-return]

    async def cancel_invitation(self, room_id: str, user_id: str) -> None:
        """Take back an invitation not yet accepted (owners only)."""
        await self.api.delete(f"/api/rooms/{room_id}/invitations/{user_id}")

    async def invitations(self) -> list[dict[str, Any]]:
        """My pending invitations: each names the ``room`` (with its ``owner`` and
        ``member_count``), the ``inviter`` and when."""
        return (await self.api.get("/api/invitations"))["invitations"]  # type: ignore[no-any-return]

    async def accept_invitation(self, room_id: str) -> dict[str, Any]:
        """Accept an invitation: become a member; returns the room as ``rooms()`` does."""
        return self._track((await self.api.post(f"/api/invitations/{room_id}/accept"))["room"])

    async def decline_invitation(self, room_id: str) -> None:
        await self.api.post(f"/api/invitations/{room_id}/decline")

    async def remove_member(self, room_id: str, user_id: str) -> None:
        await self.api.delete(f"/api/rooms/{room_id}/members/{user_id}")
        # Do not wait for the member:left event: the very next message needs a new key.
        if self._sealer is not None:
            self._sealer.keyring.retire_sending_key(room_id)

    async def open_dm(self, username: str) -> dict[str, Any]:
        """The direct room with ``username`` (the same room every time)."""
        return self._track((await self.api.post("/api/dms", {"username": username}))["room"])

    async def history(
        self,
        room_id: str,
        *,
        before_seq: int | None = None,
        after_seq: int | None = None,
        limit: int = 50,
    ) -> list[Message]:
        """One page of stored messages, oldest first."""
        body = await self.api.get(
            f"/api/rooms/{room_id}/messages",
            before_seq=before_seq,
            after_seq=after_seq,
            limit=limit,
        )
        return body["messages"]  # type: ignore[no-any-return]

    def _track(self, room: dict[str, Any]) -> dict[str, Any]:
        self.timeline.start_at(room["id"], int(room["last_seq"]))
        return room

    # -- realtime ------------------------------------------------------------------------

    def on(self, event: str, handler: EventHandler) -> None:
        """Call ``handler(payload)`` for a server event (``presence``, ``typing``, ...)."""
        self._handlers.setdefault(event, []).append(handler)

    async def connect(self, *, transports: list[str] | None = None) -> None:
        """Open the socket; rooms not yet tracked start from their current ``last_seq``."""
        for room in await self.rooms():
            self._track(room)
        self._closing = False
        self._sio = self._new_socket()
        refusals: list[Any] = []
        self._sio.on("connect_error", refusals.append)
        try:
            await self._sio.connect(
                self.api.base_url,
                auth=self._auth,
                transports=transports or ["websocket"],
                wait_timeout=10,
            )
        except socketio.exceptions.ConnectionError as exc:
            self._sio = None
            refusal = refusals[-1] if refusals else None
            if isinstance(refusal, dict) and isinstance(refusal.get("data"), dict):
                raise ClientError.from_body({"error": refusal["data"]}) from exc
            raise ClientError("unavailable", f"cannot connect: {exc}") from exc
        await asyncio.wait_for(self.connected.wait(), self.ack_timeout)

    async def disconnect(self) -> None:
        self._closing = True
        if self._sio is not None:
            await self._sio.disconnect()
            self._sio = None
        self.connected.clear()

    async def close(self) -> None:
        await self.disconnect()
        for task in list(self._tasks):
            task.cancel()
        if self._kms_client is not None:
            await self._kms_client.close()
        await self.api.close()

    # -- sealed messages -------------------------------------------------------------------

    async def send_text(self, room_id: str, text: str, client_msg_id: str | None = None) -> Message:
        """Seal ``text`` with a data key from the key service, then send the envelope.

        If the key service cannot be reached this raises and nothing is sent."""
        sealer = await self.sealer()
        client_msg_id, envelope = await sealer.seal_text(room_id, text, client_msg_id)
        return await self.send(room_id, envelope, client_msg_id)

    async def open(self, message: Message) -> OpenedMessage:
        """Open a message; failures come back as ``OpenedMessage.error``, never silently."""
        return await (await self.sealer()).open(message)

    async def next_opened(self, timeout: float | None = 10.0) -> OpenedMessage:  # noqa: ASYNC109
        """The next message of any room, opened."""
        return await self.open(await self.next_message(timeout))

    async def history_opened(self, room_id: str, **paging: Any) -> list[OpenedMessage]:
        return [await self.open(m) for m in await self.history(room_id, **paging)]

    @property
    def key_calls(self) -> KeyServiceCalls:
        """How many times this client called the key service, by operation."""
        if self._sealer is None:
            return KeyServiceCalls()
        return self._sealer.keyring.calls

    async def sealer(self) -> Sealer:
        if self._sealer is None:
            if self.user is None:
                raise ClientError("unauthorized", "sign in before sealing or opening messages")
            key_service = self._key_service
            key_id = self._key_id
            if key_service is None or key_id is None:
                config = await self.api.public_get("/api/config")
                self._kms_client = EmbeddedKmsClient(
                    self._key_service_url(str(config["kms_url"])),
                    self.api.fresh_kms_token,
                    self.grants.get,
                )
                key_service = key_service or self._kms_client
                key_id = key_id or config["kms_key_id"]
            self._sealer = Sealer(ClientKeyring(key_service, key_id), self.user["id"])
        return self._sealer

    def _key_service_url(self, advertised: str) -> str:
        """Where to send key-service tokens and grants: the pinned URL when there is one,
        else the first URL the server advertised to this client."""
        advertised = urljoin(self._base_url.rstrip("/") + "/", advertised).rstrip("/")
        chosen = self._pinned_kms_url or self._kms_url_seen or advertised
        if advertised != chosen:
            log.warning(
                "the server advertises the key service at %s, but %s is used (%s); "
                "if the key service really moved, update the pin",
                advertised,
                chosen,
                "pinned" if self._pinned_kms_url else "first advertised",
            )
        self._kms_url_seen = chosen
        return chosen

    async def send(
        self, room_id: str, envelope: dict[str, Any], client_msg_id: str | None = None
    ) -> Message:
        """Send an envelope; returns the stored message. Resending with the same
        ``client_msg_id`` returns the original message instead of a copy."""
        body = {
            "room_id": room_id,
            "client_msg_id": client_msg_id or uuid.uuid4().hex,
            "envelope": envelope,
        }
        message: Message = (await self.emit("message:send", body))["message"]
        self._accept(message)
        return message

    async def typing(self, room_id: str, typing: bool = True) -> None:
        await self.emit("typing", {"room_id": room_id, "typing": typing})

    async def emit(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send an event and wait for its ack; a refusal raises ``ClientError``."""
        # The namespace, not ``connected``: that flag lags behind the connect event.
        if self._sio is None or "/" not in self._sio.namespaces:
            raise ClientError("disconnected", "not connected")
        # python-socketio leaves a call waiting out its timeout when the socket drops;
        # a lost connection should fail the call at once (resending is safe).
        call = asyncio.ensure_future(self._sio.call(event, payload, timeout=self.ack_timeout))
        dropped = asyncio.ensure_future(self._dropped.wait())
        try:
            await asyncio.wait({call, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
        if not call.done():
            call.cancel()
            raise ClientError("disconnected", f"connection lost before the ack for {event}")
        try:
            ack = call.result()
        except socketio.exceptions.TimeoutError as exc:
            raise ClientError("timeout", f"no ack for {event}") from exc
        if not isinstance(ack, dict) or not ack.get("ok"):
            raise ClientError.from_body(ack)
        return ack

    async def next_message(self, timeout: float | None = 10.0) -> Message:  # noqa: ASYNC109
        """The next message of any room, in order (own sends included)."""
        return await asyncio.wait_for(self._inbox.get(), timeout)

    def pending_messages(self) -> int:
        return self._inbox.qsize()

    async def sync(self) -> int:
        """Fetch everything after the cursors; returns how many messages were new."""
        async with self._sync_lock:
            released = 0
            while True:
                ack = await self._sync_once()
                this_round = sum(self._accept(message) for message in ack["messages"])
                released += this_round
                for room_id, error in ack.get("errors", {}).items():
                    # Gone for good (removed, deleted); a passing failure keeps the cursor.
                    if error.get("code") in ("not_found", "forbidden"):
                        self.timeline.forget(room_id)
                # Go on while pages remain, or while a gap that opened meanwhile is filling.
                if not ack["has_more"] and not (self.timeline.has_gap() and this_round):
                    return released

    async def _sync_once(self) -> dict[str, Any]:
        """One ``sync`` call; a ``rate_limited`` refusal is waited out and tried again."""
        for _ in range(SYNC_RATE_LIMIT_RETRIES):
            try:
                return await self.emit("sync", {"cursors": dict(self.timeline.cursors)})
            except ClientError as exc:
                if exc.code != "rate_limited":
                    raise
                await asyncio.sleep(min(exc.retry_after or 1.0, 30.0))
        return await self.emit("sync", {"cursors": dict(self.timeline.cursors)})

    # -- socket plumbing -----------------------------------------------------------------

    def _new_socket(self) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_delay=0.2,
            reconnection_delay_max=2,
            logger=False,
            engineio_logger=False,
        )
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        sio.on("message:new", self._accept)
        sio.on("room:joined", self._on_room_joined)
        sio.on("room:left", self._on_room_left)
        sio.on("member:left", self._on_member_left)
        sio.on("session:expired", self._on_session_expired)
        sio.on("*", self._dispatch)
        return sio

    async def _auth(self) -> dict[str, str]:
        # A session lasts as long as its token: start each one with a fresh-enough token.
        return {"token": await self.api.fresh_access_token(min_fraction_left=0.5)}

    async def _on_connect(self) -> None:
        self._dropped.clear()
        # Someone may have left a room while we were away (sync does not replay
        # member:left): seal what follows with fresh data keys.
        if self._sealer is not None:
            self._sealer.keyring.retire_all_sending_keys()
        self._spawn(self._resume())

    async def _resume(self) -> None:
        try:
            await self.sync()
        except ClientError as exc:
            log.warning("sync after connect failed: %s", exc)
        self.connected.set()

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.connected.clear()
        self._dropped.set()
        if self._expired and not self._closing:
            self._expired = False
            self._spawn(self._reconnect_after_expiry())

    async def _reconnect_after_expiry(self) -> None:
        """The server ended the session at token expiry: refresh, then connect again."""
        try:
            await self.api.refresh()
            if self._sio is not None and not self._closing:
                await self._sio.disconnect()
                await self.connect()
        except ClientError as exc:
            log.warning("could not resume after the session expired: %s", exc)
            await self._dispatch("client:error", {"code": exc.code, "message": exc.message})

    async def _on_session_expired(self, payload: Any) -> None:
        self._expired = True
        await self._dispatch("session:expired", payload)

    async def _on_room_joined(self, room: dict[str, Any]) -> None:
        self._track(room)
        await self._dispatch("room:joined", room)

    async def _on_room_left(self, payload: dict[str, Any]) -> None:
        self.timeline.forget(payload["room_id"])
        self.grants.forget(payload["room_id"])
        if self._sealer is not None:
            self._sealer.keyring.forget_room(payload["room_id"])
        await self._dispatch("room:left", payload)

    async def _on_member_left(self, payload: dict[str, Any]) -> None:
        # The leaver saw the current data key: seal what follows with a fresh one.
        if self._sealer is not None:
            self._sealer.keyring.retire_sending_key(payload["room_id"])
        await self._dispatch("member:left", payload)

    def _accept(self, message: Message) -> int:
        ready = self.timeline.accept(message)
        for item in ready:
            self._inbox.put_nowait(item)
        if self.timeline.has_gap() and not self._sync_lock.locked():
            self._spawn(self._fill_gap())
        return len(ready)

    async def _fill_gap(self) -> None:
        with contextlib.suppress(ClientError):
            await self.sync()

    async def _dispatch(self, event: str, payload: Any = None) -> None:
        for handler in self._handlers.get(event, []):
            result = handler(payload)
            if asyncio.iscoroutine(result):
                await result

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
