"""Profile one Sealchat server under a small-room load at a fixed rate (target 1).

    python bench/profile_rooms.py --size 10 --rate 1000 --seconds 8 --out DIR

Starts ``sealchat`` (SQLite) as the benchmark does, offers ``rate`` messages/s in a room of
``size`` members (every member sending, acks), and, with ``--out``, records py-spy raw
stacks of the server meanwhile (``DIR/sealchat-rooms<size>.txt``; summarize with
``bench/profile_summary.py``). Prints the server's CPU per message (all threads and
the event-loop thread) and the step's result. Without ``--out`` nothing is sampled, so the
CPU figures are the real ones; with it they are inflated by the sampling.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import tempfile
import time
from pathlib import Path

import broadcast
import smallrooms
from servers import pick_cores, prepare, raise_fd_limit, start_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="sealchat")
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--pg-url", default=None)
    args = parser.parse_args()
    raise_fd_limit()
    server_core, load_core, _ = pick_cores(False)
    if load_core is not None:
        os.sched_setaffinity(0, {load_core})
    secret = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="sealchat-prof-") as tmp:
        server = start_server(args.server, server_core, Path(tmp), secret, args.pg_url)
        try:
            prepare(server, smallrooms.rooms_for([args.size]), secret)
            load = smallrooms.RoomLoad(server, args.size, load_core, 200)
            try:
                load.ask({"rate": args.rate, "seconds": 2, "grace": 1, "drain": 5}, "step")
                profiler = broadcast.start_profiler(server, f"rooms{args.size}", args.out)
                for _ in range(args.repeat):
                    cpu0, main0 = server.cpu_seconds()
                    wall0 = time.monotonic()
                    step = {"rate": args.rate, "seconds": args.seconds, "grace": 1, "drain": 5}
                    result = load.ask(step, "step")
                    cpu1, main1 = server.cpu_seconds()
                    sent = args.rate * args.seconds
                    print(
                        json.dumps(
                            {
                                "server": server.name,
                                "size": args.size,
                                "rate": args.rate,
                                "cpuUsPerMessage": round((cpu1 - cpu0) / sent * 1e6, 1),
                                "loopCpuUsPerMessage": round((main1 - main0) / sent * 1e6, 1),
                                "serverCores": round((cpu1 - cpu0) / (time.monotonic() - wall0), 3),
                                "p50": result.get("p50"),
                                "p99": result.get("p99"),
                                "late": result.get("late"),
                                "ackErrors": result.get("ackErrors"),
                                "firstError": result.get("firstError"),
                            }
                        ),
                        flush=True,
                    )
                broadcast.stop_profiler(profiler)
            finally:
                load.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
