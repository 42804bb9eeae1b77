"""spec/content-v1-vectors.json against sealchat.client.content and RoomTimeline."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

import pytest

from sealchat.client.content import (
    ContentError,
    Relation,
    parse_content,
    parse_plaintext,
    relation_matches,
)
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
        if "deletes" in m:
            timeline.delete(m["deletes"])
        elif m.get("deleted"):
            found = m["relates_to"]
            relation = None if found is None else Relation(found["type"], found["message_id"])
            timeline.add_deleted(m["id"], m["seq"], m["sender_id"], relation)
        else:
            timeline.add(m["id"], m["seq"], m["sender_id"], parse_content(m["content"]))
    return [item.to_json() for item in timeline.items()]


def orders(ids: list[str]) -> list[list[str]]:
    """Every order for small cases, else seq order, reversed and some shuffles."""
    if len(ids) <= 6:
        return [list(p) for p in itertools.permutations(ids)]
    rng = random.Random(15)
    shuffled = [rng.sample(ids, len(ids)) for _ in range(200)]
    return [ids, ids[::-1], *shuffled]


@pytest.mark.parametrize(
    "vector", VECTORS["aggregation"] + VECTORS["deletion"], ids=lambda v: v["name"]
)
def test_aggregation(vector: dict[str, Any]) -> None:
    messages = {m["id"]: m for m in vector["messages"]}
    # The aggregation cases predate deletion: their items are not deleted.
    expected = [{"deleted": False, **item} for item in vector["expected"]]
    assert timeline_after(messages, vector["arrival_order"]) == expected
    by_seq = [m["id"] for m in sorted(vector["messages"], key=lambda m: m["seq"])]
    for order in orders(by_seq):
        assert timeline_after(messages, order) == expected, order


@pytest.mark.parametrize("vector", VECTORS["relation_check"], ids=lambda v: v["name"])
def test_relation_check(vector: dict[str, Any]) -> None:
    content = parse_plaintext(vector["plaintext"])
    assert relation_matches(content, vector["relates_to"]) is vector["valid"]
    if not vector["valid"]:
        assert vector["error"] == "relation_mismatch"


def test_the_vector_file_is_up_to_date() -> None:
    import subprocess
    import sys

    tool = Path(__file__).resolve().parents[2] / "tools" / "make-content-vectors"
    subprocess.run([sys.executable, str(tool), "--check"], check=True)
