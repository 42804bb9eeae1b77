"""``sealchat tui``: a full-screen terminal client (Textual) over ``SealchatClient``.

The client core does the work, as for every other client: it seals and opens (data keys
cached by its keyring), keeps cursors, resumes after a reconnect and keeps unacknowledged
sends in its outbox. This module only projects that state: a room list with unread counts,
the open room's timeline (older pages with PageUp at the top, or ctrl+o), a composer that
sends typing notices, who is typing and online, the connection state, and a trust line
saying what the server's key-service layout means. It fits 80x24.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from sealchat.client import ClientError, SealchatClient
from sealchat.client.content import EDIT, REACTION
from sealchat.client.models import Message
from sealchat.client.terminal import render_message, terminal_safe
from sealchat.client.trust import trust_indicator
from sealchat.tui.view import (
    RoomEntry,
    connection_label,
    item_line,
    room_entry,
    room_heading,
    room_label,
    typing_line,
)

PAGE = 30  # messages per history page
TYPING_EVERY = 3.0  # seconds between two "typing" notices while typing
ROOM_LIST_WIDTH = 20


class MessageLine(Static):
    """One timeline item (or a message that did not open), as plain text (never markup)."""

    def __init__(self, seq: int, line: str, item_id: str) -> None:
        super().__init__(Text(line), classes="message")
        self.seq = seq
        self.item_id = item_id


class SealchatApp(App[None]):
    TITLE = "Sealchat"
    CSS = """
    #status { height: 1; background: $primary-background; color: $text; }
    #trust { height: auto; max-height: 2; color: $warning; }
    #trust.trust-separate, #trust.trust-aws-kms { color: $success; }
    #body { height: 1fr; }
    #rooms { width: 20; height: 1fr; max-height: 100%; border-right: vkey $panel-lighten-2; }
    #room-heading { height: 1; text-style: bold; }
    #timeline { height: 1fr; }
    #typing { height: 1; color: $text-muted; }
    #composer { height: 3; }
    .message { height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "older", "Older messages"),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("ctrl+r", "focus_rooms", "Rooms"),
        Binding("escape", "focus_composer", "Write", show=False),
        Binding("ctrl+q", "quit", "Quit"),
    ]

    def __init__(self, client: SealchatClient) -> None:
        super().__init__()
        self.client = client
        self.rooms: dict[str, RoomEntry] = {}
        self.current: str | None = None
        self._shown: dict[str, MessageLine] = {}  # by item id
        self._seqs: set[int] = set()  # every message of the open room taken in
        self._stamps: dict[str, str] = {}  # message id -> its time, as shown
        self._oldest: int | None = None
        self._marking_read = False
        self._typing_sent_at = 0.0
        self._me = (client.user or {}).get("username", "")

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(id="trust")
        with Horizontal(id="body"):
            yield OptionList(id="rooms", compact=True, markup=False)
            with Vertical():
                yield Static(id="room-heading")
                yield VerticalScroll(id="timeline")
                yield Static(id="typing")
                yield Input(placeholder="Write a sealed message; Enter sends", id="composer")
        yield Footer()

    async def on_mount(self) -> None:
        config = await self.client.server_config()
        trust = trust_indicator(config)
        trust_bar = self.query_one("#trust", Static)
        trust_bar.update(Text(trust.line()))
        trust_bar.add_class(f"trust-{trust.layout}")
        self._update_status()
        self.set_interval(1.0, self._tick)
        for event in ("room:joined", "room:left"):
            self.client.on(event, self._on_rooms_changed)
        for event in ("presence", "member:joined", "member:left", "typing"):
            self.client.on(event, self._on_people_changed)
        self.client.on("read:updated", self._on_read_updated)
        await self._load_rooms()
        self._receive()
        with contextlib.suppress(ClientError):
            await self.client.connect()
        self._update_status()
        if self.rooms and self.current is None:
            await self.open_room(next(iter(self.rooms)))
        self.query_one("#composer", Input).focus()

    # -- rooms -----------------------------------------------------------------------------

    async def _load_rooms(self) -> None:
        fresh: dict[str, RoomEntry] = {}
        for body in await self.client.rooms():
            entry = room_entry(body, self._me)
            known = self.rooms.get(entry.id)
            if known is not None:
                entry.members = known.members
            if entry.id in self.client.core.rooms:  # the core's count, kept since
                entry.unread = self.client.unread(entry.id)
            fresh[entry.id] = entry
        self.rooms = fresh
        self._render_room_list()

    def _render_room_list(self) -> None:
        listing = self.query_one("#rooms", OptionList)
        highlighted = self.current
        listing.clear_options()
        listing.add_options(
            Option(Text(room_label(entry, ROOM_LIST_WIDTH - 3)), id=entry.id)
            for entry in self.rooms.values()
        )
        if highlighted in self.rooms:
            listing.highlighted = list(self.rooms).index(highlighted)

    @on(OptionList.OptionSelected, "#rooms")
    async def _room_chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            await self.open_room(event.option.id)
            self.query_one("#composer", Input).focus()

    async def open_room(self, room_id: str) -> None:
        """Show a room: its last page of messages, then what arrives."""
        self.current = room_id
        entry = self.rooms[room_id]
        entry.unread = 0
        timeline = self.query_one("#timeline", VerticalScroll)
        await timeline.remove_children()
        self._shown.clear()
        self._seqs.clear()
        self._oldest = None
        self._render_room_list()
        with contextlib.suppress(ClientError):
            members = await self.client.members(room_id)
            entry.members = {m["user"]["id"]: m["user"]["username"] for m in members}
        self._update_people()
        # Up to the cursor: what the live stream releases later has higher seqs.
        cursor = self.client.core.cursors.get(room_id)
        if cursor != 0:
            before = cursor + 1 if cursor is not None else None
            with contextlib.suppress(ClientError):
                page = await self.client.history(room_id, before_seq=before, limit=PAGE)
                await self._prepend(page)
        timeline.scroll_end(animate=False)
        await self._mark_read()  # shown, at its end: read on every device

    async def action_older(self) -> None:
        """The page before the oldest message shown."""
        if self.current is None or self._oldest is None or self._oldest <= 1:
            return
        try:
            older = await self.client.history(self.current, before_seq=self._oldest, limit=PAGE)
            await self._prepend(older)
        except ClientError as exc:
            self.notify(terminal_safe(f"{exc.code}: {exc.message}"), severity="warning")

    async def action_page_up(self) -> None:
        timeline = self.query_one("#timeline", VerticalScroll)
        if timeline.scroll_y <= 0:
            await self.action_older()
        else:
            timeline.scroll_page_up(animate=False)

    def action_focus_rooms(self) -> None:
        self.query_one("#rooms", OptionList).focus()

    def action_focus_composer(self) -> None:
        self.query_one("#composer", Input).focus()

    # -- messages --------------------------------------------------------------------------

    async def _take(self, message: Message) -> tuple[str | None, set[str]]:
        """Open one message of the open room into its timeline; returns the id of the new
        item it makes (if any) and the ids of the shown items it changed."""
        self._seqs.add(int(message["seq"]))
        opened = await self.client.open(message)  # into the room's timeline
        stamp = datetime.fromisoformat(message["created_at"]).astimezone()
        self._stamps[message["id"]] = f"{stamp:%H:%M}"  # narrow screens
        timeline = self.client.room(message["room_id"]).timeline()
        if opened.deletes is not None:
            relation = timeline.relation_target(opened.deletes)
            return None, {opened.deletes} | ({relation.message_id} if relation else set())
        relation = timeline.relation_target(message["id"])
        if relation is not None and relation.type in (EDIT, REACTION):
            return None, {relation.message_id}
        if timeline.item(message["id"]) is None and opened.ok:
            return None, set()  # e.g. a relation of a kind not shown
        return message["id"], set()

    async def _render(self, room_id: str, message: Message | None, item_id: str) -> str:
        timeline = self.client.room(room_id).timeline()
        item = timeline.item(item_id)
        if item is None:  # it did not open: say why
            assert message is not None
            opened = await self.client.open(message)
            sender = await self.client.name_of(room_id, message["sender_id"])
            return render_message(opened, sender, time_format="%H:%M")
        sender = await self.client.name_of(room_id, item.sender_id)
        target = timeline.item(item.in_reply_to) if item.in_reply_to else None
        target_sender = (
            await self.client.name_of(room_id, target.sender_id) if target is not None else None
        )
        return item_line(item, sender, self._stamps.get(item_id, ""), target, target_sender)

    async def _refresh(self, room_id: str, changed: set[str]) -> None:
        """Show the changed items anew, and the replies that quote them."""
        quoting = {
            line.item_id
            for line in self._shown.values()
            if (item := self.client.room(room_id).timeline().item(line.item_id)) is not None
            and item.in_reply_to in changed
        }
        for item_id in changed | quoting:
            line = self._shown.get(item_id)
            if line is not None:
                line.update(Text(await self._render(room_id, None, item_id)))

    async def _prepend(self, messages: list[Message]) -> None:
        fresh = [m for m in messages if int(m["seq"]) not in self._seqs]
        if not fresh:
            return
        made: list[tuple[Message, str]] = []
        changed: set[str] = set()
        for message in fresh:
            new, touched = await self._take(message)
            changed |= touched
            if new is not None:
                made.append((message, new))
        room_id = fresh[0]["room_id"]
        lines = [
            MessageLine(int(m["seq"]), await self._render(room_id, m, item_id), item_id)
            for m, item_id in made
        ]
        timeline = self.query_one("#timeline", VerticalScroll)
        first = min(self._shown.values(), key=lambda line: line.seq, default=None)
        if lines:
            await timeline.mount(*lines, before=first)
        for line in lines:
            self._shown[line.item_id] = line
        await self._refresh(room_id, changed)
        self._oldest = min(self._seqs)

    @work(exclusive=True, group="receive")
    async def _receive(self) -> None:
        """Every released message, once, in order: shown in the open room, counted in
        the others."""
        while True:
            message = await self.client.next_message(timeout=None)
            try:
                await self._show(message)
            except ClientError as exc:  # e.g. a member's name could not be fetched
                self.notify(terminal_safe(f"{exc.code}: {exc.message}"), severity="warning")

    async def _show(self, message: Message) -> None:
        room_id = message["room_id"]
        if room_id == self.current:
            if int(message["seq"]) in self._seqs:
                return
            timeline = self.query_one("#timeline", VerticalScroll)
            at_end = self._at_end()
            new, changed = await self._take(message)
            if new is not None:
                line = MessageLine(
                    int(message["seq"]), await self._render(room_id, message, new), new
                )
                await timeline.mount(line)
                self._shown[new] = line
            await self._refresh(room_id, changed)
            if self._oldest is None:
                self._oldest = int(message["seq"])
            if at_end:
                timeline.scroll_end(animate=False)
                await self._mark_read()
            return
        await self.client.open(message)  # caches its data key, fills its timeline
        entry = self.rooms.get(room_id)
        if entry is not None:
            entry.unread = self.client.unread(room_id)  # the core counts as the server does
            self._render_room_list()

    def _at_end(self) -> bool:
        timeline = self.query_one("#timeline", VerticalScroll)
        return timeline.scroll_y >= timeline.max_scroll_y - 1

    async def _mark_read(self) -> None:
        """Move my read marker to the open room's newest message, if it is not there yet:
        every device of mine hears it (``read:updated``) and clears its count."""
        room_id = self.current
        room = self.client.core.rooms.get(room_id or "")
        if room_id is None or room is None or self._marking_read:
            return
        marker = self.client.core.read_markers.get(room_id)
        if room.last_seq <= (marker.seq if marker is not None else 0):
            return
        self._marking_read = True
        try:
            with contextlib.suppress(ClientError):
                await self.client.mark_read(room_id, room.last_seq)
        finally:
            self._marking_read = False
        entry = self.rooms.get(room_id)
        if entry is not None:
            entry.unread = self.client.unread(room_id)
            self._render_room_list()

    async def _on_read_updated(self, payload: Any) -> None:
        """Another device of mine read a room: its count here follows."""
        if not self.is_running or not isinstance(payload, dict):
            return
        entry = self.rooms.get(str(payload.get("room_id")))
        if entry is not None:
            entry.unread = self.client.unread(entry.id)
            self._render_room_list()

    @on(Input.Submitted, "#composer")
    async def _send(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text or self.current is None:
            return
        event.input.value = ""
        self._typing_sent_at = 0.0
        try:
            await self.client.send_text(self.current, text)  # shown when released
        except ClientError as exc:
            self.notify(terminal_safe(f"not sent: {exc.code}: {exc.message}"), severity="error")

    @on(Input.Changed, "#composer")
    async def _typing(self, event: Input.Changed) -> None:
        now = time.monotonic()
        if not event.value or self.current is None or now - self._typing_sent_at < TYPING_EVERY:
            return
        self._typing_sent_at = now
        with contextlib.suppress(ClientError):
            await self.client.typing(self.current)

    # -- people and the connection ---------------------------------------------------------

    async def _on_rooms_changed(self, payload: Any) -> None:
        if not self.is_running:
            return  # the client outlives the app
        with contextlib.suppress(ClientError):
            await self._load_rooms()
        if self.current is not None and self.current not in self.rooms:
            self.current = None
            await self.query_one("#timeline", VerticalScroll).remove_children()
            self._shown.clear()
            self._seqs.clear()

    async def _on_people_changed(self, payload: Any) -> None:
        if not self.is_running:
            return
        if isinstance(payload, dict) and payload.get("room_id") == self.current:
            entry = self.rooms.get(self.current or "")
            user = payload.get("user") or {}
            if entry is not None and user.get("id"):
                entry.members[user["id"]] = user.get("username", "")
            if entry is not None and payload.get("reason") in ("left", "removed"):
                entry.members.pop(str(payload.get("user_id")), None)
        self._update_people()

    def _update_people(self) -> None:
        entry = self.rooms.get(self.current or "")
        heading = self.query_one("#room-heading", Static)
        typing = self.query_one("#typing", Static)
        if entry is None:
            heading.update(Text("no room: create or join one (sealchat room create NAME)"))
            typing.update("")
            return
        me = (self.client.user or {}).get("id")
        online = sum(
            1
            for user_id in entry.members
            if user_id == me or self.client.core.presence.get(user_id) == "online"
        )
        heading.update(Text(room_heading(entry, online)))
        names = [
            self.client.core.name_of(u) or u[:8]
            for u in self.client.core.typing(entry.id)
            if u != me
        ]
        typing.update(Text(typing_line(names)))

    def _update_status(self) -> None:
        state = connection_label(self.client.connected.is_set(), self.client.realtime.has_socket)
        who = terminal_safe(f"{self._me} @ {self.client.api.base_url}")
        self.query_one("#status", Static).update(Text(f" Sealchat · {who} · {state}"))

    async def _tick(self) -> None:
        self._update_status()
        self._update_people()  # typing notices expire
        if self.current is not None and self._at_end():
            await self._mark_read()  # scrolled down to the newest message


async def run_tui(client: SealchatClient) -> None:
    """Run the terminal client until the user quits; the caller owns ``client``."""
    app = SealchatApp(client)
    try:
        await app.run_async()
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), 5)
