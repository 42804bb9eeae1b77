"""Message content, apart from the envelope crypto: what a sealed plaintext means.

Content v1 (docs/envelope.md §5): ``text`` (optionally a reply or an edit) and
``reaction``, each relation naming its target by the server's message id. Any other
``type`` is unsupported content: opened fine, shown as a placeholder. The web client
implements the same model; spec/content-v1-vectors.json holds the shared test vectors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

TEXT: Final = "text"
REACTION: Final = "reaction"
REPLY: Final = "reply"
EDIT: Final = "edit"
RELATION_TYPES: Final = frozenset({REPLY, EDIT, REACTION})
MAX_MESSAGE_ID_CHARS: Final = 64
MAX_REACTION_KEY_CHARS: Final = 64


class ContentError(ValueError):
    """Authentic plaintext that is not valid content; the reason code is ``bad_content``."""

    reason: Final = "bad_content"


@dataclass(frozen=True, slots=True)
class Relation:
    type: str  # reply, edit or reaction
    message_id: str  # the target's server message id

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "message_id": self.message_id}


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    relates_to: Relation | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": TEXT, "text": self.text}
        if self.relates_to is not None:
            out["relates_to"] = self.relates_to.to_json()
        return out


@dataclass(frozen=True, slots=True)
class Reaction:
    key: str
    relates_to: Relation

    def to_json(self) -> dict[str, Any]:
        return {"type": REACTION, "key": self.key, "relates_to": self.relates_to.to_json()}


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A content type this client does not know (a newer sender's, perhaps)."""

    type: str
    raw: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "unsupported": True}


Content = Text | Reaction | Unsupported


def text(body: str) -> Text:
    return Text(body)


def reply(body: str, message_id: str) -> Text:
    return Text(body, Relation(REPLY, message_id))


def edit(message_id: str, new_text: str) -> Text:
    return Text(new_text, Relation(EDIT, message_id))


def reaction(message_id: str, key: str) -> Reaction:
    return Reaction(key, Relation(REACTION, message_id))


def to_wire(content: Content | dict[str, Any]) -> dict[str, Any]:
    """The JSON object to seal; a known content is checked first (``ContentError``)."""
    raw = content if isinstance(content, dict) else content.to_json()
    if isinstance(content, Unsupported):
        raw = content.raw
    parse_content(raw)
    return raw


def parse_plaintext(plaintext: bytes | str) -> Content:
    """UTF-8 JSON text to content; raises ``ContentError``."""
    return parse_content(load_json(plaintext))


def load_json(plaintext: bytes | str) -> object:
    """UTF-8 JSON text to a JSON value (NaN and Infinity refused); raises ``ContentError``."""
    try:
        decoded = plaintext.decode("utf-8") if isinstance(plaintext, bytes) else plaintext
        value: object = json.loads(decoded, parse_constant=_no_constant)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ContentError("the content is not UTF-8 JSON") from None
    return value


def parse_content(value: object) -> Content:
    """A JSON value to content; raises ``ContentError``. Unknown members are ignored."""
    if not isinstance(value, dict):
        raise ContentError("the content is not a JSON object")
    kind = value.get("type")
    if not isinstance(kind, str):
        raise ContentError("the content has no string 'type'")
    if kind == TEXT:
        body = value.get("text")
        if not isinstance(body, str):
            raise ContentError("text content has no string 'text'")
        relation = _relation(value)
        if relation is not None and relation.type == REACTION:
            raise ContentError("text content cannot relate as a reaction")
        return Text(body, relation)
    if kind == REACTION:
        relation = _relation(value)
        if relation is None or relation.type != REACTION:
            raise ContentError("reaction content needs relates_to of type 'reaction'")
        key = value.get("key")
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_REACTION_KEY_CHARS:
            raise ContentError(f"a reaction key is 1 to {MAX_REACTION_KEY_CHARS} characters")
        return Reaction(key, relation)
    # Not interpreted at all, relates_to included: a newer type may define new relations.
    return Unsupported(kind, value)


def _relation(value: dict[str, Any]) -> Relation | None:
    if "relates_to" not in value:
        return None
    relates_to = value["relates_to"]
    if not isinstance(relates_to, dict):
        raise ContentError("relates_to must be an object")
    kind = relates_to.get("type")
    if kind not in RELATION_TYPES:
        raise ContentError("relates_to.type must be reply, edit or reaction")
    target = relates_to.get("message_id")
    if not isinstance(target, str) or not 1 <= len(target) <= MAX_MESSAGE_ID_CHARS:
        raise ContentError(f"relates_to.message_id must be 1 to {MAX_MESSAGE_ID_CHARS} characters")
    return Relation(str(kind), target)


def relation_of(content: Content) -> Relation | None:
    """The relation a known content names (None: none, or unsupported content)."""
    if isinstance(content, Text | Reaction):
        return content.relates_to
    return None


def wire_relation(content: Content | dict[str, Any]) -> dict[str, str] | None:
    """``relates_to`` for ``message:send``: what the sealed content names, so the server
    can check the target (docs/protocol.md §4.5)."""
    parsed = content if not isinstance(content, dict) else parse_content(content)
    relation = relation_of(parsed)
    return None if relation is None else relation.to_json()


def relation_matches(content: Content, delivered: object) -> bool:
    """Whether the ``relates_to`` the server delivered is the one the sender sealed.

    Unsupported content is not interpreted, so its relation cannot be checked.
    """
    if isinstance(content, Unsupported):
        return True
    sealed = relation_of(content)
    if sealed is None:
        return delivered is None
    return isinstance(delivered, dict) and (
        delivered.get("type"),
        delivered.get("message_id"),
    ) == (sealed.type, sealed.message_id)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
