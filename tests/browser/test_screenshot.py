"""A picture of a conversation, for people to see what they get (and for the README).

The picture is saved under tests/browser/artifacts/ on every run; set
SEALCHAT_UPDATE_SCREENSHOT=1 to also replace docs/screenshot.png."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.async_api import expect

from tests.browser.chat_page import ChatPage
from tests.browser.conftest import ROOT
from tests.live_server import LiveServer

CONVERSATION = [
    ("alice", "Morning all! Release candidate 2 is tagged."),
    ("bob", "Nice. I ran the migration on staging: 1.2M rows in 40 s, no locks."),
    ("carol", "Docs are updated as well.\nThe screenshots still need a refresh though."),
    ("alice", "I'll take those. Anything blocking the launch on Thursday?"),
    ("bob", "Only the load test. Running it now, results within the hour."),
    ("carol", "Reminder: all of this is sealed in our browsers; the server sees ciphertext."),
    ("alice", "Perfect. Let's meet at 3 to decide."),
]


async def test_screenshot_of_a_conversation(
    browser: object, server: LiveServer, artifacts: Path
) -> None:
    people = {}
    for name in ("alice", "bob", "carol"):
        people[name] = await ChatPage.open(browser, server.url)
        await people[name].sign_up(name)
    alice, bob, carol = people["alice"], people["bob"], people["carol"]

    await carol.create_room("random", private=False)
    await carol.invite("alice")
    await alice.accept_invitation("random")
    await alice.create_room("launch-planning", private=False)
    await alice.invite("bob")
    await alice.invite("carol")
    await bob.accept_invitation("launch-planning")
    await carol.accept_invitation("launch-planning")
    for person in (bob, carol):
        await person.open_room("launch-planning")

    for name, text in CONVERSATION:
        await people[name].send(text)
        await expect(alice.message(text)).to_be_visible()
    await alice.wait_until_sent(3)

    # Elsewhere: a direct message and chatter in another room, unread for alice.
    await bob.page.get_by_role("button", name="Start direct message").click()
    await bob.page.get_by_role("dialog").get_by_label("Username").fill("alice")
    await bob.page.get_by_role("dialog").get_by_role("button", name="Start conversation").click()
    await expect(bob.page.get_by_role("heading", name="alice", level=1)).to_be_visible()
    await bob.send("Got a minute after standup?")
    await carol.open_room("random")
    await carol.send("Anyone up for lunch at the new ramen place?")
    await carol.send("They have vegan options too.")
    await carol.open_room("launch-planning")
    await expect(alice.sidebar.get_by_test_id("unread-badge")).to_have_count(2)

    await alice.composer.click()
    await carol.composer.press_sequentially("Sounds good, I'll bring")  # typing, not sent
    await expect(alice.page.get_by_text("carol is typing…")).to_be_visible()

    path = artifacts / "conversation.png"
    await alice.page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    if os.environ.get("SEALCHAT_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(path, ROOT / "docs" / "screenshot.png")
    assert alice.problems == [] and bob.problems == [] and carol.problems == []
