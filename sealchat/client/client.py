"""``SealchatClient``: the async facade that joins the core to its transports.

The state lives in ``ClientCore`` (core.py, no I/O); this module does the I/O: REST
calls (rest.py) behind an ``Authenticator`` (auth.py), the Socket.IO connection
(realtime.py), sealing and opening with data keys from a ``KeyService``
(sealed.py, keyring.py). Every message of every room is released once, in ``seq``
order, to ``next_message`` and to the room's streams (``client.room(id).messages()``);
after a reconnect the client sends its cursors, receives exactly what it missed, then
resends what its outbox still holds under the same client message ids.
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

from sealchat.client import rooms as room_names
from sealchat.client.auth import Authenticator, EmbeddedAuthenticator
from sealchat.client.aws import AwsKmsKeyService, CognitoAuthenticator, CognitoIdentityCredentials
from sealchat.client.content import Content, wire_relation
from sealchat.client.core import ClientCore
from sealchat.client.errors import ClientError
from sealchat.client.key_service import EmbeddedKmsClient, KeyService
from sealchat.client.keyring import ClientKeyring, KeyServiceCalls
from sealchat.client.models import Message, PendingSend
from sealchat.client.oidc import OidcPasswordAuthenticator
from sealchat.client.realtime import RealtimeTransport
from sealchat.client.reorder_buffer import ReorderBuffer
from sealchat.client.rest import RestTransport
from sealchat.client.room_handle import RoomHandle
from sealchat.client.sealed import OpenedMessage, RoomGrants, Sealer

log = logging.getLogger(__name__)

# How many times one step of the sync loop waits out a rate_limited refusal before failing.
SYNC_RATE_LIMIT_RETRIES = 5
EventHandler = Callable[[Any], Awaitable[None] | None]

# Pins the key-service URL for clients built without ``kms_url`` (the command line).
PINNED_KMS_URL_ENV = "SEALCHAT_CLIENT_KMS_URL"

# A send that failed with one of these may or may not have been stored: it stays in the
# outbox and is resent, same client message id, after the next connect.
UNKNOWN_OUTCOME = frozenset({"disconnected", "timeout"})


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
        authenticator: Authenticator | None = None,
        outbox_path: str | os.PathLike[str] | None = None,
        core: ClientCore | None = None,
        realtime: RealtimeTransport | None = None,
    ) -> None:
        """``key_service`` defaults to the server's embedded key service (from /api/config);
        pass another (e.g. AWS KMS) with its ``key_id`` to use that instead.

        ``kms_url`` pins where the key-service token and grants go (default: the
        ``SEALCHAT_CLIENT_KMS_URL`` environment variable): the URL the server advertises
        is then ignored, with a warning when it differs. Unpinned, the advertised URL is
        used, and a change of it during the client's life is warned about and ignored.

        ``authenticator`` defaults to what the server's ``/api/config`` names: the embedded
        identity provider (``login``, ``register``) or Cognito (``login``); the key service
        likewise (the embedded one, or AWS KMS with identity-pool credentials).
        ``outbox_path`` keeps unacknowledged sends (sealed) in that file,
        so they are resent after a restart. ``core`` and ``realtime`` are for tests that
        run the client without a server."""
        self.api = RestTransport(base_url, http, authenticator)
        self._authenticator_given = authenticator is not None
        self._config: dict[str, Any] | None = None
        self.aws_kms: AwsKmsKeyService | None = None
        self.core = core or ClientCore(outbox_path=outbox_path)
        self._base_url = base_url
        pinned = kms_url or os.environ.get(PINNED_KMS_URL_ENV) or None
        self._pinned_kms_url = pinned.rstrip("/") if pinned else None
        self._kms_url_seen: str | None = None
        self.grants = RoomGrants(self.api.post)
        self._key_service = key_service
        self._key_id = key_id
        self._kms_client: EmbeddedKmsClient | None = None
        self._sealer: Sealer | None = None
        self.realtime = realtime or RealtimeTransport(ack_timeout)
        self._handlers: dict[str, list[EventHandler]] = {}
        self._sync_lock = asyncio.Lock()
        self._expired = False
        self._closing = False
        self._transports: list[str] = ["websocket"]
        self._tasks: set[asyncio.Task[Any]] = set()
        self._in_flight: set[str] = set()  # client message ids whose send awaits its ack
        self.connected = asyncio.Event()
        self._bind_events()

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

    @property
    def timeline(self) -> ReorderBuffer:
        """The reorder buffer holding the cursors (kept under its old name for callers)."""
        return self.core.buffer

    @property
    def ack_timeout(self) -> float:
        return self.realtime.ack_timeout

    @ack_timeout.setter
    def ack_timeout(self, value: float) -> None:
        self.realtime.ack_timeout = value

    # -- accounts --------------------------------------------------------------------------

    def _embedded(self) -> EmbeddedAuthenticator:
        auth = self.api.authenticator
        if not isinstance(auth, EmbeddedAuthenticator):
            raise ClientError("unsupported", "this client signs in through another provider")
        return auth

    async def register(self, username: str, password: str) -> dict[str, Any]:
        """Create an account and sign in; returns ``{id, username}``. Embedded sign-in only:
        with Cognito or OIDC, accounts are made at the identity provider."""
        if not self._authenticator_given:
            mode = ((await self.server_config()).get("auth") or {}).get("mode", "embedded")
            if mode != "embedded":
                raise ClientError(
                    "unsupported", f"this server signs in through {mode}: sign up there"
                )
        user = await self._embedded().register(username, password)
        self.core.set_user(user)
        return user

    async def login(self, username: str, password: str) -> dict[str, Any]:
        """Sign in at the server's identity provider; returns ``{id, username}``."""
        auth = await self._sign_in_provider()
        if isinstance(auth, EmbeddedAuthenticator):
            user = await auth.login(username, password)
        else:
            login = getattr(auth, "login", None)
            if login is None:
                raise ClientError("unsupported", "this authenticator has no password sign-in")
            await login(username, password)
            # The first request of a new external user makes the chat profile.
            user = await self.me()
            set_user = getattr(auth, "set_user", None)
            if set_user is not None:
                set_user(user)
        self.core.set_user(user)
        return user

    async def server_config(self) -> dict[str, Any]:
        """``GET /api/config``, fetched once (docs/protocol.md)."""
        if self._config is None:
            self._config = await self.api.public_get("/api/config")
        return self._config

    async def _sign_in_provider(self) -> Authenticator:
        """The authenticator the server asks for, unless one was given."""
        if self._authenticator_given:
            return self.api.authenticator
        auth = (await self.server_config()).get("auth") or {"mode": "embedded"}
        mode = str(auth.get("mode"))
        wanted = {"cognito": CognitoAuthenticator, "oidc": OidcPasswordAuthenticator}.get(mode)
        if wanted is not None and not isinstance(self.api.authenticator, wanted):
            self.api.authenticator = provider_authenticator(auth)
        elif wanted is None and mode != "embedded":
            raise ClientError("unsupported", f"this server signs in through {mode!r}")
        return self.api.authenticator

    async def refresh(self) -> None:
        """Rotate the token pair now."""
        await self.api.authenticator.refresh()

    async def logout(self) -> None:
        await self.disconnect()
        await self.api.authenticator.sign_out()
        self.core.set_user(None)

    async def me(self) -> dict[str, Any]:
        return (await self.api.get("/api/me"))["user"]  # type: ignore[no-any-return]

    # -- rooms ---------------------------------------------------------------------------

    async def rooms(self) -> list[dict[str, Any]]:
        """My rooms, each with my ``role`` and the room's ``last_seq``. Rooms the core
        already follows are refreshed (name, role); others start being followed only on
        ``connect`` or when joined."""
        rooms: list[dict[str, Any]] = (await self.api.get("/api/rooms"))["rooms"]
        for room in rooms:
            if room["id"] in self.core.rooms:
                self.core.track_room(room)
        return rooms

    async def directory(self) -> list[dict[str, Any]]:
        return (await self.api.get("/api/rooms/directory"))["rooms"]  # type: ignore[no-any-return]

    async def create_room(self, name: str, visibility: str = "public") -> dict[str, Any]:
        body = {"name": name, "visibility": visibility}
        return self._track((await self.api.post("/api/rooms", body))["room"])

    async def join(self, room_id: str) -> dict[str, Any]:
        return self._track((await self.api.post(f"/api/rooms/{room_id}/join"))["room"])

    async def leave(self, room_id: str) -> None:
        await self.api.post(f"/api/rooms/{room_id}/leave")
        self._forget(room_id)

    async def members(self, room_id: str) -> list[dict[str, Any]]:
        members: list[dict[str, Any]] = (await self.api.get(f"/api/rooms/{room_id}/members"))[
            "members"
        ]
        self.core.receive_members(room_id, members)
        return members

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
        self.core.member_left({"room_id": room_id, "user_id": user_id})

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

    async def find_room(self, wanted: str) -> dict[str, Any]:
        """The room a user names: a room id, a name, or @username for a direct room.

        Among my rooms, then among public rooms (joined on the way): an id, then the one
        room of exactly that name, then the one room of that name ignoring case. More
        than one candidate is refused (``ambiguous_room``), each listed with its owner
        and members, so a look-alike room someone else made is never picked silently.
        """
        if wanted.startswith("@"):
            return await self.open_dm(wanted[1:])
        for candidates, mine in ((await self.rooms(), True), (await self.directory(), False)):
            found = room_names.match_rooms(candidates, wanted)
            if len(found) > 1:
                described = [await self.describe_room(room) for room in found]
                raise room_names.ambiguous(wanted, described)
            if found:
                return found[0] if mine else await self.join(found[0]["id"])
        raise room_names.not_found(wanted)

    async def describe_room(self, room: dict[str, Any]) -> str:
        """``name [id] visibility room, owner: ...; members (n): ...``, terminal-safe."""
        if "member_count" in room:
            return room_names.describe_room(room)
        return room_names.describe_room(room, await self.members(room["id"]))

    async def name_of(self, room_id: str, user_id: str) -> str:
        """A member's username (the room's members are fetched once when unknown)."""
        name = self.core.name_of(user_id)
        if name is None:
            await self.members(room_id)
            name = self.core.name_of(user_id)
        return name or user_id[:8]

    def room(self, room_id: str) -> RoomHandle:
        """One room's view: its message stream, its timeline, sending to it."""
        return RoomHandle(self, room_id)

    def _track(self, room: dict[str, Any]) -> dict[str, Any]:
        self.core.track_room(room)
        return room

    def _forget(self, room_id: str) -> None:
        self.core.forget_room(room_id)
        self.grants.forget(room_id)

    # -- realtime ------------------------------------------------------------------------

    def on(self, event: str, handler: EventHandler) -> None:
        """Call ``handler(payload)`` for a server event (``presence``, ``typing``, ...)."""
        self._handlers.setdefault(event, []).append(handler)

    async def connect(self, *, transports: list[str] | None = None) -> None:
        """Open the socket; rooms not yet tracked start from their current ``last_seq``."""
        for room in await self.rooms():
            self._track(room)
        self._closing = False
        self._transports = transports or ["websocket"]
        await self.realtime.connect(self.api.base_url, self._auth, self._transports)
        await asyncio.wait_for(self.connected.wait(), self.ack_timeout)

    async def disconnect(self) -> None:
        self._closing = True
        await self.realtime.disconnect()
        self.connected.clear()

    async def close(self) -> None:
        await self.disconnect()
        for task in list(self._tasks):
            task.cancel()
        if self._kms_client is not None:
            await self._kms_client.close()
        close_auth = getattr(self.api.authenticator, "close", None)
        if close_auth is not None and not self._authenticator_given:
            await close_auth()
        await self.api.close()

    # -- sealed messages -------------------------------------------------------------------

    async def send_text(self, room_id: str, text: str, client_msg_id: str | None = None) -> Message:
        """Seal ``text`` with a data key from the key service, then send the envelope.

        If the key service cannot be reached this raises and nothing is sent."""
        sealer = await self.sealer()
        client_msg_id, envelope = await sealer.seal_text(room_id, text, client_msg_id)
        return await self.send(room_id, envelope, client_msg_id)

    async def send_content(
        self,
        room_id: str,
        content: Content | dict[str, Any],
        client_msg_id: str | None = None,
        attachments: list[str] | None = None,
    ) -> Message:
        """Seal any content (``sealchat.client.content``) and send it."""
        client_msg_id, envelope = await (await self.sealer()).seal(room_id, content, client_msg_id)
        return await self.send(
            room_id,
            envelope,
            client_msg_id,
            relates_to=wire_relation(content),
            attachments=attachments,
        )

    async def delete_message(self, room_id: str, message_id: str) -> Message:
        """Delete a message (yours, or any in a room you own): the server erases it and its
        edits and reactions; returns the deletion marker. Take back a reaction this way."""
        ack = await self.emit("message:delete", {"room_id": room_id, "message_id": message_id})
        marker: Message = ack["message"]
        self._accept(marker)
        return marker

    async def mark_read(self, room_id: str, seq: int | None = None) -> dict[str, Any]:
        """Move my read marker in the room forward to ``seq`` (default: the newest
        message seen); every device of mine hears it. Returns ``{room_id,
        last_read_seq, unread}``."""
        if seq is None:
            room = self.core.rooms.get(room_id)
            seq = room.last_seq if room is not None else self.core.cursors.get(room_id, 0)
        body: dict[str, Any] = await self.api.post(f"/api/rooms/{room_id}/read", {"seq": seq})
        self.core.mark_read(room_id, int(body["last_read_seq"]), int(body["unread"]))
        return body

    def unread(self, room_id: str) -> int:
        """Unread messages in the room, as last told by the server and counted since."""
        return self.core.unread(room_id)

    async def open(self, message: Message) -> OpenedMessage:
        """Open a message; failures come back as ``OpenedMessage.error``, never silently.
        An opened message also goes into its room's timeline (``room(id).timeline()``)."""
        opened = await (await self.sealer()).open(message)
        self.core.add_opened(opened)
        return opened

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
                config = await self.server_config()
                advertised = config.get("key_service") or {"type": "embedded"}
                if advertised["type"] == "aws-kms":
                    self.aws_kms = self._aws_key_service(advertised, config.get("auth") or {})
                    key_service = key_service or self.aws_kms
                    key_id = key_id or advertised["key_id"]
                else:
                    self._kms_client = EmbeddedKmsClient(
                        self._key_service_url(str(config["kms_url"])),
                        self.api.authenticator.kms_token,
                        self.grants.get,
                    )
                    key_service = key_service or self._kms_client
                    key_id = key_id or config["kms_key_id"]
            keyring = ClientKeyring(key_service, key_id)
            self.core.keyring = keyring
            self._sealer = Sealer(keyring, self.user["id"])
        return self._sealer

    def _aws_key_service(
        self, key_service: dict[str, Any], auth: dict[str, Any]
    ) -> AwsKmsKeyService:
        """AWS KMS with the person's identity-pool credentials when signed in through
        Cognito with an identity pool; otherwise the usual AWS credential chain."""
        credentials = None
        signed_in = self.api.authenticator
        pool = auth.get("identity_pool_id")
        if auth.get("mode") == "cognito" and pool and isinstance(signed_in, CognitoAuthenticator):
            credentials = CognitoIdentityCredentials(
                region=str(pool).split(":")[0],
                identity_pool_id=pool,
                user_pool_id=auth["user_pool_id"],
                id_token=signed_in.id_token,
                endpoint=(auth.get("endpoints") or {}).get("cognito_identity"),
                user_pool_region=auth["region"],
            ).get
        return AwsKmsKeyService(
            region=key_service["region"],
            endpoint=key_service.get("endpoint"),
            credentials=credentials,
        )

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
        self,
        room_id: str,
        envelope: dict[str, Any],
        client_msg_id: str | None = None,
        *,
        relates_to: dict[str, str] | None = None,
        attachments: list[str] | None = None,
    ) -> Message:
        """Send an envelope; returns the stored message. Resending with the same
        ``client_msg_id`` returns the original message instead of a copy. Until acked
        the send waits in the outbox; one whose outcome is unknown (the connection
        dropped, no ack) is resent by itself after the next connect. ``attachments``:
        the blob ids a sealed file message names (``sealchat.client.files``)."""
        pending = PendingSend(
            room_id,
            client_msg_id or uuid.uuid4().hex,
            envelope,
            relates_to,
            tuple(attachments or ()),
        )
        self.core.outbox.add(pending)
        return await self._deliver(pending)

    async def _deliver(self, pending: PendingSend) -> Message:
        self._in_flight.add(pending.client_msg_id)
        try:
            ack = await self.emit("message:send", pending.to_json())
        except ClientError as exc:
            if exc.code not in UNKNOWN_OUTCOME:
                self.core.send_done(pending.client_msg_id)
            raise
        finally:
            self._in_flight.discard(pending.client_msg_id)
        message: Message = ack["message"]
        self.core.send_done(pending.client_msg_id)
        self._accept(message)
        return message

    async def flush_outbox(self) -> int:
        """Resend every pending send, oldest first; returns how many were acknowledged."""
        sent = 0
        for pending in self.core.outbox.pending():
            if pending.client_msg_id in self._in_flight:
                continue  # its own call is waiting for the ack
            try:
                await self._deliver(pending)
            except ClientError as exc:
                if exc.code in UNKNOWN_OUTCOME:
                    break  # the connection is gone again; the next connect goes on
                log.warning("a pending send was refused: %s", exc)
                continue
            sent += 1
        return sent

    async def typing(self, room_id: str, typing: bool = True) -> None:
        await self.emit("typing", {"room_id": room_id, "typing": typing})

    async def emit(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send an event and wait for its ack; a refusal raises ``ClientError``."""
        return await self.realtime.call(event, payload)

    async def next_message(self, timeout: float | None = 10.0) -> Message:  # noqa: ASYNC109
        """The next message of any room, in order (own sends included)."""
        return await self.core.next_message(timeout)

    def pending_messages(self) -> int:
        return self.core.pending_messages()

    async def sync(self) -> int:
        """Fetch everything after the cursors; returns how many messages were new."""
        async with self._sync_lock:
            released = 0
            while True:
                ack = await self._sync_once()
                this_round = self.core.receive_sync(ack)
                released += this_round
                # Go on while pages remain, or while a gap that opened meanwhile is filling.
                if not ack["has_more"] and not (self.core.has_gap() and this_round):
                    return released

    async def _sync_once(self) -> dict[str, Any]:
        """One ``sync`` call; a ``rate_limited`` refusal is waited out and tried again."""
        for _ in range(SYNC_RATE_LIMIT_RETRIES):
            try:
                return await self.emit("sync", {"cursors": dict(self.core.cursors)})
            except ClientError as exc:
                if exc.code != "rate_limited":
                    raise
                await asyncio.sleep(min(exc.retry_after or 1.0, 30.0))
        return await self.emit("sync", {"cursors": dict(self.core.cursors)})

    # -- events from the realtime transport --------------------------------------------------

    def _bind_events(self) -> None:
        rt = self.realtime
        rt.on("connect", self._on_connect)
        rt.on("disconnect", self._on_disconnect)
        rt.on("message:new", self._accept)
        rt.on("room:joined", self._on_room_joined)
        rt.on("room:left", self._on_room_left)
        rt.on("member:joined", self._on_member_joined)
        rt.on("member:left", self._on_member_left)
        rt.on("presence", self._on_presence)
        rt.on("typing", self._on_typing)
        rt.on("read:updated", self._on_read_updated)
        rt.on("session:expired", self._on_session_expired)
        rt.on("*", self._dispatch)

    async def _auth(self) -> dict[str, str]:
        # A session lasts as long as its token: start each one with a fresh-enough token.
        return {"token": await self.api.authenticator.access_token(min_fraction_left=0.5)}

    async def _on_connect(self) -> None:
        # Someone may have left a room while we were away: seal what follows anew.
        self.core.connected()
        self._spawn(self._resume())

    async def _resume(self) -> None:
        try:
            await self.sync()
        except ClientError as exc:
            log.warning("sync after connect failed: %s", exc)
        self.connected.set()
        if len(self.core.outbox):
            await self.flush_outbox()

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.connected.clear()
        if self._expired and not self._closing:
            self._expired = False
            self._spawn(self._reconnect_after_expiry())

    async def _reconnect_after_expiry(self) -> None:
        """The server ended the session at token expiry: refresh, then connect again."""
        try:
            await self.api.authenticator.refresh()
            if self.realtime.has_socket and not self._closing:
                await self.realtime.disconnect()
                await self.connect(transports=self._transports)
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
        self._forget(payload["room_id"])
        await self._dispatch("room:left", payload)

    async def _on_member_joined(self, payload: dict[str, Any]) -> None:
        self.core.member_joined(payload)
        await self._dispatch("member:joined", payload)

    async def _on_member_left(self, payload: dict[str, Any]) -> None:
        self.core.member_left(payload)  # retires the room's sending key
        await self._dispatch("member:left", payload)

    async def _on_presence(self, payload: dict[str, Any]) -> None:
        self.core.presence_changed(payload)
        await self._dispatch("presence", payload)

    async def _on_typing(self, payload: dict[str, Any]) -> None:
        self.core.typing_changed(payload)
        await self._dispatch("typing", payload)

    async def _on_read_updated(self, payload: dict[str, Any]) -> None:
        # Another device of mine read the room: the badge clears here too.
        self.core.mark_read(payload["room_id"], int(payload["seq"]))
        await self._dispatch("read:updated", payload)

    def _accept(self, message: Message) -> int:
        released = self.core.receive_message(message)
        if self.core.has_gap() and not self._sync_lock.locked():
            self._spawn(self._fill_gap())
        return released

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


def provider_authenticator(
    auth: dict[str, Any],
    oidc: type[OidcPasswordAuthenticator] = OidcPasswordAuthenticator,
    cognito: type[CognitoAuthenticator] = CognitoAuthenticator,
) -> OidcPasswordAuthenticator | CognitoAuthenticator:
    """The sign-in of an external provider, from ``GET /api/config``'s ``auth``.

    OIDC uses the password grant; a provider that refuses it needs an ``Authenticator`` from
    the caller (the web client does the code flow with PKCE)."""
    if auth.get("mode") == "cognito":
        return cognito(
            region=auth["region"],
            client_id=auth["client_id"],
            endpoint=(auth.get("endpoints") or {}).get("cognito_idp"),
        )
    if auth.get("mode") == "oidc":
        return oidc(issuer=auth["issuer"], client_id=auth["client_id"], scopes=auth["scopes"])
    raise ClientError("unsupported", f"this server signs in through {auth.get('mode')!r}")
