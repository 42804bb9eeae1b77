"""The web client says which key-service layout the server runs and what it means."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from tests.browser.chat_page import ChatPage, unique_name
from tests.live_server import LiveServer


async def test_the_sidebar_says_who_could_read_messages(
    browser: object, server: LiveServer, artifacts: Path
) -> None:
    alice = await ChatPage.open(browser, server.url)
    await alice.sign_up(unique_name("alice"))
    trust = alice.page.get_by_test_id("trust-indicator")
    await expect(trust).to_contain_text(
        "Key service in the same process as the server: the server's operator could read messages."
    )
    await expect(trust).to_contain_text("docs/key-service.md#12-what-clients-say-about-the-layout")
    await expect(alice.page.get_by_text("end to end")).to_have_count(0)
    await alice.page.screenshot(path=str(artifacts / "trust-indicator.png"))
