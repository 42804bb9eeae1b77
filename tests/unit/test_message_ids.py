"""Message ids: time-ordered UUIDs (version 7), so new rows land at the end of the index."""

from __future__ import annotations

import time
import uuid

from sealchat.services.messages import new_message_id


def test_message_ids_are_uuid7_with_the_current_time_and_unique() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_message_id() for _ in range(5000)]  # more than one block of random bytes
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text  # the canonical spelling
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert before <= parsed.int >> 80 <= after


def test_message_ids_sort_by_creation_across_milliseconds() -> None:
    first = new_message_id()
    time.sleep(0.002)
    second = new_message_id()
    assert first < second
