"""Conversation in the browser: replies that quote and jump to their target, edits (also
with the Up key), deletes with a confirmation, reactions with counts and who reacted, and
unread badges with a "new messages" divider kept in step across two browsers of one person."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser.chat_page import ChatPage, two_people_in_a_room, unique_name
from tests.browser.test_history_and_a11y import axe_violations
from tests.live_server import LiveServer


async def test_reply_edit_react_and_delete(browser: object, server: LiveServer) -> None:
    alice, bob, room = await two_people_in_a_room(browser, server.url, "talk")
    await bob.open_room(room)
    await bob.send("what time is the meeting?")
    await expect(alice.message("what time is the meeting?")).to_be_visible()

    # Reply: quoted on both sides; the quote jumps to its target.
    await alice.reply_to("what time is the meeting?", "at noon")
    reply = bob.message_item("at noon")
    quote = reply.get_by_role("button", name=re.compile("In reply to"))
    await expect(quote).to_contain_text(bob.username)
    await expect(quote).to_contain_text("what time is the meeting?")
    await quote.click()
    await expect(bob.message_item("what time is the meeting?")).to_be_focused()

    # Edit: from the toolbar, and with Up in the empty composer for the last message.
    await alice.send("see you tehre")
    await alice.wait_until_sent(2)
    await alice.edit_message("see you tehre", "see you there")
    await expect(bob.message_item("see you there")).to_contain_text("(edited)")
    await alice.composer.click()
    await alice.composer.press("ArrowUp")
    await expect(alice.composer).to_have_value("see you there")
    await alice.composer.fill("see you all there")
    await alice.composer.press("Enter")
    await expect(bob.message("see you all there (edited)")).to_be_visible()
    # Bob cannot edit Alice's message, nor delete it (he is not an owner).
    await bob.message_item("see you all there").hover()
    toolbar = bob.message_item("see you all there").get_by_role("toolbar")
    await expect(toolbar.get_by_role("button", name="Reply")).to_be_visible()
    await expect(toolbar.get_by_role("button", name="Edit")).to_have_count(0)
    await expect(toolbar.get_by_role("button", name="Delete")).to_have_count(0)

    # Reactions: a picker, chips with counts and who reacted; mine toggles.
    await bob.react("at noon", "👍")
    chip = alice.reaction("at noon", "👍")
    await expect(chip).to_have_accessible_name(f"👍 1: {bob.username}")
    await chip.click()  # Alice adds hers
    await expect(bob.reaction("at noon", "👍")).to_have_accessible_name(
        re.compile(f"^👍 2: ({alice.username}, {bob.username}|{bob.username}, {alice.username})$")
    )
    await expect(chip).to_have_attribute("aria-pressed", "true")
    await chip.click()  # and takes it back
    await expect(bob.reaction("at noon", "👍")).to_have_accessible_name(f"👍 1: {bob.username}")
    await bob.react("at noon", "🎉")
    await expect(alice.reaction("at noon", "🎉")).to_be_visible()

    # The conversation passes the audit: quotes, chips, the toolbar, the open picker.
    await bob.message_action("at noon", "Add reaction")
    await expect(bob.page.get_by_role("group", name="Pick a reaction")).to_be_visible()
    assert await axe_violations(bob.page) == [], "a conversation with an open picker"
    await bob.page.keyboard.press("Escape")
    await expect(bob.page.get_by_role("group", name="Pick a reaction")).to_be_hidden()

    # Delete, after a confirmation: the text and its reactions go, for everyone.
    await alice.message_action("at noon", "Delete")
    dialog = alice.page.get_by_role("dialog", name="Delete message?")
    assert await axe_violations(alice.page) == [], "the delete confirmation"
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(alice.message("at noon")).to_be_visible()
    await alice.delete_message("at noon")
    for page in (alice, bob):
        await expect(page.message("at noon")).to_have_count(0)
        await expect(page.log.get_by_text("message deleted")).to_have_count(1)
        await expect(page.log.get_by_role("group", name="Reactions")).to_have_count(0)
    # As the room's owner, Alice may delete Bob's message too (moderation).
    await alice.delete_message("what time is the meeting?")
    await expect(bob.log.get_by_text("message deleted")).to_have_count(2)
    assert alice.problems == [] and bob.problems == []


async def test_unread_and_new_messages_in_step_across_two_browsers(
    browser: object, server: LiveServer
) -> None:
    alice, bob, room = await two_people_in_a_room(browser, server.url, "news")
    elsewhere = unique_name("elsewhere")
    await alice.create_room(elsewhere)
    # Alice's second browser (another context: its own cookies and storage).
    second = await ChatPage.open(browser, server.url)
    await second.sign_in(alice.username)
    await second.open_room(elsewhere)
    await alice.open_room(elsewhere)
    await bob.open_room(room)

    await bob.send("first news")
    await bob.send("second news")
    for page in (alice, second):
        await expect(page.unread_badge(room, 2)).to_be_visible()

    # Read in one browser: the other's badge clears at once.
    await alice.open_room(room)
    await expect(alice.page.get_by_test_id("new-messages")).to_be_visible()
    assert await axe_violations(alice.page) == [], "the new-messages divider"
    new_divider_then = alice.log.locator(".new-divider + li.message")
    await expect(new_divider_then).to_contain_text("first news")
    await expect(
        second.sidebar.get_by_role("button", name=re.compile(f"^{room}"))
    ).to_have_accessible_name(room)

    # The other way round, with a reload of the reader's page in between.
    await alice.open_room(elsewhere)
    await bob.send("third news")
    await expect(second.unread_badge(room, 1)).to_be_visible()
    await alice.page.reload()
    await expect(alice.unread_badge(room, 1)).to_be_visible()
    await second.open_room(room)
    await expect(second.log.locator(".new-divider + li.message")).to_contain_text("third news")
    await expect(
        alice.sidebar.get_by_role("button", name=re.compile(f"^{room}"))
    ).to_have_accessible_name(room)
    # Edits and reactions are not news: after them and one more message, one unread.
    await second.open_room(elsewhere)
    await bob.edit_message("third news", "third news, fixed")
    await bob.react("first news", "👀")
    await bob.send("fourth news")
    for page in (alice, second):
        await expect(page.unread_badge(room, 1)).to_be_visible()
    assert alice.problems == [] and bob.problems == [] and second.problems == []
