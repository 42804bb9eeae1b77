"""The web client for every day (issue #13): phone and desktop sizes, formatting rendered
safely, the keyboard alone, a room opened during an outage, and an accessibility audit of
every screen at both sizes."""

from __future__ import annotations

import json
import re

import pytest
from playwright.async_api import Page, expect

from sealchat.client import SealchatClient
from tests.browser.chat_page import PASSWORD, ChatPage, accept_invitation_to, unique_name
from tests.browser.test_history_and_a11y import axe_violations
from tests.live_server import LiveServer

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
SIZES = [pytest.param(PHONE, id="390x844"), pytest.param(DESKTOP, id="1440x900")]


async def assert_no_sideways_scroll(page: Page, where: str) -> None:
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{where}: the page scrolls sideways ({widths})"


async def assert_audit_passes(page: Page, where: str) -> None:
    violations = await axe_violations(page)
    assert violations == [], f"{where}: {json.dumps(violations, indent=1)}"


async def test_at_phone_size_every_action_is_reachable_without_sideways_scroll(
    browser: object, server: LiveServer
) -> None:
    alice = await ChatPage.open(browser, server.url, viewport=PHONE)
    page = alice.page
    await assert_no_sideways_scroll(page, "sign-in page")
    await alice.sign_up(unique_name("alice"))
    await assert_no_sideways_scroll(page, "room list")
    first, second = unique_name("a-rather-long-room-name-for-a-phone"), unique_name("second")
    await alice.create_room(first, private=False)
    heading = page.get_by_role("heading", name=first, level=1)
    assert await heading.get_attribute("title") == first  # cut off with an ellipsis, not lost
    await assert_no_sideways_scroll(page, "room")

    # Send.
    await alice.send("hello from a phone")
    await alice.wait_until_sent(1)
    # Back to the list, a second room, then switch between them.
    await page.get_by_role("button", name=re.compile("^Back to rooms")).click()
    await expect(alice.sidebar).to_be_visible()
    await expect(alice.composer).to_be_hidden()
    await alice.create_room(second, private=False)
    await page.get_by_role("button", name=re.compile("^Back to rooms")).click()
    await alice.open_room(first)
    await expect(alice.message("hello from a phone")).to_be_visible()
    await expect(alice.sidebar).to_be_hidden()

    # Members: a sheet, closed with Escape.
    await page.get_by_role("button", name=re.compile("members online")).click()
    sheet = page.get_by_role("dialog", name=f"People in {first}")
    await expect(sheet.get_by_text(alice.username, exact=True)).to_be_visible()
    await assert_no_sideways_scroll(page, "members sheet")
    await page.keyboard.press("Escape")
    await expect(sheet).to_be_hidden()

    # Add a member and leave, from the overflow menu.
    async with SealchatClient(server.url) as bob:
        await bob.register(unique_name("bob"), PASSWORD)
        await page.get_by_role("button", name="More actions").click()
        await assert_no_sideways_scroll(page, "overflow menu")
        await alice.invite(bob.user["username"])  # type: ignore[index]
        assert [i["room"]["name"] for i in await bob.invitations()] == [first]
    await page.get_by_role("button", name="Leave room").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_role("button", name=re.compile("^Leave")).click()
    await expect(alice.sidebar.get_by_role("button", name=re.compile(f"^{first}"))).to_have_count(0)

    # Down to 320 px, nothing scrolls sideways either.
    await page.set_viewport_size({"width": 320, "height": 640})
    await expect(page.get_by_role("heading", name=second, level=1)).to_be_visible()
    await assert_no_sideways_scroll(page, "room at 320 px")
    assert alice.problems == []


@pytest.mark.parametrize("viewport", SIZES)
async def test_no_sideways_scroll_and_touch_sized_controls(
    browser: object, server: LiveServer, viewport: dict[str, int]
) -> None:
    alice = await ChatPage.open(browser, server.url, viewport=viewport)
    await alice.sign_up(unique_name("alice"))
    await alice.create_room(unique_name("sizes"), private=False)
    await alice.send("```\n" + "x" * 400 + "\n```")  # a long code line scrolls in its box only
    await alice.send("https://example.com/" + "long-path/" * 30)
    await alice.wait_until_sent(2)
    await assert_no_sideways_scroll(alice.page, "room with long lines")
    if viewport == PHONE:
        small = await alice.page.evaluate(
            """() => [...document.querySelectorAll("button")]
                .filter(b => b.offsetParent !== null && !b.closest(".message"))
                .map(b => [b.getAttribute("aria-label") || b.innerText, b.getBoundingClientRect()])
                .filter(([, r]) => r.width < 44 || r.height < 44)
                .map(([name, r]) => `${name}: ${Math.round(r.width)}x${Math.round(r.height)}`)"""
        )
        assert small == [], f"controls smaller than 44 px: {small}"


