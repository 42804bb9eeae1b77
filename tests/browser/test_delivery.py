"""Delivery states of my own messages: a send lost with its connection (a blip) goes out
again by itself after the reconnect, with the same client message id and the same envelope
(so the server stores it once), never shown as failed."""

from __future__ import annotations

import asyncio
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


async def test_a_send_lost_with_its_connection_goes_out_again_by_itself_once(
    browser: object, server: LiveServer
) -> None:
    alice, bob, room = await two_people_in_a_room(browser, server.url, "blip")
    await bob.open_room(room)

    sends: list[dict[str, Any]] = []
    # What happens to the next send: lost before the server ("drop"), or stored by the
    # server with the ack lost ("ack"); then the connection blips.
    fate: list[str] = []

    async def relay(ws: WebSocketRoute) -> None:
        server_side = ws.connect_to_server()

        async def from_page(frame: str | bytes) -> None:
            payload = send_payload(frame)
            if payload is not None:
                sends.append(payload)
                if fate:
                    if fate.pop(0) == "ack":
                        server_side.send(frame)
                        await asyncio.sleep(0.3)  # stored; the ack dies with the link
                    await ws.close()
                    return
            server_side.send(frame)

        ws.on_message(from_page)
        server_side.on_message(lambda frame: ws.send(frame))

    # Route alice's socket through the relay (a reload opens a new socket).
    await alice.page.route_web_socket("**/socket.io/**", relay)
    await alice.page.reload()
    await alice.open_room(room)

    fate.append("drop")
    await alice.send("lost on its way")
    await alice.wait_until_sent(1)
    fate.append("ack")
    await alice.send("stored, its ack lost")
    await alice.wait_until_sent(2)
    await expect(bob.message("stored, its ack lost")).to_be_visible()

    # The lost one went out again with the same id and envelope. The stored one came back
    # through the reconnect's sync (or a resend the server answers with the original).
    lost, again, *stored = sends
    assert lost["client_msg_id"] == again["client_msg_id"]
    assert lost["envelope"] == again["envelope"]
    assert 1 <= len(stored) <= 2 and all(send == stored[0] for send in stored)
    expected = ["lost on its way", "stored, its ack lost"]
    assert await bob.message_texts() == expected
    assert await alice.message_texts() == expected
    assert alice.problems == [] and bob.problems == []
