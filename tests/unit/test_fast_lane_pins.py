"""Fails loudly when an upgrade changes the library internals the fast lane relies on.

If this fails after an upgrade: read sealchat/adapters/fast_lane_pins.py, re-check each
named piece of library code, re-run tests/integration/test_fast_lane.py, then move the pins
there and in requirements/constraints.txt together.
"""

from __future__ import annotations

from pathlib import Path

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
