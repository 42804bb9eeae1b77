"""Broadcast to a room of hundreds: Sealchat against Node's socket.io, in the same run.

    python bench/broadcast.py [--recipients 50,200,500] [--messages N] [--plot out.png]

Starts every server once, each pinned to one core (``taskset``), and drives each in
turn with the same Node load generator (bench/node/load.mjs, pinned to another core):
N receiver sockets in one room and one sender that sends messages with acks, a few in
flight. Per cell it reports deliveries per second, send-to-delivery latency, the
server's CPU time per delivery (from /proc, so it counts whether or not the server was
the bottleneck), the event-loop stalls seen by a 2 ms timer inside the server, and the
latency of one broadcast at a time to an otherwise idle server.
See docs/benchmarks.md for what the numbers mean.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import itertools
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
NODE_DIR = BENCH / "node"
RESULTS = BENCH / "results"

# Cheap argon2 (setup registers two users) and a rate limit the benchmark never meets.
SEALCHAT_ENV = {
    "SEALCHAT_ARGON2_TIME_COST": "1",
    "SEALCHAT_ARGON2_MEMORY_KIB": "8192",
    "SEALCHAT_ARGON2_PARALLELISM": "1",
    "SEALCHAT_MESSAGE_RATE_PER_SECOND": "1000000",
    "SEALCHAT_MESSAGE_RATE_BURST": "1000000",
    "SEALCHAT_ACCESS_TOKEN_TTL_SECONDS": "3600",
    "SEALCHAT_LOG_LEVEL": "warning",
    # Every client of the load generator comes from 127.0.0.1.
    "SEALCHAT_MAX_CONNECTIONS_PER_ADDRESS": "0",
}
PASSWORD = "bench-password-not-secret"

# name -> how to start it. "node" is the reference every ratio is taken against.
SERVERS: dict[str, list[str]] = {
    "sealchat": ["--manager", "broadcast"],
    "sealchat-nodeflate": ["--manager", "broadcast", "--no-deflate"],
    "sealchat-stock": ["--manager", "stock"],
    "node": [],
    # Not run by default: experiments that size possible fixes, see docs/benchmarks.md.
    "sealchat-gcfreeze": ["--manager", "broadcast", "--gc-freeze"],
    "sealchat-polltimeout": ["--manager", "broadcast", "--poll-with-timeout"],
    "sealchat-tuned": ["--no-deflate", "--gc-freeze", "--poll-with-timeout"],
}
DEFAULT_SERVERS = ["sealchat", "sealchat-nodeflate", "sealchat-stock", "node"]
REFERENCE = "node"


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    sender_auth: dict[str, str] = field(default_factory=dict)
    receiver_auth: dict[str, str] = field(default_factory=dict)
    room_id: str = "bench"

    def cpu_seconds(self) -> tuple[float, float]:
        """User + system CPU of the server process: all threads, and its main thread.

        A Python server's main thread runs the event loop; the others are the SQLite
        driver's worker threads and the thread pool (argon2, sync routes).
        """
        pid = self.process.pid
        return _cpu(Path(f"/proc/{pid}/stat")), _cpu(Path(f"/proc/{pid}/task/{pid}/stat"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def machine_busy_seconds() -> float:
    """CPU time all processes of the machine used so far (every core), from /proc/stat."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _cpu(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pinned(core: int | None, command: list[str]) -> list[str]:
    return command if core is None else ["taskset", "-c", str(core), *command]


def pick_cores(no_pin: bool) -> tuple[int | None, int | None, str]:
    """One core for the server under test, another for the load generator."""
    cores = sorted(os.sched_getaffinity(0))
    if no_pin:
        return None, None, "not pinned (--no-pin)"
    if shutil.which("taskset") is None or len(cores) < 2:
        return None, None, "not pinned (needs taskset and two cores)"
    return cores[0], cores[1], f"server on core {cores[0]}, load generator on core {cores[1]}"


def start_server(name: str, core: int | None, workdir: Path) -> Server:
    port = free_port()
    data_dir = workdir / name
    data_dir.mkdir(parents=True)
    log_path = data_dir / "server.log"
    if name == REFERENCE:
        command = ["node", str(NODE_DIR / "reference-server.mjs"), str(port)]
        env = dict(os.environ)
    else:
        command = [sys.executable, str(BENCH / "sealchat_server.py"), *SERVERS[name]]
        # A developer's own SEALCHAT_* settings (a PostgreSQL URL, say) must not leak in.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("SEALCHAT_")}
        env = {
            **inherited,
            **SEALCHAT_ENV,
            "SEALCHAT_HOST": "127.0.0.1",
            "SEALCHAT_PORT": str(port),
            "SEALCHAT_DATA_DIR": str(data_dir),
        }
    with log_path.open("wb") as log:
        # cwd: a data dir of its own, so no stray .env is read.
        process = subprocess.Popen(
            pinned(core, command), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=data_dir
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} did not start in 30 s")


