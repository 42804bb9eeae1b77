"""The outbox: a message written while disconnected waits, shown as sending, and is sent
once the connection is back, even after a reload (docs/web-client.md, "Across disconnects
and reloads")."""

from __future__ import annotations

from typing import Any

from playwright.async_api import WebSocketRoute, expect

from tests.browser.chat_page import two_people_in_a_room
from tests.browser.test_delivery import send_payload
from tests.live_server import LiveServer


async def test_a_message_written_offline_is_sent_after_reconnecting(
    browser: object, server: LiveServer
) -> None:
    alice, bob, room = await two_people_in_a_room(browser, server.url, "outbox")
    await bob.open_room(room)

    await alice.context.set_offline(True)
    await expect(alice.banner).to_be_visible()
    await alice.send("written offline")
    waiting = alice.log.locator("[data-delivery=waiting]")
    await expect(waiting).to_have_count(1)
    await expect(waiting).to_contain_text("Waiting to reconnect")

    await alice.context.set_offline(False)
    await alice.wait_until_sent(1)
    await expect(bob.message("written offline")).to_be_visible()
    assert await bob.message_texts() == ["written offline"]
    assert await alice.message_texts() == ["written offline"]
    assert alice.problems == [] and bob.problems == []


async def test_a_pending_message_survives_a_reload_and_is_sent_once(
    browser: object, server: LiveServer
) -> None:
    alice, bob, room = await two_people_in_a_room(browser, server.url, "reload")
    await bob.open_room(room)

    sends: list[dict[str, Any]] = []
    sockets: list[WebSocketRoute] = []
    blocked = False

    async def relay(ws: WebSocketRoute) -> None:
        if blocked:
            return  # never reaches the server: the page stays disconnected
        sockets.append(ws)
        server_side = ws.connect_to_server()

        def from_page(frame: str | bytes) -> None:
            payload = send_payload(frame)
            if payload is not None:
                sends.append(payload)
            server_side.send(frame)

        ws.on_message(from_page)
        server_side.on_message(lambda frame: ws.send(frame))

    await alice.page.route_web_socket("**/socket.io/**", relay)
    await alice.page.reload()
    await alice.open_room(room)

    # The link drops and cannot come back: the message waits in the outbox.
    blocked = True
    for ws in sockets:
        await ws.close()
    await expect(alice.banner).to_be_visible()
    await alice.send("kept across the reload")
    await expect(alice.log.locator("[data-delivery=waiting]")).to_have_count(1)
    assert sends == []

    # The page goes away with the message unsent; the next one sends it, once.
    blocked = False
    await alice.page.reload()  # the page asks first ("Leave site?"), the person leaves
    assert [d for d in alice.dialogs if d.startswith("beforeunload")]
    await alice.open_room(room)
    await alice.wait_until_sent(1)
    await expect(bob.message("kept across the reload")).to_be_visible()
    assert len(sends) == 1
    assert await bob.message_texts() == ["kept across the reload"]
    assert await alice.message_texts() == ["kept across the reload"]


async def test_messages_written_offline_go_out_once_each_in_order_and_keep_their_place(
    browser: object, server: LiveServer
) -> None:
    alice, bob, room = await two_people_in_a_room(browser, server.url, "offline")
    await bob.open_room(room)
    await alice.send("before the outage")
    await expect(bob.message("before the outage")).to_be_visible()

    await alice.context.set_offline(True)
    await expect(alice.banner).to_contain_text("waits and is sent")
    written = ["one", "two", "three"]
    for text in written:
        await alice.send(text)
    # Waiting, in the order written, under the message before them; not "failed", and no
    # word of the key service: the connection is what is missing.
    waiting = alice.log.locator("[data-delivery=waiting]")
    await expect(waiting).to_have_count(3)
    await expect(alice.log.locator("[data-delivery=failed]")).to_have_count(0)
    assert await alice.message_texts() == ["before the outage", *written]
    await expect(alice.log).not_to_contain_text("key service")
    # A reload now would lose nothing, but the page asks first.
    assert await alice.page.evaluate(
        "() => { const e = new Event('beforeunload', { cancelable: true });"
        " window.dispatchEvent(e); return e.defaultPrevented; }"
    )

    await alice.context.set_offline(False)
    await alice.wait_until_sent(4)
    await expect(bob.message("three")).to_be_visible()
    assert await bob.message_texts() == ["before the outage", *written]
    assert await alice.message_texts() == ["before the outage", *written]
    # Nothing unsent: leaving asks nothing.
    assert not await alice.page.evaluate(
        "() => { const e = new Event('beforeunload', { cancelable: true });"
        " window.dispatchEvent(e); return e.defaultPrevented; }"
    )
    assert alice.problems == [] and bob.problems == []
