"""The member panel: an owner removes a member, who loses the room at once."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.chat_page import two_people_in_a_room
from tests.live_server import LiveServer


async def test_the_owner_removes_a_member_from_the_member_panel(
    browser: object, server: LiveServer
) -> None:
    alice, bob, room = await two_people_in_a_room(browser, server.url, "removal")
    await bob.open_room(room)
    await bob.send("hello before I go")
    await expect(alice.message("hello before I go")).to_be_visible()
    await expect(alice.members.get_by_text(bob.username, exact=True)).to_be_visible()

    # Only an owner gets the remove buttons, and never for themselves.
    await expect(bob.members.get_by_role("button", name=f"Remove {alice.username}")).to_have_count(
        0
    )
    await expect(
        alice.members.get_by_role("button", name=f"Remove {alice.username}")
    ).to_have_count(0)

    # Cancel first: nothing changes.
    await alice.members.get_by_role("button", name=f"Remove {bob.username}").click()
    await alice.page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    await expect(alice.members.get_by_text(bob.username, exact=True)).to_be_visible()

    await alice.remove_member(bob.username)
    await expect(alice.members.get_by_text(bob.username, exact=True)).to_have_count(0)
    await expect(alice.page.get_by_test_id("room-owner")).to_contain_text("1 member")
    # Bob's side: the room leaves his list at once.
    await expect(bob.sidebar.get_by_role("button", name=room)).to_have_count(0)
    await expect(bob.page.get_by_role("heading", name=room, level=1)).to_have_count(0)

    # Alice's room goes on without him.
    await alice.send("just us now")
    await alice.wait_until_sent(1)
    assert alice.problems == [] and bob.problems == []
