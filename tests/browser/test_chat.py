"""The whole chat in real Chromium: two people, a private room, messages both ways."""

from __future__ import annotations

import time

from playwright.async_api import expect

from tests.browser.chat_page import ChatPage, two_people_in_a_room, unique_name
from tests.live_server import LiveServer


async def pair_in_private_room(
    browser: object, server: LiveServer
) -> tuple[ChatPage, ChatPage, str]:
    alice, bob, room = await two_people_in_a_room(browser, server.url, "plans")
    await bob.open_room(room)
    return alice, bob, room


async def test_two_people_exchange_messages_live(browser: object, server: LiveServer) -> None:
    alice, bob, _ = await pair_in_private_room(browser, server)

    await alice.composer.fill("hello bob, sealed in the browser")
    started = time.monotonic()
    await alice.composer.press("Enter")
    await expect(bob.message("hello bob, sealed in the browser")).to_be_visible(timeout=1000)
    assert time.monotonic() - started < 1.0

    await bob.composer.fill("hi alice!\nsecond line")
    started = time.monotonic()
    await bob.composer.press("Enter")
    await expect(alice.message("hi alice!\nsecond line")).to_be_visible(timeout=1000)
    assert time.monotonic() - started < 1.0

    await alice.wait_until_sent(1)
    await bob.wait_until_sent(1)
    # Sender names come with the messages.
    assert await bob.log.get_by_text(alice.username, exact=True).count() >= 1
    # The room is marked sealed, and nothing was blocked or thrown.
    await expect(alice.page.get_by_text("Sealed", exact=True)).to_be_visible()
    assert alice.problems == [] and bob.problems == []


async def test_a_reload_opens_the_history_again(browser: object, server: LiveServer) -> None:
    alice, bob, room = await pair_in_private_room(browser, server)
    texts = [f"history {i} {unique_name('m')}" for i in range(5)]
    for text in texts:
        await alice.send(text)
    await alice.wait_until_sent(len(texts))
    await expect(bob.message(texts[-1])).to_be_visible()

    await bob.page.reload()
    await expect(bob.page.get_by_role("heading", name=room, level=1)).to_be_visible()
    await expect(bob.message(texts[-1])).to_be_visible()
    assert await bob.message_texts() == texts
    assert bob.problems == []


async def test_messages_missed_while_offline_appear_once_in_order(
    browser: object, server: LiveServer
) -> None:
    alice, bob, _ = await pair_in_private_room(browser, server)
    await alice.send("before the outage")
    await expect(bob.message("before the outage")).to_be_visible()

    await bob.context.set_offline(True)
    await expect(bob.banner).to_be_visible()
    missed = [f"while you were away {i}" for i in range(8)]
    for text in missed:
        await alice.send(text)
    await alice.wait_until_sent(1 + len(missed))

    await bob.context.set_offline(False)
    await expect(bob.banner).to_be_hidden(timeout=15_000)
    await expect(bob.message(missed[-1])).to_be_visible()
    assert await bob.message_texts() == ["before the outage", *missed]

    # Live delivery works again after the reconnect.
    await alice.send("welcome back")
    await expect(bob.message("welcome back")).to_be_visible()
    assert await bob.message_texts() == ["before the outage", *missed, "welcome back"]
