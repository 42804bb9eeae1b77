"""What ``sealchat chat`` does beyond sending lines: the slash commands (``/reply``,
``/edit``, ``/delete``, ``/react``, ``/unreact``, ``/read``, ``/help``) and incoming
edits, reactions, deletions and replies shown as readable lines.

A message is named by its ``#seq`` (as the lines show it) or its id, as for
``sealchat reply`` and friends (sealchat/commands/conversation.py).
"""

from __future__ import annotations

from datetime import datetime

from sealchat.client import ClientError, SealchatClient
from sealchat.client.content import EDIT, Reaction, Text
from sealchat.client.sealed import OpenedMessage
from sealchat.client.terminal import render_message, terminal_safe
from sealchat.commands.conversation import render_item, reply_quote, resolve_message

HELP = """\
* /reply #SEQ text    reply to a message
* /edit #SEQ text     replace the text of one of your messages
* /delete #SEQ        delete a message (yours, or any in a room you own)
* /react #SEQ emoji   react to a message
* /unreact #SEQ emoji take your reaction back
* /read               mark the room read (on every device of yours)
* /quit               leave; //text sends a line that starts with /"""
USAGE = {
    "/reply": "/reply #SEQ text",
    "/edit": "/edit #SEQ text",
    "/delete": "/delete #SEQ",
    "/react": "/react #SEQ emoji",
    "/unreact": "/unreact #SEQ emoji",
}
SCAN_PAGE = 100  # messages per page when looking for an older reaction of mine


class ChatSession:
    """One ``sealchat chat`` session in one room."""

    def __init__(self, client: SealchatClient, room_id: str) -> None:
        self.client = client
        self.room_id = room_id
        # Reactions seen here, by id: a deletion names what it took back.
        self._reactions: dict[str, tuple[str, str]] = {}  # id -> (key, target id)

    @property
    def me(self) -> str | None:
        return (self.client.user or {}).get("id")

    # -- typed lines -----------------------------------------------------------------------

    async def typed(self, line: str) -> list[str]:
        """Act on one typed line; returns the lines to print (errors included)."""
        if line.startswith("//"):
            await self.client.send_text(self.room_id, line[1:])
            return []
        if not line.startswith("/"):
            await self.client.send_text(self.room_id, line)
            return []
        name, _, rest = line.partition(" ")
        try:
            return await self._command(name, rest.strip())
        except ClientError as exc:
            return [f"! {terminal_safe(exc.code)}: {terminal_safe(exc.message)}"]

    async def _command(self, name: str, rest: str) -> list[str]:
        room = self.client.room(self.room_id)
        if name == "/help":
            return HELP.splitlines()
        if name == "/read":
            marker = await room.mark_read()
            return [f"* read up to #{marker['last_read_seq']}; {marker['unread']} unread"]
        if name not in USAGE:
            return [f"! unknown command {terminal_safe(name)}; /help lists them"]
        ref, _, argument = rest.partition(" ")
        argument = argument.strip()
        if not ref or (name != "/delete" and not argument):
            return [f"! usage: {USAGE[name]}"]
        target = await resolve_message(self.client, self.room_id, ref)
        if name == "/reply":
            stored = await room.reply(target, argument)
        elif name == "/edit":
            stored = await room.edit(target, argument)
        elif name == "/react":
            stored = await room.react(target, argument)
        elif name == "/delete":
            stored = await room.delete(target)
        else:
            mine = await self._my_reaction(target, argument)
            if mine is None:
                return [f"! you have no {terminal_safe(argument)} reaction on {ref}"]
            stored = await room.delete(mine)
        return [f"* sent #{stored['seq']}"]

    async def _my_reaction(self, target: str, key: str) -> str | None:
        """My ``key`` reaction to ``target``: from the timeline, else paging the room's
        history after the target (a reaction always comes after what it reacts to)."""
        timeline = self.client.room(self.room_id).timeline()
        me = self.me or ""
        found = timeline.reaction_id(target, key, me)
        item = timeline.item(target)
        after = item.seq if item is not None else 0
        while found is None:
            page = await self.client.history_opened(self.room_id, after_seq=after, limit=SCAN_PAGE)
            if not page:
                return None
            after = max(int(o.message["seq"]) for o in page)
            found = timeline.reaction_id(target, key, me)
        return found

    # -- what arrives ----------------------------------------------------------------------

    async def incoming(self, opened: OpenedMessage) -> list[str]:
        """The lines for one released (and opened) message of any room."""
        message = opened.message
        room_id = message["room_id"]
        sender = await self.client.name_of(room_id, message["sender_id"])
        if room_id != self.room_id:  # another room's message: shown, with the room's name
            known = self.client.core.rooms.get(room_id)
            return [render_message(opened, sender, known.name if known else room_id)]
        content = opened.parsed
        if isinstance(content, Reaction):
            self._reactions[message["id"]] = (content.key, content.relates_to.message_id)
        if message["sender_id"] == self.me:
            return []  # our own lines are already on screen, our commands answered
        who = terminal_safe(sender)
        head = f"#{message['seq']} [{_when(opened)}] {who}"
        if opened.deletes is not None:
            return [self._deletion(opened.deletes, who)]
        if not opened.ok or opened.deleted:
            return [f"#{message['seq']} {render_message(opened, sender)}"]
        if isinstance(content, Reaction):
            target = self._seq_of(content.relates_to.message_id)
            return [f"{head} reacted {terminal_safe(content.key)} to {target}"]
        relation = content.relates_to if isinstance(content, Text) else None
        if isinstance(content, Text) and relation is not None and relation.type == EDIT:
            text = terminal_safe(content.text, multiline=True)
            return [f"{head} edited {self._seq_of(relation.message_id)}: {text}"]
        item = self.client.room(room_id).timeline().item(message["id"])
        if item is None:
            return [f"#{message['seq']} {render_message(opened, sender)}"]
        timeline = self.client.room(room_id).timeline()
        quote = await reply_quote(self.client, room_id, timeline.item(item.in_reply_to or ""), item)
        return ([quote] if quote else []) + [render_item(item, opened, sender)]

    def _deletion(self, deleted_id: str, who: str) -> str:
        reaction = self._reactions.get(deleted_id)
        if reaction is not None:
            key, target = reaction
            return f"* {who} took back {terminal_safe(key)} from {self._seq_of(target)}"
        relation = self.client.room(self.room_id).timeline().relation_target(deleted_id)
        if relation is not None and relation.type == EDIT:
            return f"* {who} took back an edit of {self._seq_of(relation.message_id)}"
        return f"* {self._seq_of(deleted_id)} deleted by {who}"

    def _seq_of(self, message_id: str) -> str:
        item = self.client.room(self.room_id).timeline().item(message_id)
        return f"#{item.seq}" if item is not None else "an earlier message"


def _when(opened: OpenedMessage) -> str:
    return f"{datetime.fromisoformat(opened.message['created_at']).astimezone():%Y-%m-%d %H:%M}"