async def test_links_code_and_a_javascript_link_are_rendered_safely(
    browser: object, server: LiveServer
) -> None:
    alice = await ChatPage.open(browser, server.url)
    await alice.sign_up(unique_name("alice"))
    await alice.create_room(unique_name("format"), private=False)
    await alice.send(
        "see https://example.com/docs and **bold** `inline <b>code</b>`\n"
        "[click me](javascript:alert(document.domain)) <img src=x onerror=alert(1)>"
    )
    await alice.send("```\nprint('<script>alert(2)</script>')\n```")
    await alice.send(f"> quoted for @{alice.username}\n- one\n- two")
    await alice.wait_until_sent(3)
    log = alice.log

    link = log.get_by_role("link", name="https://example.com/docs")
    await expect(link).to_have_attribute("href", "https://example.com/docs")
    await expect(link).to_have_attribute("rel", "noopener noreferrer")
    await expect(link).to_have_attribute("target", "_blank")
    await expect(log.locator("strong")).to_have_text("bold")
    await expect(log.locator("p code")).to_have_text("inline <b>code</b>")
    await expect(log.locator("pre code")).to_have_text("print('<script>alert(2)</script>')\n")
    await expect(log.locator("blockquote")).to_contain_text("quoted for")
    await expect(log.locator("ul li")).to_have_text(["one", "two"])
    await expect(log.locator(".mention--me")).to_contain_text(f"@{alice.username}")
    # Nothing runnable: no javascript: link, no element from the raw HTML, no alert.
    await expect(log.get_by_text("[click me](javascript:alert(document.domain))")).to_be_visible()
    assert await log.locator("a[href^='javascript' i]").count() == 0
    assert await log.locator("img, script, b").count() == 0
    assert await log.locator("a").count() == 1
    assert alice.dialogs == [] and alice.problems == []


async def test_a_long_message_collapses_behind_show_more(
    browser: object, server: LiveServer
) -> None:
    alice = await ChatPage.open(browser, server.url)
    await alice.sign_up(unique_name("alice"))
    await alice.create_room(unique_name("long"), private=False)
    await alice.send("long " * 4000)  # 20,000 characters
    await alice.wait_until_sent(1)

    body = alice.log.locator(".message__text--formatted")
    height = await body.evaluate("el => el.getBoundingClientRect().height")
    assert height < 400, "a 20,000 character message is shown collapsed"
    more = alice.log.get_by_role("button", name="Show more")
    await more.click()
    await expect(alice.log.get_by_role("button", name="Show less")).to_have_attribute(
        "aria-expanded", "true"
    )
    assert await body.evaluate("el => el.getBoundingClientRect().height") > height


async def test_the_keyboard_alone_from_sign_in_to_sending_in_a_second_room(
    browser: object, server: LiveServer
) -> None:
    username = unique_name("alice")
    first, second = unique_name("first"), unique_name("second")
    async with SealchatClient(server.url) as other_device:  # alice's rooms, made elsewhere
        await other_device.register(username, PASSWORD)
        await other_device.create_room(first)
        await other_device.create_room(second)
    alice = await ChatPage.open(browser, server.url)
    page = alice.page
    alice.username = username
    # The cursor starts in Username; an error goes away once the form is edited.
    await expect(page.get_by_label("Username")).to_be_focused()
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type("wrong password")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("alert")).to_be_visible()
    await page.keyboard.press("Control+A")
    await page.keyboard.type(PASSWORD)
    await expect(page.get_by_role("alert")).to_have_count(0)
    await page.keyboard.press("Enter")
    # Signed in: the first room is open and the cursor is in its message box.
    await expect(page.get_by_role("heading", name=first, level=1)).to_be_visible()
    await expect(alice.composer).to_be_focused()

    # Ctrl+K: the quick switcher, focus in its field (not Close); Escape gives focus back.
    await page.keyboard.press("Control+K")
    switcher = page.get_by_role("dialog", name="Go to a room or person")
    await expect(switcher.get_by_role("combobox")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(switcher).to_be_hidden()
    await expect(alice.composer).to_be_focused()

    await page.keyboard.press("Control+K")
    await page.keyboard.type(first[-8:])
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name=first, level=1)).to_be_visible()
    await expect(alice.composer).to_be_focused()
    await page.keyboard.type("typed in the first room")
    await page.keyboard.press("Enter")

    # Alt+Down: the next room; the cursor is in its message box.
    await page.keyboard.press("Alt+ArrowDown")
    await expect(page.get_by_role("heading", name=second, level=1)).to_be_visible()
    await expect(alice.composer).to_be_focused()
    await page.keyboard.type("typed in the second room")
    await page.keyboard.press("Enter")
    await expect(alice.message("typed in the second room")).to_be_visible()
    await alice.wait_until_sent(1)
    await page.keyboard.press("Alt+ArrowUp")
    await expect(alice.message("typed in the first room")).to_be_visible()

    # A dialog opens on its first field and gives focus back to its opener on Escape.
    create = alice.sidebar.get_by_role("button", name="Create room")
    await create.focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("dialog").get_by_label("Room name")).to_be_focused()
    for _ in range(8):  # Tab stays inside the dialog
        await page.keyboard.press("Tab")
        assert await page.evaluate("() => !!document.activeElement.closest('dialog')")
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_be_hidden()
    await expect(create).to_be_focused()
    assert alice.problems == []


