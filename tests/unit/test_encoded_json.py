"""The send path's envelope is encoded once: packets carry that text as it is."""

from __future__ import annotations

import json

import pytest
from socketio import packet as sio_packet

from sealchat.adapters.socketio_packets import GuardedPacket, PacketJson
from sealchat.domain.encoded import EncodedJson

ENVELOPE = {"v": 1, "alg": "A256GCM", "kid": "k", "edk": "AA==", "iv": "AAAA", "ct": "AAAA"}
TEXT = json.dumps(ENVELOPE, separators=(",", ":"))


def test_it_reads_like_the_object() -> None:
    encoded = EncodedJson(ENVELOPE, TEXT)
    assert encoded == ENVELOPE
    assert ENVELOPE.__eq__(encoded) is NotImplemented  # so dict == EncodedJson asks it
    assert dict(encoded) == ENVELOPE and encoded["kid"] == "k" and len(encoded) == 6


def test_packets_splice_the_text_in() -> None:
    marked = EncodedJson(ENVELOPE, TEXT.replace('"k"', '"stored"'))
    ack = {"ok": True, "message": {"seq": 1, "envelope": marked}, "more": [marked]}
    text = GuardedPacket(sio_packet.ACK, namespace="/", id=3, data=[ack]).encode()
    assert text.count('"kid":"stored"') == 2  # the stored text, not a new encoding
    assert json.loads(text[2:]) == [
        {
            "ok": True,
            "message": {"seq": 1, "envelope": {**ENVELOPE, "kid": "stored"}},
            "more": [{**ENVELOPE, "kid": "stored"}],
        }
    ]


def test_anything_else_unknown_is_still_refused() -> None:
    with pytest.raises(TypeError):
        PacketJson.dumps({"x": object()})
    assert PacketJson.dumps({"a": [1, "é"]}) == json.dumps({"a": [1, "é"]})
