"""Events of one socket handled at once are bounded (the gateway's wrapper, no network)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any, cast

from sealchat.api.deps import ApiServices
from sealchat.api.realtime import RealtimeGateway, RealtimeLimits
from sealchat.api.schemas import TypingNotice
from sealchat.domain.models import User
from sealchat.services.presence import PresenceTracker
from sealchat.services.rate_limit import TokenBucketLimiter


class FakeSio:
    def __init__(self) -> None:
        self.handlers: dict[str, Any] = {}

    def on(self, event: str, handler: Any) -> None:
        self.handlers[event] = handler


async def test_events_beyond_the_pending_bound_are_refused_until_acks_go_out() -> None:
    limits = RealtimeLimits(
        sync=TokenBucketLimiter(1, 1), typing=TokenBucketLimiter(1, 1), max_pending_events=3
    )
    presence = PresenceTracker()
    await presence.socket_opened("u")
    await presence.socket_opened("u")  # another socket of alice stays: no offline notice
    found = SimpleNamespace(presence=presence)
    gateway = RealtimeGateway(cast(Any, FakeSio()), cast(ApiServices, found), limits)
    timer = asyncio.get_running_loop().call_later(3600, lambda: None)
    gateway._sessions["sid"] = (User("u", "alice"), time.time() + 3600, timer)
    gateway._pending["sid"] = 0
    release = asyncio.Event()

    async def slow(sid: str, user: User, body: TypingNotice) -> dict[str, Any]:
        await release.wait()
        return {"ok": True}

    handle = gateway._event(TypingNotice, slow)
    body = {"room_id": "r"}
    waiting = [asyncio.ensure_future(handle("sid", body)) for _ in range(3)]
    await asyncio.sleep(0)
    refused = await handle("sid", body)
    assert refused["ok"] is False
    assert refused["error"]["code"] == "rate_limited"
    assert refused["error"]["retry_after"] > 0

    release.set()
    assert [await w for w in waiting] == [{"ok": True}] * 3
    assert gateway._pending["sid"] == 0
    assert await handle("sid", body) == {"ok": True}
    # A disconnect forgets the count; a late ack does not bring it back.
    await gateway.disconnect("sid")
    assert "sid" not in gateway._pending
    timer.cancel()