async def test_a_room_opened_during_an_outage_loads_by_itself_once_back(
    browser: object, server: LiveServer
) -> None:
    alice = await ChatPage.open(browser, server.url)
    await alice.sign_up(unique_name("alice"))
    first, second = unique_name("here"), unique_name("there")
    await alice.create_room(first, private=True)
    async with SealchatClient(server.url) as bob:
        await bob.register(unique_name("bob"), PASSWORD)
        await alice.create_room(second, private=True)
        await alice.invite(bob.user["username"])  # type: ignore[index]
        room_id = await accept_invitation_to(bob, second)
        await alice.open_room(first)
        await bob.connect()
        await bob.send_text(room_id, "waiting for you in there")

    # Reloaded, the page has never opened the second room; the link drops; it is opened.
    page = alice.page
    await page.reload()
    await expect(page.get_by_role("heading", name=first, level=1)).to_be_visible()
    await alice.context.set_offline(True)
    await (
        page.get_by_role("navigation", name="Rooms")
        .get_by_role("button", name=re.compile(f"^{re.escape(second)}"))
        .click()
    )
    await expect(page.get_by_text("Could not load this room")).to_be_visible()

    await alice.context.set_offline(False)

    log = page.get_by_role("log")
    await expect(log.get_by_text("waiting for you in there")).to_be_visible(timeout=30_000)
    await expect(page.get_by_text("Could not load this room")).to_have_count(0)


@pytest.mark.parametrize("viewport", SIZES)
async def test_every_screen_passes_an_accessibility_audit_at_both_sizes(
    browser: object, server: LiveServer, viewport: dict[str, int]
) -> None:
    alice = await ChatPage.open(browser, server.url, viewport=viewport)
    page = alice.page
    await assert_audit_passes(page, "sign-in page")
    await alice.sign_up(unique_name("alice"))
    await assert_audit_passes(page, "no room yet")
    room = unique_name("audit")
    await alice.create_room(room, private=False)
    await alice.send(
        f"**audited** message with a [link](https://example.com) for @{alice.username}"
    )
    await alice.send("`code` and\n```\nblock\n```\n> quote")
    await alice.wait_until_sent(2)
    await assert_audit_passes(page, "room")

    dialogs = [
        ("Browse public rooms", alice.sidebar.get_by_role("button", name="Browse rooms")),
        (
            "Go to a room or person",
            alice.sidebar.get_by_role("button", name=re.compile("^Jump to")),
        ),
        ("Create room", alice.sidebar.get_by_role("button", name="Create room")),
        ("Start direct message", alice.sidebar.get_by_role("button", name="Start direct message")),
    ]
    for name, opener in dialogs:
        if viewport == PHONE:
            await page.get_by_role("button", name=re.compile("^Back to rooms")).click()
            await assert_audit_passes(page, "room list screen")
        await opener.click()
        await expect(page.get_by_role("dialog")).to_be_visible()
        await assert_audit_passes(page, f"{name} dialog")
        await page.keyboard.press("Escape")
        await expect(page.get_by_role("dialog")).to_be_hidden()
        if viewport == PHONE:
            await alice.open_room(room)

    await page.get_by_role("button", name=re.compile("members online")).click()
    await assert_audit_passes(page, "members")
    if viewport == PHONE:
        await page.keyboard.press("Escape")
        await page.get_by_role("button", name="More actions").click()
        await assert_audit_passes(page, "overflow menu")
    await page.get_by_role("button", name="Invite member").click()
    await assert_audit_passes(page, "invite dialog")
    await page.keyboard.press("Escape")
    await page.get_by_role("button", name="Leave room").click()
    await assert_audit_passes(page, "leave dialog")


CACHED_PATHS = """async () => {
    const paths = [];
    for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        for (const request of await cache.keys()) paths.push(new URL(request.url).pathname);
    }
    return paths;
}"""


async def test_the_installable_app_keeps_its_shell_and_never_messages(
    browser: object, server: LiveServer
) -> None:
    alice = await ChatPage.open(browser, server.url)
    page = alice.page
    manifest = await page.evaluate(
        "() => fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())"
    )
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}
    assert await page.evaluate("() => navigator.serviceWorker.ready.then(r => r.scope)") == (
        f"{server.url}/"
    )
    await alice.sign_up(unique_name("alice"))
    await page.reload()  # now the worker controls the page
    await alice.create_room(unique_name("shell"), private=False)
    await alice.send("a message the worker must never keep")
    await alice.wait_until_sent(1)

    cached = await page.evaluate(CACHED_PATHS)
    assert "/index.html" in cached and any(path.startswith("/assets/") for path in cached)
    assert not [path for path in cached if path.startswith(("/api/", "/kms/", "/socket.io/"))]

    # Offline, the app itself still opens (and says it cannot reach the server).
    await alice.context.set_offline(True)
    await page.reload()
    await expect(page.get_by_role("status")).to_contain_text("Sealchat")
    await alice.context.set_offline(False)
