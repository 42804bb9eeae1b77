"""Fan-out: one sender broadcasting to a room of N receivers, server by server.

    python bench/broadcast.py [--recipients 50,500,2000] [--servers ...]

bench/hotpath.py runs these cells as its target 2; this entry point runs them alone.
Per cell (one server, one room size) the Node load generator (bench/node/load.mjs,
pinned to the other core) connects N raw receivers and one socket.io-client sender,
warms up, then runs three phases:

1. saturated: 4 sends unacknowledged at a time; deliveries/s, the server's CPU per
   delivery (from /proc, whole process) and the event-loop stalls seen by a 2 ms timer
   inside the server;
2. paced: a fixed moderate load, the same for every server (``--fanout-rate``
   deliveries/s, open loop); send-to-delivery p50/p99 and the stalls again;
3. idle: one broadcast at a time; its p50/p99.

See docs/benchmarks.md for what the numbers mean.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from servers import (
    DEFAULT_SERVERS,
    NODE_DIR,
    REFERENCE,
    SERVERS,
    Server,
    machine_busy_seconds,
    pick_cores,
    pinned,
    prepare,
    raise_fd_limit,
    start_server,
)

ROOM = "fanout"
ROOMS = {ROOM: ["sender", "receiver"]}  # N sockets of one receiving user


def run_cell(
    server: Server, load_core: int | None, recipients: int, args: argparse.Namespace
) -> dict[str, Any]:
    """One server, one room size: connect, warm up, then measure three phases."""
    config = {
        "url": server.url,
        "senderAuth": server.auth("sender", ROOM),
        "receiverAuth": server.auth("receiver", ROOM),
        "roomId": server.room_ids[ROOM],
        "recipients": recipients,
        "messages": None,
        "seconds": args.seconds,
        "latencyMessages": args.latency_messages,
        "inflight": args.inflight,
        "ctBytes": args.ct_bytes,
        "tag": f"{recipients}-{time.monotonic_ns()}",
        "receivers": "raw",
        "pacedRate": args.fanout_rate / recipients,
        "pacedMinMessages": args.paced_min_messages,
        "timeoutSeconds": args.timeout,
    }
    load = subprocess.Popen(
        pinned(
            server.load_core(load_core),
            ["node", str(NODE_DIR / "load.mjs"), json.dumps(config)],
        ),
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

    def lag(command: str) -> dict[str, Any]:
        return server.lag(command)  # every node's probe

    try:
        expect("ready")
        profiler = start_profiler(server, recipients, getattr(args, "profile", None))
        lag("start")
        proxy0 = server.proxy_cpu_seconds()
        cpu0, wall0, busy0 = server.cpu_seconds(), time.monotonic(), machine_busy_seconds()
        go()
        measured = expect("measured")
        cpu1, wall1, busy1 = server.cpu_seconds(), time.monotonic(), machine_busy_seconds()
        proxy_cpu = server.proxy_cpu_seconds() - proxy0
        stop_profiler(profiler)
        saturated_lag = lag("stop")
        lag("start")
        go()
        paced = expect("paced")
        paced_lag = lag("stop")
        go()
        idle = expect("done")
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
        **paced,
        **idle,
        "server": server.name,
        "serverCpuSeconds": cpu,
        "mainThreadCpuSeconds": main_cpu,
        "proxyCpuSeconds": proxy_cpu,  # nginx's part of serverCpuSeconds (sealchat-2nodes)
        "serverCpu": cpu / (wall1 - wall0),
        "otherCpu": max(0.0, others / (wall1 - wall0)),
        "cpuUsPerDelivery": cpu / measured["delivered"] * 1e6,
        "cpuUsPerMessage": cpu / measured["messages"] * 1e6,
        "lagP99": saturated_lag["p99"],
        "lagMax": saturated_lag["max"],
        "pacedLagMax": paced_lag["max"],
        # Of those stalls, the part the server's loop thread was on the CPU (Sealchat only).
        "busyLagMax": saturated_lag.get("busyMax"),
        "pacedBusyLagMax": paced_lag.get("busyMax"),
        "gc": saturated_lag.get("gc"),  # Python servers only
        "loadBound": measured["loadCpu"] > 0.9,
    }


def start_profiler(
    server: Server, recipients: int | str, directory: Path | None
) -> subprocess.Popen[bytes] | None:
    """py-spy on a Sealchat server for the saturated phase (raw collapsed stacks)."""
    if directory is None or not server.name.startswith("sealchat"):
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
    flag = "  LOAD-BOUND" if row["loadBound"] else ""
    proxy = row.get("proxyCpuSeconds") or 0.0
    nginx = f" ({proxy / row['delivered'] * 1e6:.2f} nginx)" if proxy else ""
    return (
        f"{row['recipients']:>5} {row['server']:<14} "
        f"{row['deliveriesPerSecond']:>9,.0f} deliveries/s  "
        f"{row['cpuUsPerDelivery']:6.2f}{nginx} CPU µs/delivery  "
        f"stall max {row['lagMax'] or 0:.1f} ms"
        + (f" (busy {row['busyLagMax']:.1f})  " if row.get("busyLagMax") is not None else "  ")
        + f"paced p99 {row['pacedP99']:.1f} ms  idle p99 {row['p99']:.1f} ms  "
        f"server {row['serverCpu']:.0%} load {row['loadCpu']:.0%} "
        f"others {row['otherCpu']:.0%}{flag}"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=2.5, help="length of each phase")
    parser.add_argument(
        "--fanout-rate",
        type=float,
        default=10_000,
        help="paced phase: deliveries/s offered (messages/s = this / recipients)",
    )
    parser.add_argument(
        "--paced-min-messages", type=int, default=20, help="paced phase: at least this many"
    )
    parser.add_argument(
        "--latency-messages", type=int, default=50, help="idle phase: messages one at a time"
    )
    parser.add_argument("--inflight", type=int, default=4, help="saturated: unacknowledged sends")
    parser.add_argument("--ct-bytes", type=int, default=200, help="ciphertext bytes per message")
    parser.add_argument(
        "--timeout", type=float, default=60, help="a phase not complete after this fails"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="py-spy each Sealchat server's saturated phase into DIR/<server>-<size>.txt",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", default="50,500,2000", help="room sizes")
    parser.add_argument("--servers", default=",".join(DEFAULT_SERVERS), help=", ".join(SERVERS))
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    add_arguments(parser)
    args = parser.parse_args()
    names = [n.strip() for n in args.servers.split(",")]
    if unknown := [n for n in names if n not in SERVERS]:
        sys.exit(f"unknown servers {unknown}; choose from {list(SERVERS)}")
    raise_fd_limit()
    server_core, load_core, pinning = pick_cores(args.no_pin)
    print(f"pinning: {pinning}", file=sys.stderr)
    secret = secrets.token_urlsafe(32)
    rows = []
    with tempfile.TemporaryDirectory(prefix="sealchat-bench-") as tmp:
        for name in names:
            server = start_server(name, server_core, Path(tmp), secret)
            try:
                prepare(server, ROOMS, secret)
                for recipients in (int(n) for n in args.recipients.split(",")):
                    rows.append(run_cell(server, load_core, recipients, args))
                    print(progress_line(rows[-1]), file=sys.stderr)
            finally:
                server.stop()
    print(json.dumps({"reference": REFERENCE, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
