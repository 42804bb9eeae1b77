"""A person using Sealchat in a browser tab: what they see and what they do, by role and
accessible name (the same names a screen reader announces)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Locator, Page, expect

from sealchat.client import SealchatClient
from tests.browser.conftest import OPEN_PAGES

PASSWORD = "correct horse battery staple"


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class ChatPage:
    page: Page
    context: BrowserContext
    base_url: str
    username: str = ""
    dialogs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    @classmethod
    async def open(cls, browser: Any, base_url: str, **context_options: Any) -> ChatPage:
        context = await browser.new_context(
            viewport=context_options.pop("viewport", {"width": 1280, "height": 800}),
            **context_options,
        )
        page = await context.new_page()
        chat = cls(page, context, base_url)
        OPEN_PAGES.append(chat)
        page.on("dialog", chat._on_dialog)
        page.on("pageerror", lambda error: chat.problems.append(f"page error: {error}"))
        page.on("console", chat._on_console)
        await page.goto(base_url)
        return chat

    async def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        # "Leave site?" (unsent messages): the person leaves anyway; any other dialog is
        # turned down.
        if dialog.type == "beforeunload":
            await dialog.accept()
        else:
            await dialog.dismiss()

    def _on_console(self, message: Any) -> None:
        self.console.append(f"{message.type}: {message.text}")
        # The page's Content-Security-Policy must never have to block anything we ship.
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.problems.append(f"CSP: {message.text}")

    # -- what is on screen ---------------------------------------------------------------

    @property
    def log(self) -> Locator:
        return self.page.get_by_role("log")

    @property
    def composer(self) -> Locator:
        return self.page.get_by_role("textbox", name="Message")

    @property
    def sidebar(self) -> Locator:
        return self.page.get_by_role("navigation", name="Rooms")

    @property
    def banner(self) -> Locator:
        return self.page.get_by_test_id("connection-banner")

    @property
    def members(self) -> Locator:
        return self.page.get_by_role("complementary", name="Members")

    def message(self, text: str) -> Locator:
        return self.log.locator(".message__text").filter(
            has_text=re.compile(f"^{re.escape(text)}$")
        )

    async def message_texts(self) -> list[str]:
        return await self.log.locator(".message__text").all_inner_texts()

    def message_item(self, text: str) -> Locator:
        """The whole message (quote, text, reactions, actions) whose text starts with ``text``."""
        # Relative to each message: `has` locators are queried inside the outer one.
        body = self.page.locator(".message__text").filter(
            has_text=re.compile(f"^{re.escape(text)}( \\(edited\\))?$")
        )
        return self.log.locator("li.message").filter(has=body)

    def reaction(self, text: str, key: str) -> Locator:
        """The reaction chip ``key`` under the message ``text``."""
        return (
            self.message_item(text)
            .get_by_role("group", name="Reactions")
            .get_by_role("button", name=re.compile(f"^{re.escape(key)} "))
        )

    def unread_badge(self, room: str, count: int) -> Locator:
        return self.sidebar.get_by_role("button", name=f"{room}, {count} unread")

    # -- what the person does ----------------------------------------------------------------

    async def sign_up(self, username: str | None = None) -> None:
        self.username = username or unique_name("user")
        await self.page.get_by_label("Username").fill(self.username)
        await self.page.get_by_label("Password").fill(PASSWORD)
        await self.page.get_by_role("button", name="Create account").click()
        await expect(self.sidebar).to_be_visible()
        await expect(self.page.get_by_text(self.username, exact=True).first).to_be_visible()

    async def sign_in(self, username: str) -> None:
        self.username = username
        await self.page.get_by_label("Username").fill(username)
        await self.page.get_by_label("Password").fill(PASSWORD)
        await self.page.get_by_role("button", name="Sign in").click()
        await expect(self.sidebar).to_be_visible()

    async def create_room(self, name: str, *, private: bool = True) -> None:
        await self.sidebar.get_by_role("button", name="Create room").click()
        dialog = self.page.get_by_role("dialog")
        await dialog.get_by_label("Room name").fill(name)
        if private:
            await dialog.get_by_label(re.compile("^Private")).check()
        await dialog.get_by_role("button", name="Create room").click()
        await expect(dialog).to_be_hidden()
        await expect(self.page.get_by_role("heading", name=name, level=1)).to_be_visible()

    async def invite(self, username: str) -> None:
        """Invite someone to the open room (the owner's way to add a member)."""
        await self.page.get_by_role("button", name="Invite member").click()
        dialog = self.page.get_by_role("dialog")
        await dialog.get_by_label("Username").fill(username)
        await dialog.get_by_role("button", name="Send invitation").click()
        await expect(dialog.get_by_role("status")).to_contain_text(
            re.compile("Invitation sent|already")
        )
        await dialog.get_by_role("button", name="Done").click()
        await expect(dialog).to_be_hidden()

    def invitation(self, room: str) -> Locator:
        return self.sidebar.get_by_role("listitem", name=f"Invitation to {room}")

    async def accept_invitation(self, room: str) -> None:
        """Accept the invitation to ``room``; the room opens."""
        await (
            self.invitation(room).get_by_role("button", name=f"Accept invitation to {room}").click()
        )
        await expect(self.invitation(room)).to_have_count(0)
        await expect(self.page.get_by_role("heading", name=room, level=1)).to_be_visible()

    async def open_room(self, name: str) -> None:
        await self.sidebar.get_by_role("button", name=re.compile(f"^{re.escape(name)}")).click()
        await expect(self.page.get_by_role("heading", name=name, level=1)).to_be_visible()
        await expect(self.composer).to_be_visible()

    async def remove_member(self, username: str) -> None:
        """As the open room's owner, remove someone from the member panel (and confirm)."""
        await self.members.get_by_role("button", name=f"Remove {username}").click()
        dialog = self.page.get_by_role("dialog")
        await expect(dialog).to_contain_text(f"Remove {username}")
        await dialog.get_by_role("button", name="Remove", exact=True).click()
        await expect(dialog).to_be_hidden()

    async def message_action(self, text: str, action: str) -> None:
        """Click one of a message's actions (Reply, Add reaction, Edit, Delete)."""
        item = self.message_item(text)
        await item.hover()
        await item.get_by_role("toolbar").get_by_role("button", name=action, exact=True).click()

    async def reply_to(self, text: str, reply: str) -> None:
        await self.message_action(text, "Reply")
        await expect(self.page.get_by_test_id("composer-mode")).to_contain_text("Replying to")
        await self.send(reply)

    async def edit_message(self, text: str, new_text: str) -> None:
        await self.message_action(text, "Edit")
        await expect(self.composer).to_have_value(text)
        await self.send(new_text)

    async def delete_message(self, text: str) -> None:
        await self.message_action(text, "Delete")
        dialog = self.page.get_by_role("dialog", name="Delete message?")
        await dialog.get_by_role("button", name="Delete", exact=True).click()
        await expect(dialog).to_be_hidden()

    async def react(self, text: str, key: str) -> None:
        await self.message_action(text, "Add reaction")
        picker = self.message_item(text).get_by_role("group", name="Pick a reaction")
        await picker.get_by_role("button", name=f"React with {key}").click()
        await expect(picker).to_be_hidden()

    async def send(self, text: str) -> None:
        await self.composer.fill(text)
        await self.composer.press("Enter")

    async def wait_until_sent(self, count: int | None = None) -> None:
        """Every message of mine has its ack (none waiting, sending or failed)."""
        await expect(self.log.locator("[data-delivery=waiting]")).to_have_count(0)
        await expect(self.log.locator("[data-delivery=sending]")).to_have_count(0)
        await expect(self.log.locator("[data-delivery=failed]")).to_have_count(0)
        if count is not None:
            await expect(self.log.locator("[data-delivery=sent]")).to_have_count(count)

    # -- files and search ------------------------------------------------------------------

    async def attach(self, name: str, mime_type: str, data: bytes) -> None:
        """Choose a file with the composer's Attach files button's file input."""
        await expect(self.page.get_by_role("button", name="Attach files")).to_be_visible()
        await self.page.get_by_test_id("attach-input").set_input_files(
            {"name": name, "mimeType": mime_type, "buffer": data}
        )

    async def drop_file(self, name: str, mime_type: str, text: str) -> None:
        """Drag a file from the desktop and drop it on the open room."""
        await self.page.evaluate(
            """([name, type, text]) => {
                const data = new DataTransfer();
                data.items.add(new File([text], name, {type}));
                const room = document.querySelector("section.room");
                for (const kind of ["dragenter", "dragover", "drop"]) {
                    const init = {dataTransfer: data, bubbles: true, cancelable: true};
                    room.dispatchEvent(new DragEvent(kind, init));
                }
            }""",
            [name, mime_type, text],
        )

    async def paste_file(self, name: str, mime_type: str, text: str) -> None:
        """Paste a file (a copied screenshot, say) into the message box."""
        await self.page.evaluate(
            """([name, type, text]) => {
                const data = new DataTransfer();
                data.items.add(new File([text], name, {type}));
                const box = document.querySelector("textarea.composer__input");
                const init = {clipboardData: data, bubbles: true, cancelable: true};
                box.dispatchEvent(new ClipboardEvent("paste", init));
            }""",
            [name, mime_type, text],
        )

    def file_card(self, name: str) -> Locator:
        """The button that downloads the file message ``name``."""
        return self.log.get_by_role("button", name=re.compile(f"^Download {re.escape(name)}, "))

    def image(self, name: str) -> Locator:
        """The inline image (its thumbnail) of the image message ``name``."""
        return self.log.get_by_role("button", name=f"Open image {name} at full size").locator("img")

    def upload(self, name: str) -> Locator:
        return self.page.get_by_role("progressbar", name=f"Uploading {name}")

    async def download(self, name: str) -> bytes:
        """Click a file card; the browser saves the decrypted file: its bytes."""
        async with self.page.expect_download() as info:
            await self.file_card(name).click()
        download = await info.value
        assert download.suggested_filename == name
        path = await download.path()
        return Path(path).read_bytes()

    async def search(self, query: str, *, everywhere: bool = False) -> Locator:
        """Search the open room (or all rooms from the sidebar); returns the dialog."""
        if everywhere:
            await self.sidebar.get_by_role("button", name="Search messages").click()
        else:
            await self.page.get_by_role("button", name="Search this room").click()
        dialog = self.page.get_by_role("dialog")
        await dialog.get_by_label("Words to find").fill(query)
        await dialog.get_by_role("button", name="Search", exact=True).click()
        return dialog

    async def close(self) -> None:
        await self.context.close()


async def two_people_in_a_room(
    browser: object, url: str, room_prefix: str, *, private: bool = True
) -> tuple[ChatPage, ChatPage, str]:
    """Alice and Bob sign up in browser contexts of their own; Alice creates a room and
    invites Bob, who accepts. Returns (alice, bob, room name)."""
    alice = await ChatPage.open(browser, url)
    bob = await ChatPage.open(browser, url)
    await alice.sign_up(unique_name("alice"))
    await bob.sign_up(unique_name("bob"))
    room = unique_name(room_prefix)
    await alice.create_room(room, private=private)
    await alice.invite(bob.username)
    await bob.accept_invitation(room)
    return alice, bob, room


async def page_with_python_member(
    browser: object, url: str, python: SealchatClient, room_prefix: str
) -> tuple[ChatPage, str]:
    """Alice signs up in the browser and creates a private room; ``python`` (a signed-up
    SealchatClient) is invited, accepts and connects. Returns (alice, room id)."""
    alice = await ChatPage.open(browser, url)
    await alice.sign_up(unique_name("alice"))
    room = unique_name(room_prefix)
    await alice.create_room(room, private=True)
    await alice.invite(python.user["username"])  # type: ignore[index]
    room_id = await accept_invitation_to(python, room)
    await python.connect()
    return alice, room_id


async def accept_invitation_to(client: SealchatClient, room_name: str) -> str:
    """A Python member accepts its invitation to the room of that name; returns its id."""
    room_id: str = next(
        i["room"]["id"] for i in await client.invitations() if i["room"]["name"] == room_name
    )
    await client.accept_invitation(room_id)
    return room_id
