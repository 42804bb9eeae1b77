"""Search over sealed history in the browser (issue #11): a message 500 messages back is
found with accents and case folded, and a click loads older pages until it is in the
timeline and jumps to it; search across rooms; progress and cancel; the dialog's audit."""

from __future__ import annotations

import json

from playwright.async_api import Route, expect

from sealchat.client import SealchatClient
from tests.browser.chat_page import PASSWORD, ChatPage, accept_invitation_to, unique_name
from tests.browser.test_history_and_a11y import axe_violations
from tests.live_server import LiveServer

NEEDLE = "The Ünïcode NEEDLE is in the haystack"


async def test_search_finds_a_message_500_back_and_jumps_to_it(
    browser: object, server: LiveServer
) -> None:
    alice = await ChatPage.open(browser, server.url)
    await alice.sign_up(unique_name("alice"))
    room = unique_name("archive")
    await alice.create_room(room, private=True)
    async with SealchatClient(server.url) as dave:
        await dave.register(unique_name("dave"), PASSWORD)
        await alice.invite(dave.user["username"])  # type: ignore[index]
        room_id = await accept_invitation_to(dave, room)
        await dave.connect()
        await dave.send_text(room_id, "just before the needle")
        await dave.send_text(room_id, NEEDLE)
        for index in range(500):
            await dave.send_text(room_id, f"filler message {index:03d}")

    await alice.page.reload()
    await expect(alice.message("filler message 499")).to_be_visible()
    await expect(alice.message(NEEDLE)).to_have_count(0)  # far back: not loaded

    dialog = await alice.search("unicode needle")  # no accents, another case
    results = dialog.get_by_role("list", name="Search results")
    await expect(dialog.get_by_role("status")).to_have_text("1 result in 502 messages searched")
    hit = results.get_by_role("listitem")
    await expect(hit).to_have_count(1)
    await expect(hit).to_contain_text(NEEDLE)
    await expect(hit).to_contain_text("just before the needle")  # context
    await expect(hit.locator("mark")).to_have_text(["Ünïcode", "NEEDLE"])
    violations = await axe_violations(alice.page)
    assert violations == [], json.dumps(violations, indent=1)

    await hit.get_by_role("button").click()
    await expect(dialog).to_be_hidden()
    target = alice.message_item(NEEDLE)
    await expect(target).to_be_visible()
    await expect(target).to_be_focused()
    await expect(target).to_be_in_viewport()

    # Across rooms, from the sidebar: the room is named on each hit; a click opens it.
    other = unique_name("elsewhere")
    await alice.create_room(other, private=False)
    await alice.send("a haystack in another room")
    await alice.wait_until_sent(1)
    dialog = await alice.search("HAYSTACK", everywhere=True)
    await expect(dialog.get_by_role("status")).to_contain_text("2 results")
    hits = dialog.get_by_role("list", name="Search results").get_by_role("listitem")
    await expect(hits.filter(has_text=room)).to_have_count(1)
    await hits.filter(has_text=room).get_by_role("button").click()
    await expect(alice.page.get_by_role("heading", name=room, level=1)).to_be_visible()
    await expect(alice.message_item(NEEDLE)).to_be_focused()
    assert not alice.problems, alice.problems


async def test_a_search_shows_its_progress_and_can_be_cancelled(
    browser: object, server: LiveServer
) -> None:
    alice = await ChatPage.open(browser, server.url)
    await alice.sign_up(unique_name("alice"))
    await alice.create_room(unique_name("slow"), private=True)
    await alice.send("something to find")
    await alice.wait_until_sent(1)

    held: list[Route] = []

    async def hold(route: Route) -> None:
        held.append(route)

    await alice.page.route("**/api/rooms/*/messages?*", hold)
    dialog = await alice.search("find")
    progress = dialog.get_by_role("progressbar", name="Opening history")
    await expect(progress).to_be_visible()
    await expect(progress).to_have_attribute("aria-valuenow", "0")
    await expect(progress).to_have_attribute("aria-valuemax", "1000")
    await dialog.get_by_role("button", name="Cancel search").click()
    await expect(progress).to_have_count(0)
    await expect(dialog.get_by_role("status")).to_have_text("Search cancelled: 0 results")
    await alice.page.unroute("**/api/rooms/*/messages?*")
    await dialog.get_by_role("button", name="Search", exact=True).click()
    await expect(dialog.get_by_role("status")).to_have_text("1 result in 1 messages searched")
