"""Rooms in the browser: the public directory, direct messages, unread counts, leaving,
invitations."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.chat_page import ChatPage, unique_name
from tests.live_server import LiveServer


async def test_directory_direct_messages_unread_and_leave(
    browser: object, server: LiveServer
) -> None:
    alice = await ChatPage.open(browser, server.url)
    bob = await ChatPage.open(browser, server.url)
    await alice.sign_up(unique_name("alice"))
    await bob.sign_up(unique_name("bob"))
    square = unique_name("town-square")
    await alice.create_room(square, private=False)

    # Bob finds the public room in the directory and joins it.
    await bob.page.get_by_role("button", name="Browse rooms").click()
    directory = bob.page.get_by_role("dialog", name="Browse public rooms")
    await directory.get_by_role("button", name=f"Join {square}").click()
    await expect(directory).to_be_hidden()
    await expect(bob.page.get_by_role("heading", name=square, level=1)).to_be_visible()
    await bob.send("hello square")
    await expect(alice.message("hello square")).to_be_visible()
    members = alice.page.get_by_role("complementary", name="Members")
    await expect(members.get_by_text(bob.username, exact=True)).to_be_visible()

    # A direct message: unread for Alice until she opens it.
    await bob.page.get_by_role("button", name="Start direct message").click()
    dialog = bob.page.get_by_role("dialog")
    await dialog.get_by_label("Username").fill(alice.username)
    await dialog.get_by_role("button", name="Start conversation").click()
    await expect(bob.page.get_by_role("heading", name=alice.username, level=1)).to_be_visible()
    await bob.send("psst, a direct message")
    await bob.send("and another")
    dm = alice.sidebar.get_by_role("button", name=f"{bob.username}, 2 unread")
    await expect(dm).to_be_visible()
    await dm.click()
    await expect(alice.message("and another")).to_be_visible()
    assert await alice.message_texts() == ["psst, a direct message", "and another"]
    await expect(alice.sidebar.get_by_test_id("unread-badge")).to_have_count(0)

    # Bob leaves the public room: it leaves his list and Alice's member list.
    await bob.open_room(square)
    await bob.page.get_by_role("button", name="Leave room").click()
    await bob.page.get_by_role("dialog").get_by_role("button", name="Leave").click()
    await expect(bob.sidebar.get_by_role("button", name=square)).to_have_count(0)
    await alice.open_room(square)
    await expect(members.get_by_text(bob.username, exact=True)).to_have_count(0)
    assert alice.problems == [] and bob.problems == []


async def test_an_invitation_is_accepted_or_declined_and_says_whose_room_it_is(
    browser: object, server: LiveServer
) -> None:
    eve = await ChatPage.open(browser, server.url)
    bob = await ChatPage.open(browser, server.url)
    await eve.sign_up(unique_name("eve"))
    await bob.sign_up(unique_name("bob"))
    ops, lure = unique_name("OPS"), unique_name("lure")
    await eve.create_room(lure)
    await eve.invite(bob.username)
    await eve.create_room(ops)
    await eve.invite(bob.username)

    # Bob sees who invites him to which room, and is in neither until he accepts.
    invitation = bob.invitation(ops)
    await expect(invitation).to_contain_text(f"private room · owner {eve.username} · 1 member")
    await expect(invitation).to_contain_text(f"invited by {eve.username}")
    await expect(bob.sidebar.get_by_role("button", name=ops, exact=True)).to_have_count(0)
    members = eve.page.get_by_role("complementary", name="Members")
    await expect(members.get_by_text(bob.username, exact=True)).to_have_count(0)

    await bob.invitation(lure).get_by_role("button", name=f"Decline invitation to {lure}").click()
    await expect(bob.invitation(lure)).to_have_count(0)
    await bob.accept_invitation(ops)

    await expect(bob.page.get_by_test_id("room-owner")).to_have_text(
        f"owner {eve.username} · 2 members"
    )
    await expect(members.get_by_text(bob.username, exact=True)).to_be_visible()
    await bob.send("accepted, hello")
    await expect(eve.message("accepted, hello")).to_be_visible()
    await expect(bob.sidebar.get_by_role("button", name=lure, exact=True)).to_have_count(0)
    await bob.page.reload()
    await expect(bob.sidebar.get_by_role("button", name=ops, exact=True)).to_be_visible()
    await expect(bob.sidebar.get_by_role("listitem", name=f"Invitation to {lure}")).to_have_count(0)
    assert eve.problems == [] and bob.problems == []
