"""The inbound lane's frame parser against websockets' own: for any byte stream, split
anywhere, the lane plus what it hands over to websockets yields exactly what websockets
alone yields (the same messages in the same order, the same pongs and closes)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from sealchat.adapters.inbound_lane import InboundLane, websockets_at_rest

MAX = 1 << 20


def frame(opcode: Opcode, data: bytes, *, fin: bool = True, mask: bool = True) -> bytes:
    if not mask:  # websockets only writes unmasked frames as a server
        return Frame(opcode, data, fin).serialize(mask=False)
    return Frame(opcode, data, fin).serialize(mask=True)


def text(message: str) -> bytes:
    return frame(Opcode.TEXT, message.encode())


def long_length_text(message: str) -> bytes:
    """A masked text frame with a 64-bit length field (legal for any size)."""
    payload = message.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes((0x81, 0x80 | 127)) + len(payload).to_bytes(8, "big") + mask + masked


def describe(event: Any) -> tuple[Any, ...]:
    assert isinstance(event, Frame)
    data = bytes(event.data)
    if event.opcode is Opcode.TEXT and event.fin:
        try:
            return ("text", data.decode())
        except UnicodeDecodeError:
            return ("bad text", data)  # uvicorn closes with 1007
    return (event.opcode.name, data, event.fin)


class Run:
    """One connection: websockets' parser, with or without the lane in front of it."""

    def __init__(self, *, lane: bool, max_size: int = MAX) -> None:
        self.conn = ServerProtocol(state=State.OPEN, max_size=max_size)
        self.seen: list[tuple[Any, ...]] = []
        self.written: list[bytes] = []
        self.by_lane = 0
        self.lane = (
            InboundLane(self._deliver, self._websockets, self._at_rest, max_size) if lane else None
        )

    def _deliver(self, message: str) -> None:
        self.by_lane += 1
        self.seen.append(("text", message))

    def _at_rest(self) -> bool:
        return websockets_at_rest(self.conn)

    def _websockets(self, data: bytes) -> None:
        if self.conn.state is State.CLOSED:
            return  # uvicorn has closed the transport by then
        self.conn.receive_data(data)
        self.seen += [describe(event) for event in self.conn.events_received()]
        self.written += self.conn.data_to_send()

    def feed(self, *chunks: bytes) -> Run:
        for chunk in chunks:
            if self.lane is None:
                self._websockets(chunk)
            else:
                self.lane.receive(chunk)
        return self

    @property
    def close_code(self) -> int | None:
        return self.conn.close_sent.code if self.conn.close_sent else None


def same_as_websockets(stream: bytes, splits: list[list[bytes]], max_size: int = MAX) -> Run:
    expected = Run(lane=False, max_size=max_size).feed(stream)
    last = None
    for chunks in splits:
        assert b"".join(chunks) == stream
        got = Run(lane=True, max_size=max_size).feed(*chunks)
        assert got.seen == expected.seen
        assert got.written == expected.written
        assert got.close_code == expected.close_code
        last = got
    assert last is not None
    return last


def every_split(stream: bytes) -> list[list[bytes]]:
    return [
        [stream],
        [stream[i : i + 1] for i in range(len(stream))],
        *([stream[:i], stream[i:]] for i in range(1, len(stream))),
    ]


MIXED = [
    "",
    "4",
    "é" * 62,  # 124 bytes
    "x" * 125,
    "y" * 126,  # the first 16-bit length
    '42["message:send",{"room_id":"r"}]',
    "漢字" * 50,
]


def test_text_frames_split_at_every_byte_are_all_parsed_by_the_lane() -> None:
    stream = b"".join(text(m) for m in MIXED)
    run = same_as_websockets(stream, every_split(stream))
    assert run.seen == [("text", m) for m in MIXED]
    assert run.by_lane == len(MIXED) and run.lane is not None and not run.lane.owned


