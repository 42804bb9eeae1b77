"""Fails loudly when an upgrade changes the library internals the fast lane relies on.

If this fails after an upgrade: read sealchat/adapters/fast_lane_pins.py, re-check each
named piece of library code, re-run tests/integration/test_fast_lane.py, then move the pins
there and in requirements/constraints.txt together.
"""

from __future__ import annotations

from pathlib import Path

import engineio
import pytest

from sealchat.adapters import fast_lane
from sealchat.adapters.fast_lane_pins import PINNED, internals_problems

CONSTRAINTS = Path(__file__).resolve().parents[2] / "requirements" / "constraints.txt"


def test_installed_libraries_are_the_ones_the_fast_lane_was_written_for() -> None:
    assert internals_problems() == []


def test_constraints_pin_the_same_versions() -> None:
    pins = dict(
        line.split("#")[0].strip().split("==", 1)
        for line in CONSTRAINTS.read_text().splitlines()
        if "==" in line.split("#")[0]
    )
    assert {name: pins.get(name) for name in PINNED} == PINNED


def test_the_server_runs_without_the_lane_when_internals_differ(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(fast_lane, "internals_problems", lambda: ["uvicorn is 9.9"])
    server = fast_lane.LaneServer(fast_lane=True, max_unsent_bytes=1 << 20, async_mode="asgi")
    assert type(server.eio) is engineio.AsyncServer and not server.fast_lane
    assert "fast lane and send buffer cap are off: uvicorn is 9.9" in caplog.text


def test_the_lane_can_be_turned_off_and_the_cap_stays() -> None:
    server = fast_lane.LaneServer(fast_lane=False, max_unsent_bytes=1 << 20, async_mode="asgi")
    assert isinstance(server.eio, fast_lane.LaneEngineServer) and not server.fast_lane
    assert server.eio.max_unsent_bytes == 1 << 20
