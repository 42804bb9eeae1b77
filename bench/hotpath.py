"""The hot-path benchmark: Sealchat against Node's socket.io and the floor, in one run.

    python bench/hotpath.py --quick      # under 3 minutes
    python bench/hotpath.py              # the full run, under 20 minutes

Starts every server (bench/servers.py), each pinned to one core, and measures them cell
by cell with Node load generators pinned to the other core (except ``sealchat-2nodes``,
two nodes behind nginx, not pinned: bench/nodes.py), servers innermost so that the
ratios compare runs seconds apart:

1. small rooms (bench/smallrooms.py): the highest offered messages/s each server serves
   with p99 <= 50 ms and nothing lost, every member sending with acks;
2. fan-out (bench/broadcast.py): CPU per delivery, event-loop stalls and p99 at a fixed
   moderate load, broadcasting to rooms of 50, 500 and 2,000.

It prints its progress per cell to stderr, saves everything to bench/results/, writes
the results section of docs/benchmarks.md (between its markers) and PNG plots beside
it. See docs/benchmarks.md for what each column means.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import itertools
import json
import os
import platform
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import broadcast
import report
import smallrooms
from servers import (
    BENCH,
    DEFAULT_PG_URL,
    DEFAULT_REDIS_URL,
    DEFAULT_SERVERS,
    NODE_DIR,
    SERVERS,
    Server,
    cpu_model,
    pick_cores,
    prepare,
    raise_fd_limit,
    start_server,
)

DOC = BENCH.parent / "docs" / "benchmarks.md"
RESULTS = BENCH / "results"
PY_PACKAGES = ["uvicorn", "uvloop", "websockets", "python-socketio", "python-engineio"]
PY_PACKAGES += ["SQLAlchemy", "aiosqlite", "asyncpg"]
NODE_PACKAGES = ["socket.io", "express", "jose", "better-sqlite3", "ws"]


@dataclass
class Preset:
    search: smallrooms.SearchSettings
    seconds: float  # each fan-out phase
    latency_messages: int
    paced_min_messages: int
    rooms: str = "2,10"
    fanout: str = "50,500,2000"


QUICK = Preset(
    smallrooms.SearchSettings(
        step_seconds=1.0, probe_seconds=0.6, bisect=1, grace=0.5, drain=2.0, max_steps=7
    ),
    seconds=1.0,
    latency_messages=10,
    paced_min_messages=10,
    fanout="50,2000",
)
FULL = Preset(smallrooms.SearchSettings(), seconds=2.5, latency_messages=50, paced_min_messages=30)


TWO_NODES_NOTE = (
    "sealchat-2nodes: two `sealchat serve` nodes on PostgreSQL + Redis behind nginx "
    "(deploy/nginx/sealchat.conf, one worker); the load connects to nginx, whose least_conn "
    "puts about half the receivers on the node the sender is not on (their deliveries cross "
    "Redis). Not pinned: two nodes cannot share one core, so both nodes, nginx and this "
    "row's load generator may run on either core (the other rows keep server core / load "
    "core), and its load generator competes with the servers. Its server CPU is both nodes "
    "+ their PostgreSQL backends + nginx; Redis (a shared server) is not counted and shows "
    "as other jobs' CPU. Stalls: the worse node's."
)


def sizes(option: str | None, default: str) -> list[int]:
    return [int(n) for n in (default if option is None else option).split(",") if n.strip()]


class Progress:
    """One line per cell on stderr: which cell, how far, how long so far."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()

    def say(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[{self.done:>2}/{self.total} {elapsed:5.0f} s] {text}", file=sys.stderr, flush=True)

    def step(self, text: str) -> None:
        self.done += 1
        self.say(text)


def versions() -> dict[str, str]:
    found = {"Python": platform.python_version()}
    for name in PY_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    found["Node"] = node.stdout.strip()
    for name in NODE_PACKAGES:
        package = NODE_DIR / "node_modules" / name / "package.json"
        if package.exists():
            found[name] = json.loads(package.read_text())["version"]
    return found


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short steps and phases (< 3 min)")
    parser.add_argument(
        "--servers", default=",".join(DEFAULT_SERVERS), help=f"of {', '.join(SERVERS)}"
    )
    parser.add_argument("--rooms", help="small-room sizes (default 2,10; empty: skip)")
    parser.add_argument("--fanout", help="fan-out room sizes (default 50,500,2000; empty: skip)")
    parser.add_argument(
        "--fanout-rate", type=float, default=10_000, help="paced fan-out: deliveries/s offered"
    )
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help="sealchat-2nodes' Redis (a channel and key prefix of the run's own)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="py-spy the Sealchat servers' saturated fan-out phases into this directory "
        "(bench/profile_summary.py reads them; a profiled run's numbers are not results)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure every cell this many times, the servers taking turns; the tables show "
        "each cell's median run (small rooms by messages/s, fan-out by CPU per delivery)",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    return parser.parse_args()


def measured(
    progress: Progress,
    cell: dict[str, Any],
    run: Callable[[], dict[str, Any]],
    line: Callable[[dict[str, Any]], str],
) -> dict[str, Any]:
    """One cell's row: what ``run`` measured, or ``cell`` with the error that stopped it
    (the run goes on with the next cell)."""
    try:
        row = run()
        progress.step("  " + line(row))
    except Exception as exc:
        row = {**cell, "error": str(exc)}
        progress.step(f"  failed: {exc}")
    return row


def main() -> None:
    args = parse_args()
    preset = QUICK if args.quick else FULL
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    if unknown := [n for n in names if n not in SERVERS]:
        sys.exit(f"unknown servers {unknown}; choose from {list(SERVERS)}")
    if not (NODE_DIR / "node_modules" / "better-sqlite3").is_dir():
        sys.exit("run `npm ci` in bench/node first (Node.js 20+)")
    room_sizes = sizes(args.rooms, preset.rooms)
    fanout_sizes = sizes(args.fanout, preset.fanout)
    search = preset.search
    cell_args = argparse.Namespace(
        seconds=preset.seconds,
        latency_messages=preset.latency_messages,
        paced_min_messages=preset.paced_min_messages,
        fanout_rate=args.fanout_rate,
        inflight=4,
        ct_bytes=200,
        timeout=30 if args.quick else 60,
        profile=args.profile,
    )
    fds = raise_fd_limit()
    server_core, load_core, pinning = pick_cores(args.no_pin)
    if load_core is not None:
        os.sched_setaffinity(0, {load_core})  # this script stays off the servers' core
    loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    repeat = max(1, args.repeat)
    progress = Progress(len(names) * (1 + repeat * (len(room_sizes) + len(fanout_sizes))))
    progress.say(f"pinning: {pinning}; open files up to {fds}; load average {loadavg}")
    secret = secrets.token_urlsafe(32)
    rooms = smallrooms.rooms_for(room_sizes) | broadcast.ROOMS
    small: list[dict[str, Any]] = []
    fanout: list[dict[str, Any]] = []
    notes: list[str] = []
    if "sealchat-2nodes" in names:
        notes.append(TWO_NODES_NOTE)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sealchat-bench-") as tmp:
        servers: list[Server] = []
        try:
            for name in names:
                try:
                    server = start_server(
                        name, server_core, Path(tmp), secret, args.pg_url, args.redis_url
                    )
                    try:
                        prepare(server, rooms, secret)
                    except BaseException:
                        server.stop()
                        raise
                    servers.append(server)
                    progress.step(f"started {name} at {server.url}")
                except Exception as exc:  # a server that cannot start is reported, not fatal
                    notes.append(f"{name} did not start: {str(exc).splitlines()[0][:200]}")
                    progress.step(f"{name} did not start: {exc}")
            # With --repeat, the servers take turns (a, b, c, a, b, c, ...) so that a slow
            # spell of the shared machine falls on all of them alike.
            for size, _, server in itertools.product(room_sizes, range(repeat), servers):
                progress.say(f"small rooms, {size} members, {server.name} ...")
                small.append(
                    measured(
                        progress,
                        {"server": server.name, "members": size},
                        functools.partial(smallrooms.search, server, size, load_core, search),
                        smallrooms.progress_line,
                    )
                )
            for size, _, server in itertools.product(fanout_sizes, range(repeat), servers):
                progress.say(f"fan-out, {size} receivers, {server.name} ...")
                fanout.append(
                    measured(
                        progress,
                        {"server": server.name, "recipients": size},
                        functools.partial(broadcast.run_cell, server, load_core, size, cell_args),
                        broadcast.progress_line,
                    )
                )
        finally:
            for server in servers:
                server.stop()
    stamp = dt.datetime.now(dt.UTC)
    result: dict[str, Any] = {
        "meta": {
            "command": shlex.join(["python", "bench/hotpath.py", *sys.argv[1:]]),
            "date": stamp.strftime("%Y-%m-%d %H:%M UTC"),
            "mode": "quick" if args.quick else "full",
            "seconds": time.monotonic() - started,
            "servers": [s.name for s in servers],
            "pinning": pinning,
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "loadavg": loadavg,
            "versions": versions(),
            "fanoutRate": args.fanout_rate,
            "repeat": repeat,
            "search": vars(search),
        },
        "smallRooms": report.median_rows(small, "members", "rate"),
        "fanout": report.median_rows(
            fanout, "recipients", "cpuUsPerDelivery", own_medians=("pacedP50", "pacedP99")
        ),
        "notes": notes,
        "plots": [],
    }
    if repeat > 1:  # every run, besides the median ones above
        result["smallRoomsRuns"], result["fanoutRuns"] = small, fanout
    RESULTS.mkdir(exist_ok=True)
    plots, why_not = report.plot(result, RESULTS if args.no_docs else DOC.parent)
    result["plots"] = [str(p) for p in plots]
    if why_not:
        notes.append(why_not)
    out = RESULTS / f"hotpath-{stamp.strftime('%Y%m%dT%H%M%SZ')}.json"
    report.save_json(out, result)
    section = report.render(result)
    print(section)
    if not args.no_docs:
        report.write_docs(DOC, section)
    print(
        f"\nresults: {out.relative_to(BENCH.parent)}"
        + ("" if args.no_docs else f"; {DOC.relative_to(BENCH.parent)} rewritten")
        + f" ({result['meta']['seconds']:.0f} s)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
