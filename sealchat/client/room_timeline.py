"""A room's timeline with relations applied: what a reader sees, in ``seq`` order.

Edits and reactions are not items of their own; replies are items that name their
target. A relation whose target is not here yet is held and applied when the target
arrives, so the result is the same in any arrival order (docs/envelope.md §5.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sealchat.client.content import EDIT, REACTION, REPLY, Content, Reaction, Text


@dataclass(slots=True)
class TimelineItem:
    """One item as a view shows it; ``text`` is None for unsupported content."""

    id: str
    seq: int
    sender_id: str
    content: Content
    text: str | None
    edited: bool = False
    reactions: dict[str, list[str]] = field(default_factory=dict)
    in_reply_to: str | None = None

    def to_json(self) -> dict[str, object]:
        """The shape of the shared vectors' ``expected`` items."""
        return {
            "id": self.id,
            "sender_id": self.sender_id,
            "text": self.text,
            "edited": self.edited,
            "reactions": {key: list(ids) for key, ids in self.reactions.items()},
            "in_reply_to": self.in_reply_to,
        }


@dataclass(frozen=True, slots=True)
class _Entry:
    id: str
    seq: int
    sender_id: str
    content: Content

    @property
    def relation_type(self) -> str | None:
        content = self.content
        if isinstance(content, Text | Reaction) and content.relates_to is not None:
            return content.relates_to.type
        return None

    @property
    def is_item(self) -> bool:
        return self.relation_type not in (EDIT, REACTION)


class RoomTimeline:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._items: dict[str, TimelineItem] = {}
        # Edits and reactions by target id, held or applied alike.
        self._relations: dict[str, list[_Entry]] = {}

    def add(self, message_id: str, seq: int, sender_id: str, content: Content) -> str | None:
        """Take one opened message; returns the id of the item that changed (None if none
        did: a duplicate, or a relation whose target is not here or not an item)."""
        if message_id in self._entries:
            return None
        entry = _Entry(message_id, seq, sender_id, content)
        self._entries[message_id] = entry
        if entry.is_item:
            self._items[message_id] = self._build(entry)
            return message_id
        assert isinstance(content, Text | Reaction) and content.relates_to is not None
        target = content.relates_to.message_id
        self._relations.setdefault(target, []).append(entry)
        target_entry = self._entries.get(target)
        if target_entry is None or not target_entry.is_item:
            return None
        self._items[target] = self._build(target_entry)
        return target

    def items(self) -> list[TimelineItem]:
        """Every item, ordered by ``seq``."""
        return sorted(self._items.values(), key=lambda item: item.seq)

    def item(self, message_id: str) -> TimelineItem | None:
        return self._items.get(message_id)

    def held(self) -> int:
        """How many relations wait for a target that is not here."""
        return sum(
            len(entries)
            for target, entries in self._relations.items()
            if target not in self._entries
        )

    def _build(self, entry: _Entry) -> TimelineItem:
        content = entry.content
        body = content.text if isinstance(content, Text) else None
        relates_to = content.relates_to if isinstance(content, Text) else None
        item = TimelineItem(
            id=entry.id,
            seq=entry.seq,
            sender_id=entry.sender_id,
            content=content,
            text=body,
            in_reply_to=relates_to.message_id
            if relates_to is not None and relates_to.type == REPLY
            else None,
        )
        related = self._relations.get(entry.id, [])
        if isinstance(content, Text):
            edits = [
                r for r in related if r.relation_type == EDIT and r.sender_id == entry.sender_id
            ]
            if edits:
                latest = max(edits, key=lambda r: r.seq)
                assert isinstance(latest.content, Text)
                item.text = latest.content.text
                item.edited = True
        senders: dict[str, set[str]] = {}
        for r in related:
            if isinstance(r.content, Reaction):
                senders.setdefault(r.content.key, set()).add(r.sender_id)
        item.reactions = {key: sorted(ids) for key, ids in sorted(senders.items())}
        return item
