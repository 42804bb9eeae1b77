"""terminal_safe: what other people wrote cannot drive the terminal (issue #16 item 8)."""

from __future__ import annotations

import pytest

from sealchat.client.terminal import terminal_safe


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text, émoji 🙂 and\ttab", "plain text, émoji 🙂 and\ttab"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),
        ("a\rb\x08c\x00", "a\\x0db\\x08c\\x00"),
        ("del\x7f c1\x85\x9b\x9d", "del\\x7f c1\\x85\\x9b\\x9d"),
        ("\u202aL\u202bR\u202cP\u202dO\u202eX", "\\u202aL\\u202bR\\u202cP\\u202dO\\u202eX"),
        ("\u2066i\u2067r\u2068f\u2069", "\\u2066i\\u2067r\\u2068f\\u2069"),
        ("\u200e\u200f\u061c\u2028\u2029", "\\u200e\\u200f\\u061c\\u2028\\u2029"),
        ("two\nlines", "two\\x0alines"),
    ],
)
def test_control_and_bidi_characters_are_escaped(raw: str, shown: str) -> None:
    assert terminal_safe(raw) == shown


def test_a_message_keeps_its_lines_marked_as_continuations() -> None:
    forged = "ok\r\n[2026-01-01 00:00] alice: forged\n\x1b[1Aup"
    assert terminal_safe(forged, multiline=True) == (
        "ok\n  | [2026-01-01 00:00] alice: forged\n  | \\x1b[1Aup"
    )
