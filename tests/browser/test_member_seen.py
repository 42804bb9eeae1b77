"""The member panel says how far each other member has read ("seen"), from their read
marker in GET /api/rooms/{id}/members, and stays accessible."""

from __future__ import annotations

import json

from playwright.async_api import expect

from sealchat.client import SealchatClient
from tests.browser.chat_page import PASSWORD, ChatPage, accept_invitation_to, unique_name
from tests.browser.test_history_and_a11y import axe_violations
from tests.live_server import LiveServer


async def test_the_member_panel_shows_how_far_each_member_has_read(
    browser: object, server: LiveServer
) -> None:
    async with SealchatClient(server.url) as bob:
        bob_name = unique_name("bob")
        await bob.register(bob_name, PASSWORD)
        alice = await ChatPage.open(browser, server.url)
        await alice.sign_up(unique_name("alice"))
        room = unique_name("seen")
        await alice.create_room(room, private=True)
        await alice.invite(bob_name)
        room_id = await accept_invitation_to(bob, room)
        for text in ("one", "two", "three"):
            await alice.send(text)
        await alice.wait_until_sent(3)

        await bob.mark_read(room_id, 1)
        await alice.page.reload()
        await alice.open_room(room)
        bob_row = alice.members.get_by_role("listitem").filter(has_text=bob_name)
        await expect(bob_row).to_contain_text("2 behind")
        violations = await axe_violations(alice.page)
        assert violations == [], json.dumps(violations, indent=1)

        await bob.mark_read(room_id, 3)
        await alice.page.reload()
        await alice.open_room(room)
        await expect(bob_row).to_contain_text("seen the latest")
        # Mine is the unread count; the panel says nothing of my own marker.
        mine = alice.members.get_by_role("listitem").filter(has_text=alice.username)
        await expect(mine).not_to_contain_text("seen")
