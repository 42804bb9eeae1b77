"""The outbox: a message written while disconnected waits, shown as sending, and is sent
once the connection is back (docs/web-client.md, "Across disconnects and reloads")."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.chat_page import two_people_in_a_room
from tests.live_server import LiveServer


async def test_a_message_written_offline_is_sent_after_reconnecting(
    browser: object, server: LiveServer
) -> None:
    alice, bob, room = await two_people_in_a_room(browser, server.url, "outbox")
    await bob.open_room(room)

    await alice.context.set_offline(True)
    await expect(alice.banner).to_be_visible()
    await alice.send("written offline")
    await expect(alice.log.locator("[data-delivery=sending]")).to_have_count(1)

    await alice.context.set_offline(False)
    await alice.wait_until_sent(1)
    await expect(bob.message("written offline")).to_be_visible()
    assert await bob.message_texts() == ["written offline"]
    assert await alice.message_texts() == ["written offline"]
    assert alice.problems == [] and bob.problems == []