def prepare_sealchat(server: Server) -> None:
    """Two users (a sender, a receiver with many sockets) and a room with both in it."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        tokens = {}
        for username in ("sender", "receiver"):
            reply = http.post(
                "/api/auth/register", json={"username": username, "password": PASSWORD}
            )
            reply.raise_for_status()
            tokens[username] = reply.json()["access_token"]
        owner = {"authorization": f"Bearer {tokens['sender']}"}
        reply = http.post("/api/rooms", json={"name": "bench"}, headers=owner)
        reply.raise_for_status()
        server.room_id = reply.json()["room"]["id"]
        reply = http.post(
            f"/api/rooms/{server.room_id}/members", json={"username": "receiver"}, headers=owner
        )
        reply.raise_for_status()
        # Adding someone invites them; they are a member once they accept.
        reply = http.post(
            f"/api/invitations/{server.room_id}/accept",
            headers={"authorization": f"Bearer {tokens['receiver']}"},
        )
        reply.raise_for_status()
    server.sender_auth = {"token": tokens["sender"]}
    server.receiver_auth = {"token": tokens["receiver"]}


def run_cell(
    server: Server, load_core: int | None, recipients: int, args: argparse.Namespace
) -> dict[str, Any]:
    """One server, one room size: connect, warm up, then measure."""
    config = {
        "url": server.url,
        "senderAuth": server.sender_auth or {"room": server.room_id},
        "receiverAuth": server.receiver_auth or {"room": server.room_id},
        "roomId": server.room_id,
        "recipients": recipients,
        "messages": args.messages,
        "seconds": args.seconds,
        "latencyMessages": args.latency_messages,
        "inflight": args.inflight,
        "ctBytes": args.ct_bytes,
        "tag": f"{recipients}-{time.monotonic_ns()}",
        "receivers": args.receivers,
    }
    load = subprocess.Popen(
        pinned(load_core, ["node", str(NODE_DIR / "load.mjs"), json.dumps(config)]),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert load.stdin is not None and load.stdout is not None

    def expect(phase: str) -> dict[str, Any]:
        assert load.stdout is not None
        line = json.loads(load.stdout.readline() or '{"phase": "exited"}')
        if line.get("phase") != phase:
            raise RuntimeError(f"load generator against {server.name}: {line}")
        return dict(line)

    def go() -> None:
        assert load.stdin is not None
        load.stdin.write("go\n")
        load.stdin.flush()

    try:
        expect("ready")
        profiler = start_profiler(server, recipients, args.profile)
        httpx.get(f"{server.url}/_bench/lag/start", timeout=10).raise_for_status()
        cpu0, wall0, busy0 = server.cpu_seconds(), time.monotonic(), machine_busy_seconds()
        go()
        measured = expect("measured")
        cpu1, wall1, busy1 = server.cpu_seconds(), time.monotonic(), machine_busy_seconds()
        stop_profiler(profiler)
        lag = httpx.get(f"{server.url}/_bench/lag/stop", timeout=10).json()
        go()
        latency = expect("done")
    except BaseException:
        load.kill()
        load.wait()
        raise
    load.stdin.close()
    if load.wait(timeout=30) != 0:
        raise RuntimeError(f"load generator against {server.name} failed")
    cpu, main_cpu = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    # What the rest of the machine used meanwhile, in cores: on a shared machine, a cell
    # with much of it was slowed down by others.
    others = busy1 - busy0 - cpu - measured["loadCpu"] * measured["seconds"]
    return {
        **measured,
        **latency,
        "server": server.name,
        "serverCpuSeconds": cpu,
        "mainThreadCpuSeconds": main_cpu,
        "serverCpu": cpu / (wall1 - wall0),
        "otherCpu": max(0.0, others / (wall1 - wall0)),
        "cpuUsPerDelivery": cpu / measured["delivered"] * 1e6,
        "cpuUsPerMessage": cpu / measured["messages"] * 1e6,
        "lagMax": lag["max"],
        "lagP99": lag["p99"],
        "gc": lag.get("gc"),  # Python servers only
    }


def start_profiler(
    server: Server, recipients: int, directory: Path | None
) -> subprocess.Popen[bytes] | None:
    """py-spy on a Sealchat server for the throughput phase (collapsed stacks)."""
    if directory is None or server.name == REFERENCE:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    output = directory / f"{server.name}-{recipients}.txt"
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if py_spy is None:
        sys.exit("--profile needs py-spy (`pip install py-spy` into the venv)")
    command = [py_spy, "record", "--pid", str(server.process.pid), "--format", "raw"]
    # Blocking sampling (the default) pauses the server briefly at each sample, which slows
    # it down but keeps the shares right; --nonblocking loses most samples under uvloop.
    # Numbers from a profiled run are not benchmark results.
    command += ["--rate", "200", "--threads", "--output", str(output)]
    profiler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # let it attach before the phase starts
    return profiler


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(timeout=30)


def progress_line(row: dict[str, Any]) -> str:
    return (
        f"{row['recipients']:>5} {row['server']:<20} "
        f"{row['deliveriesPerSecond']:>10,.0f} deliveries/s  "
        f"{row['cpuUsPerDelivery']:6.2f} CPU µs/delivery  "
        f"p50 {row['p50']:.1f} ms  p99 {row['p99']:.1f} ms  "
        f"server CPU {row['serverCpu']:.0%}  load CPU {row['loadCpu']:.0%}  "
        f"others {row['otherCpu']:.0%}"
    )


def fastest_per_cell(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (recipients, server), the run with the most deliveries/s: on a shared
    machine, interference only ever slows a run down."""
    best: dict[tuple[int, str], dict[str, Any]] = {}
    for run in runs:
        key = (run["recipients"], run["server"])
        if key not in best or run["deliveriesPerSecond"] > best[key]["deliveriesPerSecond"]:
            best[key] = run
    return list(best.values())


