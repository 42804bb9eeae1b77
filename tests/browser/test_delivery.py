"""Delivery states of my own messages: a send that fails shows a retry, and the retry
sends the same client message id and the same envelope (so the server stores it once)."""

from __future__ import annotations

import json
from typing import Any

from playwright.async_api import WebSocketRoute, expect

from tests.browser.chat_page import two_people_in_a_room
from tests.live_server import LiveServer


def send_payload(frame: str | bytes) -> dict[str, Any] | None:
    """The payload of a Socket.IO ``message:send`` frame (``42<ack id>[event, payload]``)."""
    if not isinstance(frame, str) or not frame.startswith("42"):
        return None
    body = frame[2:].lstrip("0123456789")
    try:
        event = json.loads(body)
    except ValueError:
        return None
    return event[1] if event and event[0] == "message:send" else None


async def test_a_failed_send_retries_with_the_same_id_and_envelope(
    browser: object, server: LiveServer
) -> None:
    alice, bob, room = await two_people_in_a_room(browser, server.url, "retry")
    await bob.open_room(room)

    sends: list[dict[str, Any]] = []
    drop_next_send = True

    async def relay(ws: WebSocketRoute) -> None:
        server_side = ws.connect_to_server()

        async def from_page(frame: str | bytes) -> None:
            nonlocal drop_next_send
            payload = send_payload(frame)
            if payload is not None:
                sends.append(payload)
                if drop_next_send:
                    # Lose the send on its way: the connection drops before any ack.
                    drop_next_send = False
                    await ws.close()
                    return
            server_side.send(frame)

        ws.on_message(from_page)
        server_side.on_message(lambda frame: ws.send(frame))

    # Route alice's socket through the relay (a reload opens a new socket).
    await alice.page.route_web_socket("**/socket.io/**", relay)
    await alice.page.reload()
    await alice.open_room(room)

    await alice.send("this one needs a retry")
    failed = alice.log.locator("[data-delivery=failed]")
    await expect(failed).to_be_visible()
    await expect(failed).to_contain_text("Not sent")
    await expect(alice.banner).to_be_hidden()  # reconnected by itself

    await failed.get_by_role("button", name="Retry").click()
    await alice.wait_until_sent(1)
    await expect(bob.message("this one needs a retry")).to_be_visible()

    assert len(sends) == 2
    assert sends[0]["client_msg_id"] == sends[1]["client_msg_id"]
    assert sends[0]["envelope"] == sends[1]["envelope"]
    assert await bob.message_texts() == ["this one needs a retry"]
    assert await alice.message_texts() == ["this one needs a retry"]
