"""Real URLs: a room's address is /rooms/:id, deep links open it (through sign-in when
signed out), and Back returns to the previous room."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser.chat_page import ChatPage, unique_name
from tests.live_server import LiveServer

ROOM_URL = re.compile(r"/rooms/[^/?#]+$")


async def test_rooms_have_urls_and_deep_links_open_them(
    browser: object, server: LiveServer
) -> None:
    alice = await ChatPage.open(browser, server.url)
    await expect(alice.page).to_have_url(re.compile(r"/sign-in$"))
    await alice.sign_up(unique_name("alice"))
    first, second = unique_name("first"), unique_name("second")
    await alice.create_room(first)
    await expect(alice.page).to_have_url(ROOM_URL)
    first_url = alice.page.url
    await alice.create_room(second)
    await expect(alice.page).to_have_url(ROOM_URL)
    second_url = alice.page.url
    assert second_url != first_url

    await alice.page.go_back()
    await expect(alice.page.get_by_role("heading", name=first, level=1)).to_be_visible()
    assert alice.page.url == first_url

    # A deep link in another tab (the session resumes from the cookie).
    tab = await alice.context.new_page()
    await tab.goto(second_url)
    await expect(tab.get_by_role("heading", name=second, level=1)).to_be_visible()
    assert tab.url == second_url
    await tab.close()

    # Signed out, a deep link goes through the sign-in page and on to the room.
    again = await ChatPage.open(browser, first_url)
    await expect(again.page).to_have_url(re.compile(r"/sign-in$"))
    await again.sign_in(alice.username)
    await expect(again.page.get_by_role("heading", name=first, level=1)).to_be_visible()
    assert again.page.url == first_url
    assert alice.problems == [] and again.problems == []
