"""Which relations may be stored, and which messages a deletion may erase.

The storage adapters look the target up inside the write (the same transaction that
stores the relation) and ask these rules; no adapter decides on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from sealchat.domain.errors import Forbidden, InvalidInput, NotFound, SealchatError
from sealchat.domain.models import Relation, RelationType

# What message:send may ask for; a deletion goes through message:delete.
SENDABLE = frozenset({RelationType.REPLY, RelationType.EDIT, RelationType.REACTION})
# Relations erased together with their target.
ERASED_WITH_TARGET = (RelationType.EDIT.value, RelationType.REACTION.value)

# A deletion marker's client message id: one per target and person, so a retried
# delete finds its first marker instead of appending a second.
_DELETE_CLIENT_ID_PREFIX = "delete:"


@dataclass(frozen=True, slots=True)
class Target:
    """What the rules need to know about the message a relation points at."""

    sender_id: str
    relates_type: str | None
    deleted: bool


def relation_refusal(
    sender_id: str, relation: Relation, target: Target | None
) -> SealchatError | None:
    """Why ``sender_id`` may not store ``relation`` to ``target`` (None: allowed).

    ``target`` is None when no message of that id is in the sender's room.
    """
    if target is None:
        return NotFound("the message this relates to is not in this room")
    if target.deleted:
        return InvalidInput("the message this relates to was deleted")
    if target.relates_type not in (None, RelationType.REPLY.value):
        # Edits, reactions and deletion markers are about a message, not messages.
        return InvalidInput(
            f"a relation must point at a message, not at a relation ({target.relates_type})"
        )
    if relation.type is RelationType.EDIT and target.sender_id != sender_id:
        return Forbidden("only the sender of a message can edit it")
    return None


def deletion_refusal(
    actor_id: str, target: Target | None, *, as_owner: bool
) -> SealchatError | None:
    """Why ``actor_id`` may not delete ``target`` (None: allowed; a deleted target is
    allowed too: the caller returns its existing marker)."""
    if target is None:
        return NotFound("no such message in this room")
    if target.relates_type == RelationType.DELETE.value:
        return InvalidInput("a deletion cannot be deleted")
    if target.sender_id != actor_id and not as_owner:
        return Forbidden("only the sender of a message or an owner of the room can delete it")
    return None


def relation_of(relates_type: str | None, relates_to: str | None) -> Relation | None:
    """The relation stored in a message's two columns (None for a plain message)."""
    if relates_type is None or relates_to is None:
        return None
    return Relation(RelationType(relates_type), relates_to)


def delete_client_msg_id(target_id: str) -> str:
    return f"{_DELETE_CLIENT_ID_PREFIX}{target_id}"
