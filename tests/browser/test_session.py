"""Sessions in the browser: silent token refresh (across tabs too), resuming after a reload
from the httpOnly refresh cookie (also a reload while a refresh is on the way), and signing
out."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Route, expect

from tests.browser.chat_page import ChatPage, two_people_in_a_room, unique_name
from tests.live_server import LiveServer, start_server

ACCESS_TOKEN_TTL = 6  # seconds: several silent refreshes during one test


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("browser-session"),
        {"SEALCHAT_ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_TTL)},
    )
    yield live
    live.stop()


async def test_tokens_refresh_silently_in_every_tab(browser: object, server: LiveServer) -> None:
    alice, bob, room = await two_people_in_a_room(browser, server.url, "long-talk")
    await bob.open_room(room)
    # A second tab of Alice's shares her refresh cookie: refreshes must not collide.
    second_tab = await alice.context.new_page()
    await second_tab.goto(f"{server.url}/")
    await expect(second_tab.get_by_role("heading", name=room, level=1)).to_be_visible()

    await alice.send("before the tokens expire")
    await expect(bob.message("before the tokens expire")).to_be_visible()
    await asyncio.sleep(3 * ACCESS_TOKEN_TTL)

    # Still signed in everywhere, sockets still live, the key service still answers.
    await alice.send("after three lifetimes")
    await expect(bob.message("after three lifetimes")).to_be_visible(timeout=3000)
    await bob.send("still here")
    await expect(alice.message("still here")).to_be_visible(timeout=3000)
    await expect(second_tab.get_by_role("log").get_by_text("still here")).to_be_visible()
    for page in (alice.page, bob.page, second_tab):
        await expect(page.get_by_role("button", name="Sign in")).to_have_count(0)
    assert alice.problems == [] and bob.problems == []


async def test_reload_resumes_and_sign_out_ends_the_session(
    browser: object, server: LiveServer
) -> None:
    alice = await ChatPage.open(browser, server.url)
    await alice.sign_up(unique_name("alice"))
    room = unique_name("notes")
    await alice.create_room(room)
    await alice.send("a note to self")
    await alice.wait_until_sent(1)

    # No token in script-readable storage: the refresh token is an httpOnly cookie.
    cookies = await alice.context.cookies()
    refresh = [c for c in cookies if c["name"] == "sealchat_refresh"]
    assert refresh and refresh[0]["httpOnly"] and refresh[0]["sameSite"] == "Strict"
    storage = await alice.page.evaluate("JSON.stringify(localStorage) + document.cookie")
    assert refresh[0]["value"] not in storage and "eyJ" not in storage

    await alice.page.reload()
    await expect(alice.message("a note to self")).to_be_visible()

    await alice.page.get_by_role("button", name="Sign out").click()
    await expect(alice.page.get_by_role("button", name="Sign in")).to_be_enabled()
    await alice.page.reload()
    await expect(alice.page.get_by_role("button", name="Sign in")).to_be_visible()
    assert not [c for c in await alice.context.cookies() if c["name"] == "sealchat_refresh"]

    await alice.sign_in(alice.username)
    await expect(alice.message("a note to self")).to_be_visible()


async def test_a_reload_during_a_silent_refresh_keeps_the_session(
    browser: object, server: LiveServer
) -> None:
    """The server rotates the refresh cookie but the page reloads before the answer (and its
    Set-Cookie) arrives: the next page presents the cookie just spent, within the grace."""
    alice = await ChatPage.open(browser, server.url)
    await alice.sign_up(unique_name("alice"))
    await alice.create_room(unique_name("notes"))
    await alice.send("written before the reload")
    await alice.wait_until_sent(1)

    held: list[Route] = []

    async def rotate_but_never_answer(route: Route) -> None:
        headers = await route.request.all_headers()
        forwarded = {name: headers[name] for name in ("cookie", "origin", "content-type")}
        async with httpx.AsyncClient(base_url=server.url) as http:
            rotated = await http.post("/api/auth/refresh", json={}, headers=forwarded)
        assert rotated.status_code == 200 and "sealchat_refresh=" in rotated.headers["set-cookie"]
        held.append(route)  # the page never gets this answer

    await alice.page.route("**/api/auth/refresh", rotate_but_never_answer)
    # The silent refresh comes at 80 % of the access token's lifetime.
    for _ in range(10 * 3 * ACCESS_TOKEN_TTL):
        if held:
            break
        await asyncio.sleep(0.1)
    assert len(held) == 1
    await alice.page.unroute("**/api/auth/refresh")
    await alice.page.reload()
    with contextlib.suppress(Exception):
        await held[0].abort()

    await expect(alice.message("written before the reload")).to_be_visible()
    await expect(alice.page.get_by_role("button", name="Sign in")).to_have_count(0)
    await alice.send("written after the reload")
    await alice.wait_until_sent(2)
    # And the session goes on refreshing past the next lifetime.
    await asyncio.sleep(ACCESS_TOKEN_TTL)
    await alice.page.reload()
    await expect(alice.message("written after the reload")).to_be_visible()
    assert alice.problems == []
