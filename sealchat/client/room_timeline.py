"""A room's timeline with relations applied: what a reader sees, in ``seq`` order.

Edits and reactions are not items of their own; replies are items that name their
target. A relation whose target is not here yet is held and applied when the target
arrives, so the result is the same in any arrival order (docs/envelope.md §5.3).

Deletion (docs/envelope.md §5.3): a deleted message arrives without content; a deleted
item stays, as "deleted", with no text and no reactions; a deleted edit or reaction is
gone. A deletion marker deletes its target here too, also when it comes first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sealchat.client.content import (
    EDIT,
    REACTION,
    REPLY,
    Content,
    Reaction,
    Relation,
    Text,
    Unsupported,
)


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
    deleted: bool = False

    def to_json(self) -> dict[str, object]:
        """The shape of the shared vectors' ``expected`` items."""
        return {
            "id": self.id,
            "sender_id": self.sender_id,
            "text": self.text,
            "edited": self.edited,
            "reactions": {key: list(ids) for key, ids in self.reactions.items()},
            "in_reply_to": self.in_reply_to,
            "deleted": self.deleted,
        }


@dataclass(frozen=True, slots=True)
class _Entry:
    id: str
    seq: int
    sender_id: str
    # None for a deleted message: its relation is the one the server delivered.
    content: Content | None
    deleted_relation: Relation | None = None

    @property
    def relation(self) -> Relation | None:
        content = self.content
        if isinstance(content, Text | Reaction):
            return content.relates_to
        return self.deleted_relation

    @property
    def relation_type(self) -> str | None:
        relation = self.relation
        return None if relation is None else relation.type

    @property
    def is_item(self) -> bool:
        return self.relation_type not in (EDIT, REACTION)


class RoomTimeline:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._items: dict[str, TimelineItem] = {}
        # Edits and reactions by target id, held or applied alike.
        self._relations: dict[str, list[_Entry]] = {}
        # Ids deleted (by a marker, or delivered deleted), here or not yet.
        self._deleted: set[str] = set()

    def add(self, message_id: str, seq: int, sender_id: str, content: Content) -> str | None:
        """Take one opened message; returns the id of the item that changed (None if none
        did: a duplicate, or a relation whose target is not here or not an item)."""
        return self._add(_Entry(message_id, seq, sender_id, content))

    def add_deleted(
        self, message_id: str, seq: int, sender_id: str, relates_to: Relation | None = None
    ) -> str | None:
        """Take a message delivered deleted (``relates_to`` as the server delivered it)."""
        self._deleted.add(message_id)
        if message_id in self._entries:
            return self.delete(message_id)
        return self._add(_Entry(message_id, seq, sender_id, None, relates_to))

    def delete(self, message_id: str) -> str | None:
        """A deletion marker for ``message_id``: the item shows as deleted (a deleted edit
        or reaction no longer counts). Returns the id of the item that changed."""
        self._deleted.add(message_id)
        entry = self._entries.get(message_id)
        if entry is None:
            return None
        if entry.is_item:
            self._items[message_id] = self._build(entry)
            return message_id
        return self._rebuild_target(entry)

    def _add(self, entry: _Entry) -> str | None:
        if entry.id in self._entries:
            return None
        self._entries[entry.id] = entry
        if entry.is_item:
            self._items[entry.id] = self._build(entry)
            return entry.id
        relation = entry.relation
        assert relation is not None
        self._relations.setdefault(relation.message_id, []).append(entry)
        return self._rebuild_target(entry)

    def _rebuild_target(self, entry: _Entry) -> str | None:
        relation = entry.relation
        assert relation is not None
        target = relation.message_id
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

    def reaction_id(self, target_id: str, key: str, sender_id: str) -> str | None:
        """The id of ``sender_id``'s live ``key`` reaction to ``target_id``, if here."""
        for entry in self._relations.get(target_id, []):
            content = entry.content
            if (
                isinstance(content, Reaction)
                and content.key == key
                and entry.sender_id == sender_id
                and entry.id not in self._deleted
            ):
                return entry.id
        return None

    def relation_target(self, message_id: str) -> Relation | None:
        """What a message here relates to (an edit, a reaction, a reply), if anything."""
        entry = self._entries.get(message_id)
        return None if entry is None else entry.relation

    def held(self) -> int:
        """How many relations wait for a target that is not here."""
        return sum(
            len(entries)
            for target, entries in self._relations.items()
            if target not in self._entries
        )

    def _build(self, entry: _Entry) -> TimelineItem:
        content = entry.content
        relates_to = entry.relation
        item = TimelineItem(
            id=entry.id,
            seq=entry.seq,
            sender_id=entry.sender_id,
            content=content if content is not None else Unsupported("deleted", {}),
            text=content.text if isinstance(content, Text) else None,
            in_reply_to=relates_to.message_id
            if relates_to is not None and relates_to.type == REPLY
            else None,
        )
        if entry.id in self._deleted or content is None:
            item.text = None
            item.deleted = True
            return item
        related = [r for r in self._relations.get(entry.id, []) if r.id not in self._deleted]
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
