"""The terminal client (`sealchat tui`), driven headless by Textual's pilot in 80x24: it
sends a sealed message another client opens, shows what that client answers, counts
unread messages of other rooms, pages back through history.

The screen is saved as SVG under tests/integration/artifacts/; with
SEALCHAT_UPDATE_SCREENSHOT=1 it also replaces docs/tui.svg."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import OptionList

from sealchat.client import SealchatClient
from sealchat.tui.app import MessageLine, SealchatApp
from tests.integration.conftest import PASSWORD, ClientFactory
from tests.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TEXTS = [f"earlier message {n}" for n in range(1, 31)] + [
    "Release candidate 2 is tagged.",
    "The migration ran on staging: no locks.",
    "Docs are updated; the screenshots are next.",
    "Anything blocking the launch on Thursday?",
    "Only the load test; results within the hour.",
]


async def until(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until ``condition`` holds (a wait, not a timing assertion)."""
    for _ in range(600):
        if condition():
            return
        await pilot.pause(0.05)
    app = pilot.app
    raise AssertionError(
        f"the terminal client never showed {what}: {getattr(app, 'current', None)} "
        f"{len(app.query(MessageLine))} {getattr(app, 'rooms', None)}"
    )


def read_up_to(client: SealchatClient, room_id: str) -> int:
    marker = client.core.read_markers.get(room_id)
    return marker.seq if marker is not None else 0


def shown(app: SealchatApp) -> list[str]:
    return [str(line.render()) for line in app.query(MessageLine)]


async def test_the_terminal_client_sends_and_receives_sealed_messages(
    server: LiveServer, new_client: ClientFactory
) -> None:
    # Plain names (one test per server): they show in the screenshot in docs/.
    alice = await new_client("alice", connect=True)
    bob = await new_client("bob")
    room = await alice.create_room("launch")
    elsewhere = await alice.create_room("random")
    for room_id in (room["id"], elsewhere["id"]):
        await bob.join(room_id)
    for text in TEXTS:  # more than one page of history
        await alice.send_text(room["id"], text)

    # The terminal client starts as `sealchat tui` does: a new process, signed in.
    async with SealchatClient(server.url) as terminal:
        await terminal.login(bob.user["username"], PASSWORD)  # type: ignore[index]
        await drive(terminal, alice, bob, room, elsewhere)


async def drive(
    terminal: SealchatClient,
    alice: SealchatClient,
    bob: SealchatClient,
    room: dict[str, Any],
    elsewhere: dict[str, Any],
) -> None:
    app = SealchatApp(terminal)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.current == room["id"] and len(shown(app)) == 30, "history")
        assert shown(app)[-1].endswith(TEXTS[-1])
        assert "Trust: key service in the same process as the server" in str(
            app.query_one("#trust").render()
        )
        # Shown to its end: read, on the server and so on every device of bob's.
        await until(pilot, lambda: read_up_to(terminal, room["id"]) == 35, "the read marker")
        assert next(r for r in await bob.rooms() if r["id"] == room["id"])["unread"] == 0

        # Older messages: one more page, in order, nothing twice.
        await pilot.press("ctrl+o")
        await until(pilot, lambda: len(shown(app)) == 35, "the older page")
        assert [line.split(": ", 1)[1] for line in shown(app)] == TEXTS

        for key in "hello from the terminal":
            await pilot.press("space" if key == " " else key)
        await pilot.press("enter")
        opened = await alice.next_opened(timeout=30)
        while opened.message["room_id"] != room["id"] or opened.message["seq"] <= 35:
            opened = await alice.next_opened(timeout=30)
        assert opened.ok and opened.text == "hello from the terminal"
        stored = (await alice.history(room["id"], after_seq=35))[0]
        assert "hello from the terminal" not in str(stored["envelope"])  # only ciphertext

        await alice.send_text(room["id"], "welcome to the terminal, bob")
        await until(
            pilot,
            lambda: shown(app)[-1].endswith(
                f"{alice.user['username']}: welcome to the terminal, bob"
            ),  # type: ignore[index]
            "alice's answer",
        )
        assert shown(app)[-2].endswith("hello from the terminal")
        # Paged back up, bob has not read the newest yet; scrolled down again, he has.
        assert read_up_to(terminal, room["id"]) == 35
        app.query_one("#timeline").scroll_end(animate=False)
        await until(pilot, lambda: read_up_to(terminal, room["id"]) == 37, "reading along")

        # Edits, reactions, replies and deletions fold into the lines they are about.
        alice_name = alice.user["username"]  # type: ignore[index]
        welcome = (await alice.history(room["id"], after_seq=36))[0]
        handle = alice.room(room["id"])
        await handle.edit(welcome["id"], "welcome, bob")
        await until(
            pilot,
            lambda: shown(app)[-1].endswith(f"{alice_name}: welcome, bob (edited)"),
            "the edit",
        )
        await handle.react(welcome["id"], "👍")
        await until(pilot, lambda: shown(app)[-1].endswith("(edited)  [👍 1]"), "the reaction")
        answer = await handle.reply(welcome["id"], "one more thing")
        await until(pilot, lambda: shown(app)[-1].endswith(": one more thing"), "the reply")
        assert shown(app)[-1].startswith(f"> {alice_name}: welcome, bob\n[")
        await handle.delete(answer["id"])
        await until(pilot, lambda: shown(app)[-1].endswith(": (message deleted)"), "the deletion")
        assert len(shown(app)) == 38  # 35 + bob's + alice's + her (deleted) reply

        # Another room's message: counted in the room list, not shown in the timeline.
        await alice.send_text(elsewhere["id"], "psst")
        await until(pilot, lambda: app.rooms[elsewhere["id"]].unread == 1, "an unread count")
        labels = [str(o.prompt) for o in app.query_one("#rooms", OptionList).options]
        assert any(label.startswith("# random") and label.endswith(" 1") for label in labels)
        # Read on another device of bob's: the count here clears (read:updated).
        await bob.mark_read(elsewhere["id"], 1)
        await until(pilot, lambda: app.rooms[elsewhere["id"]].unread == 0, "the count cleared")
        assert "● connected" in str(app.query_one("#status").render())

        await alice.typing(room["id"])
        await until(
            pilot,
            lambda: "is typing" in str(app.query_one("#typing").render()),
            "alice typing",
        )
        app.query_one("#timeline").scroll_end(animate=False)
        await pilot.pause(0.2)
        save_screenshot(app.export_screenshot(title="sealchat tui"))
        await pilot.press("ctrl+q")


def save_screenshot(svg: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "tui.svg").write_text(svg)
    if os.environ.get("SEALCHAT_UPDATE_SCREENSHOT") == "1":
        (ROOT / "docs" / "tui.svg").write_text(svg)