def marginal_costs(rows: list[dict[str, Any]]) -> list[tuple[int, int, float]]:
    """Server CPU per extra recipient between consecutive room sizes, in µs.

    From CPU per message at each size: (cost(b) - cost(a)) / (b - a). A straight line
    through all sizes would hide that the cost per recipient is not constant.
    """
    points = sorted((r["recipients"], r["cpuUsPerMessage"]) for r in rows)
    return [(a, b, (cb - ca) / (b - a)) for (a, ca), (b, cb) in itertools.pairwise(points)]


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def render(rows: list[dict[str, Any]], servers: list[str]) -> str:
    head = (
        "| recipients | server | deliveries/s | p50 ms | p99 ms | server CPU | load / others CPU | "
        "server CPU µs/delivery | loop stall p99 / max ms | deliveries/s vs node | "
        "CPU/delivery vs node |"
    )
    lines = [head, "|" + "---|" * 11]
    for recipients in sorted({r["recipients"] for r in rows}):
        cell = {r["server"]: r for r in rows if r["recipients"] == recipients}
        ref = cell.get(REFERENCE)
        for name in servers:
            r = cell.get(name)
            if r is None:
                continue
            vs_thr = vs_cpu = "-"
            if ref is not None and name != REFERENCE:
                vs_thr = f"{r['deliveriesPerSecond'] / ref['deliveriesPerSecond']:.2f}"
                vs_cpu = f"{r['cpuUsPerDelivery'] / ref['cpuUsPerDelivery']:.1f}x"
            lines.append(
                f"| {recipients} | {name} | {fmt(r['deliveriesPerSecond'], 0)} | "
                f"{fmt(r['p50'])} | {fmt(r['p99'])} | {r['serverCpu']:.0%} | "
                f"{r['loadCpu']:.0%} / {r['otherCpu']:.0%} | "
                f"{fmt(r['cpuUsPerDelivery'], 2)} | {fmt(r['lagP99'])} / {fmt(r['lagMax'])} | "
                f"{vs_thr} | {vs_cpu} |"
            )
    steps = {name: marginal_costs([r for r in rows if r["server"] == name]) for name in servers}
    spans = [f"{a}→{b}" for a, b, _ in next(iter(steps.values()), [])]
    if spans:
        lines += ["", "Server CPU µs per extra recipient (from CPU per message):", ""]
        lines += ["| server | " + " | ".join(spans) + " |", "|---|" + "---|" * len(spans)]
        for name, costs in steps.items():
            lines.append(f"| {name} | " + " | ".join(f"{c:.1f}" for _, _, c in costs) + " |")
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], servers: list[str], path: Path) -> None:
    try:
        # Optional, and not a project dependency: imported by name so mypy need not know it.
        importlib.import_module("matplotlib").use("Agg")
        plt = importlib.import_module("matplotlib.pyplot")
        ticker = importlib.import_module("matplotlib.ticker")
    except ImportError:
        print(f"note: matplotlib is not installed; no plot written to {path}")
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name in servers:
        mine = sorted((r for r in rows if r["server"] == name), key=lambda r: r["recipients"])
        xs = [r["recipients"] for r in mine]
        left.plot(xs, [r["deliveriesPerSecond"] for r in mine], marker="o", label=name)
        right.plot(xs, [r["cpuUsPerDelivery"] for r in mine], marker="o", label=name)
    left.set(xlabel="recipients", ylabel="deliveries/s", title="Throughput (one server core)")
    right.set(xlabel="recipients", ylabel="server CPU µs per delivery", title="Cost per delivery")
    right.set_yscale("log")
    right.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    right.yaxis.set_minor_formatter(ticker.FormatStrFormatter("%g"))
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", default="50,200,500", help="room sizes, comma-separated")
    parser.add_argument(
        "--messages", type=int, default=None, help="messages per cell (default: see --seconds)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=2.5,
        help="without --messages: send as many as take about this long (from the warm-up)",
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs per cell; the fastest is reported"
    )
    parser.add_argument(
        "--latency-messages", type=int, default=50, help="messages sent one at a time for latency"
    )
    parser.add_argument("--inflight", type=int, default=4, help="unacknowledged sends at once")
    parser.add_argument("--ct-bytes", type=int, default=200, help="ciphertext bytes per message")
    parser.add_argument(
        "--receivers",
        choices=["raw", "client"],
        default="raw",
        help="receiver sockets: minimal ws clients (light) or socket.io-client (heavier)",
    )
    parser.add_argument(
        "--servers",
        default=",".join(DEFAULT_SERVERS),
        help=f"which servers, in order, of {', '.join(SERVERS)}",
    )
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG (needs matplotlib)")
    parser.add_argument(
        "--profile", type=Path, default=None, help="py-spy the Sealchat servers into this dir"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    sizes = [int(n) for n in args.recipients.split(",")]
    names = [n.strip() for n in args.servers.split(",")]
    unknown = [n for n in names if n not in SERVERS]
    if unknown:
        sys.exit(f"unknown servers {unknown}; choose from {list(SERVERS)}")
    if not (NODE_DIR / "node_modules" / "socket.io").is_dir():
        sys.exit("run `npm ci` in bench/node first (Node.js 20+)")
    server_core, load_core, pinning = pick_cores(args.no_pin)
    if load_core is not None:
        os.sched_setaffinity(0, {load_core})  # this script stays off the server's core
    print(f"pinning: {pinning}", flush=True)

    all_rows: list[dict[str, Any]] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sealchat-bench-") as tmp:
        servers: list[Server] = []
        try:
            for name in names:
                server = start_server(name, server_core, Path(tmp))
                servers.append(server)
                if name != REFERENCE:
                    prepare_sealchat(server)
            # Servers innermost, so each ratio compares runs seconds apart; every repeat
            # reverses the server order so that none always runs first.
            for repeat in range(args.repeat):
                order = servers if repeat % 2 == 0 else servers[::-1]
                for recipients in sizes:
                    for server in order:
                        row = run_cell(server, load_core, recipients, args)
                        row["repeat"] = repeat
                        all_rows.append(row)
                        print(progress_line(row), flush=True)
        finally:
            for server in servers:
                server.stop()

    rows = fastest_per_cell(all_rows)
    table = render(rows, names)
    print()
    print(table)
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"broadcast-{stamp}.json"
    meta = {
        "date": stamp,
        "seconds": round(time.monotonic() - started, 1),
        "pinning": pinning,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "node": subprocess.run(
            ["node", "--version"], capture_output=True, text=True
        ).stdout.strip(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    out.write_text(
        json.dumps({"meta": meta, "rows": rows, "allRuns": all_rows, "table": table}, indent=2)
    )
    print(f"\nraw results: {out.relative_to(BENCH.parent)} ({meta['seconds']} s)")
    if args.plot is not None:
        plot(rows, names, args.plot)


if __name__ == "__main__":
    main()
