"""Sealing in the browser: interoperable with the Python client, rendered as text only,
and never stored in plaintext."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from sealchat.client import SealchatClient
from tests.browser.chat_page import (
    PASSWORD,
    page_with_python_member,
    two_people_in_a_room,
    unique_name,
)
from tests.live_server import LiveServer

SECRET = "the eagle lands at midnight 3f9a7c"
HOSTILE = "<img src=x onerror=alert(1)>"


async def test_browser_and_python_open_each_others_messages(
    browser: object, server: LiveServer
) -> None:
    async with SealchatClient(server.url) as carol:
        await carol.register(unique_name("carol"), PASSWORD)
        alice, room_id = await page_with_python_member(browser, server.url, carol, "interop")

        sent = await carol.send_text(room_id, "sealed in Python, opened in Chromium ✓")
        assert sent["envelope"]["v"] == 1
        await expect(alice.message("sealed in Python, opened in Chromium ✓")).to_be_visible()

        await alice.send("sealed in Chromium, opened in Python 🎉")
        opened = await carol.next_opened()
        while opened.message["sender_id"] == carol.user["id"]:  # type: ignore[index]
            opened = await carol.next_opened()
        assert opened.ok, opened.error
        assert opened.text == "sealed in Chromium, opened in Python 🎉"
        assert opened.message["envelope"]["alg"] == "A256GCM"
    assert alice.problems == []


async def test_message_text_is_shown_as_text_and_runs_nothing(
    browser: object, server: LiveServer
) -> None:
    alice, bob, room = await two_people_in_a_room(browser, server.url, "xss")
    await bob.open_room(room)

    await alice.send(HOSTILE)
    for person in (alice, bob):
        await expect(person.message(HOSTILE)).to_be_visible()
    await asyncio.sleep(0.5)  # time for an onerror handler to fire, were there an <img>
    for person in (alice, bob):
        assert await person.log.locator("img").count() == 0
        assert person.dialogs == []
        assert person.problems == []
    # And after a reload (history rather than live delivery): still text.
    await bob.page.reload()
    await expect(bob.message(HOSTILE)).to_be_visible()
    await asyncio.sleep(0.3)
    assert await bob.log.locator("img").count() == 0
    assert bob.dialogs == []


async def test_the_database_holds_no_plaintext_of_what_was_typed(
    browser: object, server: LiveServer
) -> None:
    alice, bob, room = await two_people_in_a_room(browser, server.url, "vault")
    await bob.open_room(room)

    typed = [SECRET, "Grüße aus Köln, 你好 👋 b71e2d", "second secret 9c04aa\nwith a line break"]
    await alice.send(typed[0])
    await bob.send(typed[1])
    await alice.send(typed[2])
    await alice.wait_until_sent(2)
    await bob.wait_until_sent(1)
    for text in typed:
        await expect(bob.message(text)).to_be_visible()

    database = server.data_dir / "sealchat.db"
    stored = [p for p in (database, database.with_name("sealchat.db-wal")) if p.exists()]
    assert database in stored
    needles = [text.encode() for text in typed] + [PASSWORD.encode()]
    needles += [word.encode() for word in ("eagle", "midnight", "Köln", "你好")]
    for path in [*stored, server.log_path]:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, f"{needle!r} found in {path.name}"


async def test_a_message_that_cannot_be_opened_is_shown_with_its_reason(
    browser: object, server: LiveServer
) -> None:
    async with SealchatClient(server.url) as mallory:
        await mallory.register(unique_name("mallory"), PASSWORD)
        alice, room_id = await page_with_python_member(browser, server.url, mallory, "tamper")
        genuine = await mallory.send_text(room_id, "a genuine message")
        # The same envelope under another client message id: the tag no longer verifies.
        await mallory.send(room_id, genuine["envelope"], "replayed-elsewhere")

    await expect(alice.message("a genuine message")).to_be_visible()
    failure = alice.log.locator(".message__undecryptable")
    await expect(failure).to_have_count(1)
    await expect(failure).to_contain_text("Unable to decrypt")
    await expect(failure).to_contain_text("authentication_failed")


async def test_sealing_works_on_a_loopback_alias_of_the_configured_url(
    browser: object, server: LiveServer
) -> None:
    """/api/config names the key service by configuration (127.0.0.1), never by the Host
    the page used (issue #16 item 6); a page opened at localhost still seals same-origin."""
    alias = server.url.replace("127.0.0.1", "localhost")
    async with SealchatClient(server.url) as carol:
        await carol.register(unique_name("carol"), PASSWORD)
        alice, room_id = await page_with_python_member(browser, alias, carol, "alias")
        await alice.send("sealed at localhost")
        opened = await carol.next_opened()
        while opened.message["sender_id"] == carol.user["id"]:  # type: ignore[index]
            opened = await carol.next_opened()
        assert opened.ok, opened.error
        assert opened.text == "sealed at localhost"
        await carol.send_text(room_id, "and back")
        await expect(alice.message("and back")).to_be_visible()
    assert alice.problems == []
