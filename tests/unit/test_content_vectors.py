"""spec/content-v1-vectors.json against sealchat.client.content and RoomTimeline."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

import pytest

from sealchat.client.content import ContentError, parse_content, parse_plaintext
from sealchat.client.room_timeline import RoomTimeline

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "spec" / "content-v1-vectors.json").read_text("utf-8")
)


@pytest.mark.parametrize("vector", VECTORS["content"], ids=lambda v: v["name"])
def test_content(vector: dict[str, Any]) -> None:
    if vector["valid"]:
        assert parse_plaintext(vector["plaintext"]).to_json() == vector["parsed"]
        assert parse_plaintext(vector["plaintext"].encode("utf-8")).to_json() == vector["parsed"]
    else:
        with pytest.raises(ContentError) as caught:
            parse_plaintext(vector["plaintext"])
        assert caught.value.reason == vector["error"]


def timeline_after(messages: dict[str, dict[str, Any]], order: list[str]) -> list[object]:
    timeline = RoomTimeline()
    for message_id in order:
        m = messages[message_id]
        timeline.add(m["id"], m["seq"], m["sender_id"], parse_content(m["content"]))
    return [item.to_json() for item in timeline.items()]


def orders(ids: list[str]) -> list[list[str]]:
    """Every order for small cases, else seq order, reversed and some shuffles."""
    if len(ids) <= 6:
        return [list(p) for p in itertools.permutations(ids)]
    rng = random.Random(15)
    shuffled = [rng.sample(ids, len(ids)) for _ in range(200)]
    return [ids, ids[::-1], *shuffled]


@pytest.mark.parametrize("vector", VECTORS["aggregation"], ids=lambda v: v["name"])
def test_aggregation(vector: dict[str, Any]) -> None:
    messages = {m["id"]: m for m in vector["messages"]}
    assert timeline_after(messages, vector["arrival_order"]) == vector["expected"]
    by_seq = [m["id"] for m in sorted(vector["messages"], key=lambda m: m["seq"])]
    for order in orders(by_seq):
        assert timeline_after(messages, order) == vector["expected"], order


def test_the_vector_file_is_up_to_date() -> None:
    import subprocess
    import sys

    tool = Path(__file__).resolve().parents[2] / "tools" / "make-content-vectors"
    subprocess.run([sys.executable, str(tool), "--check"], check=True)
