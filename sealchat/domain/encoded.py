"""A JSON object that arrives already encoded: written out as its text, never again.

The send path encodes a message's envelope once (to store it); the ``message:new``
broadcast and the sender's ack carry that same text instead of encoding the object twice
more. ``EncodedJson`` reads like the object (a read-only mapping equal to it), so code
that looks into a payload sees no difference; a JSON encoder that knows it
(adapters/socketio_packets.py) splices ``text`` in, any other refuses it loudly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class EncodedJson(Mapping[str, Any]):
    __slots__ = ("text", "value")

    def __init__(self, value: dict[str, Any], text: str) -> None:
        self.value = value
        self.text = text  # compact JSON of ``value``

    def __getitem__(self, key: str) -> Any:
        return self.value[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.value)

    def __len__(self) -> int:
        return len(self.value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EncodedJson):
            return self.value == other.value
        return self.value == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"EncodedJson({self.value!r})"
