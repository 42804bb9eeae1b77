"""Scrolling back through history, and an accessibility audit (axe-core) of each screen."""

from __future__ import annotations

import json
from typing import Any

from playwright.async_api import Page, expect

from sealchat.client import SealchatClient
from tests.browser.chat_page import PASSWORD, ChatPage, accept_invitation_to, unique_name
from tests.browser.conftest import ROOT, missing
from tests.live_server import LiveServer

AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"


async def test_older_pages_load_when_scrolling_up(browser: object, server: LiveServer) -> None:
    alice = await ChatPage.open(browser, server.url)
    await alice.sign_up(unique_name("alice"))
    room = unique_name("archive")
    await alice.create_room(room, private=True)
    texts = [f"archived message {i:03d}" for i in range(1, 131)]
    async with SealchatClient(server.url) as dave:
        await dave.register(unique_name("dave"), PASSWORD)
        await alice.invite(dave.user["username"])  # type: ignore[index]
        room_id = await accept_invitation_to(dave, room)
        await dave.connect()
        for text in texts:
            await dave.send_text(room_id, text)

    await alice.page.reload()
    await expect(alice.message(texts[-1])).to_be_visible()
    shown = await alice.message_texts()
    assert shown == texts[-len(shown) :] and len(shown) < len(texts)

    # Scroll to the top until the room's first message has been loaded.
    first = alice.message(texts[0])
    for _ in range(10):
        if await first.count():
            break
        await alice.log.evaluate("log => { log.scrollTop = 0; }")
        await alice.page.wait_for_timeout(300)
    await expect(first).to_be_attached()
    await expect(alice.log).to_contain_text("This is the beginning of the room.")
    assert await alice.message_texts() == texts


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG A/AA findings (serious and critical) on the page as it is now."""
    if not AXE.exists():
        missing(f"{AXE.relative_to(ROOT)} is missing: run `cd web && npm ci`")
    # Evaluated through the DevTools protocol: the page's CSP rightly blocks inline scripts.
    await page.evaluate(AXE.read_text())
    result = await page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: ["wcag2a", "wcag2aa", "best-practice"]});
            return r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
              .map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}));
        }"""
    )
    return list(result)


async def test_every_screen_passes_an_accessibility_audit(
    browser: object, server: LiveServer
) -> None:
    alice = await ChatPage.open(browser, server.url)
    assert await axe_violations(alice.page) == [], "sign-in page"
    await alice.sign_up(unique_name("alice"))
    await alice.create_room(unique_name("audit"), private=False)
    await alice.send("an audited message")
    await alice.wait_until_sent(1)
    violations = await axe_violations(alice.page)
    assert violations == [], json.dumps(violations, indent=1)

    await alice.sidebar.get_by_role("button", name="Create room").click()
    violations = await axe_violations(alice.page)
    assert violations == [], json.dumps(violations, indent=1)
