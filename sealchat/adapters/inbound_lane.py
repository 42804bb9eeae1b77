"""The inbound lane: a client's common websocket frames parsed here, not by websockets.

websockets' sans-I/O parser costs about 35 µs per incoming message (a generator per frame,
four ``read_exact`` calls, a ``Frame`` object); chat traffic is almost all small, final,
masked, uncompressed text frames. ``InboundLane`` reads exactly those from the bytes the
connection receives and hands each message's text on (``deliver``). Anything else - a
ping, pong or close, binary, a fragmented message, reserved bits, a missing mask, a 64-bit
length, a payload over the size limit, text that is not UTF-8 - goes to websockets with
every byte after it (``hand_over``), and websockets owns the stream until its parser is
back between two frames with nothing buffered (``at_rest``). So websockets still decides
every error and every control frame exactly as before: a ping is answered, a close closed,
bad UTF-8 closed with 1007, an oversize frame with 1009. A complete control frame (at most
125 bytes of payload) is handed over on its own, and the lane goes on after it if
websockets is at rest again.

A partial frame at the end of the received bytes waits here until the rest arrives.

``websockets_at_rest`` reads websockets' parser state; the internals it relies on are in
fast_lane_pins.py. fast_lane.py's ``FastLaneProtocol`` runs the lane, once engine.io's
socket has attached to it (uncompressed connections only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from websockets.protocol import Protocol, State
from websockets.streams import StreamReader

try:  # websockets' C unmasking (about 150 ns for a chat message), as its own parser uses
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - a build without the extension
    from websockets.utils import apply_mask

_FIN_TEXT = 0x81  # FIN, no reserved bits, opcode text
_MASKED = 0x80
_CONTROL_FRAMES = frozenset((0x88, 0x89, 0x8A))  # FIN + close, ping, pong
_AT_EOF = StreamReader.at_eof.__code__
_PARSE = Protocol.parse.__code__


def websockets_at_rest(conn: Protocol) -> bool:
    """websockets' connection is open and its parser waits between two frames, with no
    byte buffered and no fragmented message under way: the next byte starts a frame."""
    if (
        conn.state is not State.OPEN
        or conn.reader.buffer
        or conn.current_size is not None
        or conn.parser_exc is not None
    ):
        return False
    # parse() waits for the next frame in ``yield from self.reader.at_eof()``; inside a
    # frame it waits in Frame.parse, after a close in discard().
    outer: Any = conn.parser
    inner = outer.gi_yieldfrom
    while inner is not None and inner.gi_yieldfrom is not None:
        outer, inner = inner, inner.gi_yieldfrom
    return inner is not None and inner.gi_code is _AT_EOF and outer.gi_code is _PARSE


class InboundLane:
    """Parses one connection's incoming bytes once websockets is at rest.

    ``deliver(text)``: a complete text message, in arrival order.
    ``hand_over(data)``: bytes for websockets' own parser, in stream order.
    ``at_rest()``: whether websockets may be left out from the next byte on.
    ``max_size``: the largest payload the lane takes (websockets' limit; bigger ones are
    handed over and refused there).
    """

    __slots__ = ("_at_rest", "_deliver", "_hand_over", "_max_size", "_need", "_partial", "owned")

    def __init__(
        self,
        deliver: Callable[[str], None],
        hand_over: Callable[[bytes], None],
        at_rest: Callable[[], bool],
        max_size: int | None,
    ) -> None:
        self._deliver = deliver
        self._hand_over = hand_over
        self._at_rest = at_rest
        self._max_size = 0xFFFF if max_size is None else min(max_size, 0xFFFF)
        self._partial = bytearray()  # the start of a frame whose end has not arrived
        self._need = 0  # how long _partial must be before it is worth parsing again
        # websockets reads the stream (the handshake, then whenever it was handed over).
        self.owned = True

    def receive(self, data: bytes) -> None:
        if self.owned:
            if not self._at_rest():
                self._hand_over(data)
                return
            self.owned = False
        if self._partial:
            self._partial += data
            if len(self._partial) < self._need:
                return
            data = bytes(self._partial)
            self._partial.clear()
        end = len(data)
        pos = 0
        while pos < end:
            head = data[pos]
            if end - pos < 2:
                return self._keep(data, pos, 2)
            second = data[pos + 1]
            size = second & 0x7F
            if head != _FIN_TEXT or not second & _MASKED:
                if head in _CONTROL_FRAMES and second & _MASKED and size < 126:
                    stop = pos + 6 + size
                    if stop > end:
                        return self._keep(data, pos, 6 + size)
                    # A whole control frame: websockets answers it as it always did.
                    self._hand_over(data[pos:stop])
                    pos = stop
                    if self._at_rest():
                        continue
                return self._give_up(data, pos)
            if size < 126:
                start = pos + 6
            elif size == 126:
                if end - pos < 4:
                    return self._keep(data, pos, 4)
                size = (data[pos + 2] << 8) | data[pos + 3]
                start = pos + 8
            else:
                return self._give_up(data, pos)  # 64-bit length
            if size > self._max_size:
                return self._give_up(data, pos)
            stop = start + size
            if stop > end:
                return self._keep(data, pos, stop - pos)
            try:
                text = apply_mask(data[start:stop], data[start - 4 : start]).decode()
            except UnicodeDecodeError:
                return self._give_up(data, pos)  # websockets closes with 1007
            pos = stop
            self._deliver(text)

    def _keep(self, data: bytes, pos: int, need: int) -> None:
        self._partial += data[pos:]
        self._need = need

    def _give_up(self, data: bytes, pos: int) -> None:
        """websockets reads from ``pos`` on, until it is at rest again."""
        self.owned = True
        self._hand_over(data[pos:])
