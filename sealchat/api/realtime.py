"""Socket.IO handlers: authenticate the handshake, then one handler per event.

Every event with an ack gets ``{"ok": true, ...}`` or ``{"ok": false, "error": {code,
message}}``; a malformed event never drops the connection or touches others.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import socketio
from pydantic import BaseModel, ValidationError

from sealchat import metrics
from sealchat.api.deps import ApiServices
from sealchat.api.realtime_sends import InlineSends
from sealchat.api.schemas import (
    DeleteMessage,
    RenewSession,
    SendMessage,
    SyncRequest,
    TypingNotice,
)
from sealchat.domain.encoded import EncodedJson
from sealchat.domain.errors import (
    RateLimited,
    SealchatError,
    TokenExpired,
    TooManyConnections,
    Unauthorized,
)
from sealchat.domain.models import User
from sealchat.logs import socket_id
from sealchat.ports.fanout import room_channel, user_channel
from sealchat.ports.rate_limit import RateLimiter
from sealchat.ports.tokens import VerifiedIdentity
from sealchat.services import events

log = logging.getLogger(__name__)

Ack = dict[str, Any]
Handler = Callable[[str, Any], Awaitable[Ack]]


def error_ack(exc: SealchatError) -> Ack:
    metrics.refused("socket", exc.code)
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if isinstance(exc, RateLimited):
        error["retry_after"] = round(exc.retry_after, 3)
    return {"ok": False, "error": error}


def _validation_ack(exc: ValidationError) -> Ack:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in exc.errors()[:5]
    )
    metrics.refused("socket", "invalid_input")
    return {"ok": False, "error": {"code": "invalid_input", "message": problems}}


@dataclass(frozen=True, slots=True)
class RealtimeLimits:
    """Per-user buckets for ``sync`` and ``typing``; events handled at once per socket."""

    sync: RateLimiter
    typing: RateLimiter
    max_pending_events: int = 128
    # Authenticated sockets per user on this node (0: no cap).
    max_per_user: int = 0


# How long a client refused for too many events in progress on its socket should wait.
BUSY_RETRY_AFTER = 0.1


class RealtimeGateway:
    def __init__(
        self, sio: socketio.AsyncServer, found: ApiServices, limits: RealtimeLimits
    ) -> None:
        self._sio = sio
        self._found = found
        self._limits = limits
        # sid -> events of that socket being handled now
        self._pending: dict[str, int] = {}
        # sid -> (user, token expiry, timer that disconnects the socket at expiry)
        self._sessions: dict[str, tuple[User, float, asyncio.TimerHandle]] = {}
        # user id -> that user's sockets on this node
        self._per_user: dict[str, int] = {}
        sio.on("connect", self.connect)
        sio.on("disconnect", self.disconnect)
        sio.on("message:send", self._event(SendMessage, self.send_message))
        sio.on("message:delete", self._event(DeleteMessage, self.delete_message))
        # Without a task per event where the server and the store allow it (the hot path).
        on_inline = getattr(sio, "on_inline", None)
        if on_inline is not None and found.messages.can_submit:
            on_inline("message:send", InlineSends(self, found.messages, sio).handle)
        sio.on("sync", self._event(SyncRequest, self.sync))
        sio.on("typing", self._event(TypingNotice, self.typing))
        sio.on("session:renew", self._event(RenewSession, self.renew))

    # -- connection lifecycle ----------------------------------------------------------

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        socket_id.set(sid)
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            if not isinstance(token, str) or not token:
                raise Unauthorized("an access token is required in the handshake auth")
            identity = await self._found.verifier.verify(token)
            user = await self._found.profiles.ensure(identity)
            self._check_sockets_of(user)
            room_ids = await self._found.rooms.my_room_ids(user.id)
        except SealchatError as exc:
            metrics.refused("connect", exc.code)
            raise socketio.exceptions.ConnectionRefusedError(
                exc.message, {"code": exc.code, "message": exc.message}
            ) from None
        self._sessions[sid] = (user, identity.expires_at, self._expiry_timer(sid, identity))
        self._pending[sid] = 0
        self._per_user[user.id] = self._per_user.get(user.id, 0) + 1
        log.debug("socket connected: user %s, %d rooms", user.id, len(room_ids))
        await self._sio.enter_room(sid, user_channel(user.id))
        for room_id in room_ids:
            await self._sio.enter_room(sid, room_channel(room_id))
        if await self._found.presence.socket_opened(user.id):
            # Not to this socket: its connect is not acknowledged until we return.
            channels = [room_channel(r) for r in room_ids]
            await self._announce_presence(user, "online", channels, skip=sid)

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        socket_id.set(sid)
        session = self._sessions.pop(sid, None)
        self._pending.pop(sid, None)
        if session is None:
            return
        user, _, timer = session
        timer.cancel()
        left = self._per_user.get(user.id, 1) - 1
        if left > 0:
            self._per_user[user.id] = left
        else:
            self._per_user.pop(user.id, None)
        log.debug("socket disconnected: user %s (%s)", user.id, reason)
        if await self._found.presence.socket_closed(user.id):
            channels = [r for r in self._sio.rooms(sid) if r.startswith("room:")]
            await self._announce_presence(user, "offline", channels)

    def _check_sockets_of(self, user: User) -> None:
        cap = self._limits.max_per_user
        if cap and self._per_user.get(user.id, 0) >= cap:
            raise TooManyConnections(f"at most {cap} connections per user: close some first")

    def _expiry_timer(self, sid: str, identity: VerifiedIdentity) -> asyncio.TimerHandle:
        delay = max(0.0, identity.expires_at - time.time())
        loop = asyncio.get_running_loop()
        return loop.call_later(delay, lambda: asyncio.ensure_future(self._expire(sid)))

    async def _expire(self, sid: str) -> None:
        if sid not in self._sessions:
            return
        expired = TokenExpired("access token expired; refresh it and reconnect")
        await self._sio.emit(events.SESSION_EXPIRED, error_ack(expired)["error"], to=sid)
        await self._sio.disconnect(sid)

    async def _announce_presence(
        self, user: User, status: str, channels: list[str], skip: str | None = None
    ) -> None:
        if channels:
            payload = {"user_id": user.id, "username": user.username, "status": status}
            await self._sio.emit(events.PRESENCE, payload, to=channels, skip_sid=skip)

    # -- events ------------------------------------------------------------------------

    def _event(
        self, schema: type[BaseModel], handler: Callable[[str, User, Any], Awaitable[Ack]]
    ) -> Handler:
        """Wrap a handler: session check, payload validation, errors turned into acks."""
        # pydantic's model_validate is not the cost here (about 2 µs for message:send).
        validate = schema.model_validate

        @functools.wraps(handler)
        async def run(sid: str, data: Any = None) -> Ack:
            socket_id.set(sid)  # for this event's log lines (its own task's context)
            admitted = self.admit(sid)
            if isinstance(admitted, dict):
                return admitted
            try:
                return await handler(sid, admitted, validate(data))
            except ValidationError as exc:
                return _validation_ack(exc)
            except SealchatError as exc:
                return error_ack(exc)
            except Exception:
                log.exception("unexpected error handling a socket event")
                return {"ok": False, "error": {"code": "internal", "message": "internal error"}}
            finally:
                self.release(sid)

        return run

    def admit(self, sid: str) -> User | Ack:
        """An event's sender, counted as pending until ``release``; or the refusal to ack
        (not connected, token expired, too many events in progress)."""
        session = self._sessions.get(sid)
        if session is None:
            return error_ack(Unauthorized("not connected"))
        user, expires_at, _ = session
        if expires_at <= time.time():
            return error_ack(TokenExpired("access token expired; renew the session"))
        pending = self._pending.get(sid, 0)
        if pending >= self._limits.max_pending_events:
            return error_ack(
                RateLimited(
                    "too many events in progress on this socket; wait for their acks",
                    retry_after=BUSY_RETRY_AFTER,
                )
            )
        self._pending[sid] = pending + 1
        return user

    def release(self, sid: str) -> None:
        """An admitted event is answered."""
        if sid in self._pending:  # not after a disconnect
            self._pending[sid] -= 1

    error_ack = staticmethod(error_ack)
    validation_ack = staticmethod(_validation_ack)

    async def send_message(self, sid: str, user: User, body: SendMessage) -> Ack:
        result = await self._found.messages.send(
            user.id,
            body.room_id,
            body.client_msg_id,
            body.envelope,
            origin=sid,
            relates_to=body.relation(),
            attachments=body.attachments,
        )
        # A resend gets the stored original back, whatever envelope it carried now; a new
        # message's envelope goes back as the text just stored, not encoded again.
        message = result.message
        stored = message.envelope_json
        envelope = EncodedJson(body.envelope, stored) if result.created and stored else None
        return {"ok": True, "message": events.message_payload(message, envelope)}

    async def delete_message(self, sid: str, user: User, body: DeleteMessage) -> Ack:
        result = await self._found.messages.delete(
            user.id, body.room_id, body.message_id, origin=sid
        )
        return {"ok": True, "message": events.message_payload(result.message)}

    async def sync(self, sid: str, user: User, body: SyncRequest) -> Ack:
        await self._limits.sync.take(user.id)
        result = await self._found.messages.sync(user.id, body.cursors)
        return {
            "ok": True,
            "messages": [events.message_payload(m) for m in result.messages],
            "has_more": result.has_more,
            "errors": {room: error_ack(exc)["error"] for room, exc in result.errors.items()},
        }

    async def typing(self, sid: str, user: User, body: TypingNotice) -> Ack:
        # Over the limit the notice is dropped (not relayed) and the ack says rate_limited.
        await self._limits.typing.take(user.id)
        channel = room_channel(body.room_id)
        if channel not in self._sio.rooms(sid):
            await self._found.rooms.require_member(user.id, body.room_id)
        payload = {
            "room_id": body.room_id,
            "user_id": user.id,
            "username": user.username,
            "typing": body.typing,
        }
        await self._sio.emit(events.TYPING, payload, to=channel, skip_sid=sid)
        return {"ok": True}

    async def renew(self, sid: str, user: User, body: RenewSession) -> Ack:
        """Swap in a fresh access token without reconnecting."""
        identity = await self._found.verifier.verify(body.token)
        if identity.user_id != user.id:
            raise Unauthorized("the new token is for another user")
        _, _, old_timer = self._sessions[sid]
        old_timer.cancel()
        self._sessions[sid] = (user, identity.expires_at, self._expiry_timer(sid, identity))
        return {"ok": True, "expires_at": identity.expires_at}
