"""Messages per second in small rooms: the highest offered rate a server keeps up with.

A room of M members, every member sending with acks (bench/node/rooms.mjs, one raw
client per member, pinned to the load core). The driver offers a rate for a fixed time
(one *step*, open loop) and checks the step: every ack ok, every message complete (ack
and all M - 1 deliveries) within the grace time, and send-to-ack/delivery p99 within the
limit (50 ms). The search:

1. a closed-loop probe (each member keeps 8 sends unacknowledged) estimates what the
   server can carry, C;
2. steps up from C / 2 by ``factor`` while they pass (to at most 4 C), or down by halves
   while they fail; a rate fails only if two steps in a row at it fail, or four while
   other jobs used over a quarter of a core (on a shared machine, one hiccup of another
   job can fail a step);
3. ``bisect`` steps between the last rate that passed and the first that failed.

The result is the highest rate that passed, with its p50/p99 and the load generator's CPU
(a step where it used over 90 % of its core is flagged: the load, not the server, may
have been the limit).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from servers import NODE_DIR, Server, machine_busy_seconds, pinned

ROOM_SIZES = (2, 10)
P99_LIMIT_MS = 50.0
LOAD_BOUND = 0.9
NOISY = 0.25  # cores used by other jobs during a step


def rooms_for(sizes: list[int]) -> dict[str, list[str]]:
    """One room per size; members m0..m{n-1} (m0 creates each room)."""
    return {f"room{n}": [f"m{i}" for i in range(n)] for n in sizes}


@dataclass
class SearchSettings:
    step_seconds: float = 3.0
    probe_seconds: float = 1.5
    factor: float = 1.5
    bisect: int = 3
    grace: float = 1.0
    drain: float = 5.0
    max_steps: int = 12  # a cap on the steps of one search, retries included
    ct_bytes: int = 200
    min_rate: float = 5.0
    tries: int = 4  # at most, at one rate, while other jobs use the machine (NOISY)


def passed(step: dict[str, Any]) -> bool:
    return bool(
        step["late"] == 0
        and step["ackErrors"] == 0
        and step["p99"] is not None
        and step["p99"] <= P99_LIMIT_MS
    )


class RoomLoad:
    """The rooms.mjs process for one server and one room."""

    def __init__(self, server: Server, size: int, core: int | str | None, ct_bytes: int) -> None:
        room = f"room{size}"
        config = {
            "url": server.url,
            "roomId": server.room_ids[room],
            "members": [server.auth(f"m{i}", room) for i in range(size)],
            "ctBytes": ct_bytes,
            "tag": f"r{size}-{time.monotonic_ns()}",
        }
        command = ["node", str(NODE_DIR / "rooms.mjs"), json.dumps(config)]
        self.process = subprocess.Popen(
            pinned(core, command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.ask(None, "ready")

    def ask(self, command: dict[str, Any] | None, phase: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        if command is not None:
            self.process.stdin.write(json.dumps(command) + "\n")
            self.process.stdin.flush()
        line = json.loads(self.process.stdout.readline() or '{"phase": "exited"}')
        if line.get("phase") != phase:
            raise RuntimeError(f"rooms.mjs: {line}")
        return dict(line)

    def close(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def search(server: Server, size: int, core: int | None, settings: SearchSettings) -> dict[str, Any]:
    """The highest offered rate (messages/s) that ``server`` passes in a room of ``size``."""
    load = RoomLoad(server, size, server.load_core(core), settings.ct_bytes)
    steps: list[dict[str, Any]] = []
    try:
        probe = load.ask({"probe": settings.probe_seconds, "window": 8}, "probe")
        capacity = max(settings.min_rate * 2, probe["messagesPerSecond"])

        def step(rate: float) -> bool:
            # On a shared machine one hiccup can fail a step: a rate fails only when
            # two steps in a row at it fail, or, while other jobs kept the machine busy,
            # when `tries` steps in a row fail.
            for attempt in range(1, settings.tries + 1):
                if measure(rate):
                    return True
                if attempt >= 2 and steps[-1]["otherCpu"] < NOISY:
                    break
            return False

        def measure(rate: float) -> bool:
            cpu0, wall0, busy0 = server.cpu_seconds()[0], time.monotonic(), machine_busy_seconds()
            command = {
                "rate": rate,
                "seconds": settings.step_seconds,
                "grace": settings.grace,
                "drain": settings.drain,
            }
            result = load.ask(command, "step")
            cpu, wall = server.cpu_seconds()[0] - cpu0, time.monotonic() - wall0
            busy = machine_busy_seconds() - busy0
            result["serverCpu"] = cpu / wall
            # Load CPU is over the step and grace only; a rough share, to spot noise.
            result["otherCpu"] = max(0.0, (busy - cpu) / wall - result["loadCpu"])
            result["passed"] = passed(result)
            steps.append(result)
            return bool(result["passed"])

        good, bad = 0.0, 0.0
        rate = round(capacity / 2)
        while len(steps) < settings.max_steps:
            if step(rate):
                good = rate
                if bad or rate * settings.factor > 4 * capacity:
                    break
                rate = round(rate * settings.factor)
            else:
                bad = rate
                if good or rate / 2 < settings.min_rate:
                    break
                rate = round(rate / 2)
        for _ in range(settings.bisect):
            if not (good and bad) or bad - good <= max(1.0, good * 0.02):
                break
            if len(steps) >= settings.max_steps:
                break
            middle = round((good + bad) / 2)
            if step(middle):
                good = middle
            else:
                bad = middle
    finally:
        load.close()
    best = max((s for s in steps if s["passed"]), key=lambda s: s["offered"], default=None)
    return {
        "server": server.name,
        "members": size,
        "probeMessagesPerSecond": probe["messagesPerSecond"],
        "rate": best["offered"] if best else 0.0,
        "p50": best["p50"] if best else None,
        "p99": best["p99"] if best else None,
        "serverCpu": best["serverCpu"] if best else None,
        "loadCpu": best["loadCpu"] if best else None,
        "otherCpu": best["otherCpu"] if best else None,
        # The load generator near its core's limit at the best rate or the first failure.
        "loadBound": any(s["loadCpu"] > LOAD_BOUND for s in steps if s["offered"] in (good, bad)),
        "firstFailed": bad or None,
        "steps": steps,
    }


def progress_line(row: dict[str, Any]) -> str:
    flag = "  LOAD-BOUND" if row["loadBound"] else ""
    p99 = "-" if row["p99"] is None else f"{row['p99']:.1f}"
    failed = f", failed at {row['firstFailed']:,.0f}" if row["firstFailed"] else ""
    return (
        f"{row['members']:>5} {row['server']:<14} {row['rate']:>8,.0f} messages/s "
        f"(p99 {p99} ms{failed}; {len(row['steps'])} steps){flag}"
    )
