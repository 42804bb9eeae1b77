"""A picture of a conversation, for people to see what they get (and for the README).

The picture is saved under tests/browser/artifacts/ on every run; set
SEALCHAT_UPDATE_SCREENSHOT=1 to also replace docs/screenshot.png."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.async_api import expect

from tests.browser.chat_page import PASSWORD, ChatPage
from tests.browser.conftest import ROOT
from tests.live_server import LiveServer

DESKTOP = {"width": 1440, "height": 900}

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


FORMATTED = [
    ("maya", "Review notes for the **new sign-in page** are in https://example.com/review"),
    ("jon", "Two things:\n1. the error should clear when you type\n2. focus starts in *Username*"),
    ("lee", "Agreed. The check is one line:\n```\nif (error) clearError();\n```"),
    ("jon", "> focus starts in Username\n\nDone in `sign-in-page.tsx`, @maya can you look?"),
    ("maya", "Looks good, shipping it :)"),
]


async def test_screenshots_at_phone_and_desktop_sizes(
    browser: object, server: LiveServer, artifacts: Path
) -> None:
    """docs/screenshot-phone.png (390x844) and docs/screenshot-desktop.png (1440x900)."""
    people = {}
    for name in ("maya", "jon", "lee"):
        people[name] = await ChatPage.open(browser, server.url)
        await people[name].sign_up(name)
    maya, jon, lee = people["maya"], people["jon"], people["lee"]
    await maya.create_room("design-review", private=False)
    await maya.invite("jon")
    await maya.invite("lee")
    await jon.accept_invitation("design-review")
    await lee.accept_invitation("design-review")
    for name, text in FORMATTED:
        await people[name].composer.fill(text)
        await people[name].composer.press("Enter")
    await expect(maya.log.locator(".message__text")).to_have_count(len(FORMATTED))
    await maya.wait_until_sent(2)

    shots = {}
    for label, viewport in (("phone", {"width": 390, "height": 844}), ("desktop", DESKTOP)):
        viewer = await ChatPage.open(browser, server.url, viewport=viewport)
        await viewer.page.get_by_label("Username").fill("maya")
        await viewer.page.get_by_label("Password").fill(PASSWORD)
        await viewer.page.get_by_role("button", name="Sign in").click()
        await expect(viewer.log.locator(".message__text")).to_have_count(len(FORMATTED))
        await viewer.page.evaluate("() => document.activeElement?.blur()")
        path = artifacts / f"screenshot-{label}.png"
        await viewer.page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000
        shots[label] = path
        assert viewer.problems == []
    if os.environ.get("SEALCHAT_UPDATE_SCREENSHOT") == "1":
        for label, path in shots.items():
            shutil.copyfile(path, ROOT / "docs" / f"screenshot-{label}.png")
    assert maya.problems == [] and jon.problems == [] and lee.problems == []