@pytest.mark.parametrize("size", [126, 1000, 65535])
def test_sixteen_bit_lengths_whole_split_and_byte_by_byte(size: int) -> None:
    message = ("ab" * size)[:size]
    stream = text("a") + text(message) + text("b")
    splits = [
        [stream],
        [stream[:3], stream[3:]],
        [stream[:9], stream[9:]],
        [stream[:-1], stream[-1:]],
    ]
    splits.append([stream[i : i + 1] for i in range(len(stream))])
    run = same_as_websockets(stream, splits)
    assert run.by_lane == 3


def test_each_frame_has_its_own_mask() -> None:
    frames = [text("same text") for _ in range(20)]
    assert len(set(frames)) > 1  # random masks
    run = same_as_websockets(b"".join(frames), [[b"".join(frames)], frames])
    assert run.seen == [("text", "same text")] * 20


def test_a_ping_between_texts_is_answered_by_websockets_and_the_lane_goes_on() -> None:
    stream = (
        text("one") + frame(Opcode.PING, b"hi") + text("two") + frame(Opcode.PONG, b"") + text("3")
    )
    run = same_as_websockets(stream, every_split(stream))
    assert run.seen[1] == ("PING", b"hi", True)
    assert run.written == [Frame(Opcode.PONG, b"hi").serialize(mask=False)]
    assert run.by_lane == 3


def test_a_close_frame_closes_and_nothing_after_it_is_delivered() -> None:
    stream = text("before") + frame(Opcode.CLOSE, b"\x03\xe8bye") + text("after")
    run = same_as_websockets(stream, every_split(stream))
    assert run.seen == [("text", "before"), ("CLOSE", b"\x03\xe8bye", True)]
    assert run.close_code == 1000 and run.lane is not None and run.lane.owned


def test_a_fragmented_message_goes_to_websockets_and_the_lane_resumes_after_it() -> None:
    parts = frame(Opcode.TEXT, b"frag", fin=False) + frame(Opcode.CONT, b"ment", fin=True)
    stream = text("a") + parts + text("b")
    run = same_as_websockets(stream, every_split(stream))
    assert run.seen[1:3] == [("TEXT", b"frag", False), ("CONT", b"ment", True)]
    run.feed(text("c"))
    assert run.seen[-1] == ("text", "c") and run.lane is not None and not run.lane.owned


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (frame(Opcode.TEXT, b"\xff\xfe"), None),  # websockets leaves UTF-8 to uvicorn: 1007
        (frame(Opcode.TEXT, b"x" * 200), 1009),  # over max_size
        (frame(Opcode.TEXT, b"unmasked", mask=False), 1002),
        (bytes((0xC1, 0x81, 1, 2, 3, 4, 5)), 1002),  # RSV1 without an extension
        (frame(Opcode.BINARY, b"\x00\x01"), None),
        (long_length_text("sixty-four"), None),
    ],
    # Fixed ids: the frames carry random masks, and pytest-xdist's workers must collect
    # the same test names.
    ids=["bad-utf8", "oversize", "unmasked", "rsv1", "binary", "64-bit-length"],
)
def test_anything_else_is_handed_to_websockets_with_everything_after_it(
    bad: bytes, code: int | None
) -> None:
    stream = text("ok") + bad + text("later")
    run = same_as_websockets(stream, every_split(stream), max_size=100)
    assert run.close_code == code
    assert run.seen[0] == ("text", "ok")


def test_websockets_keeps_a_stream_it_holds_part_of_a_frame_of() -> None:
    binary = frame(Opcode.BINARY, b"b" * 50)
    run = Run(lane=True).feed(text("a") + binary[:10])
    assert run.lane is not None and run.lane.owned and not websockets_at_rest(run.conn)
    run.feed(binary[10:] + text("c"))
    assert run.seen == [("text", "a"), ("BINARY", b"b" * 50, True), ("text", "c")]
    run.feed(text("d"))  # at rest again: the lane has it
    assert run.by_lane == 2 and not run.lane.owned
