"""Run ``sealchat serve`` for bench/broadcast.py, with bench-only switches.

    python bench/sealchat_server.py [--manager broadcast|stock] [--deflate]
                                    [--gc-freeze] [--poll-with-timeout]

It runs ``sealchat serve`` itself (``sealchat.cli.main``, settings from ``SEALCHAT_*``
variables), so it starts whatever the server ships (uvicorn's arguments, its websocket
protocol class), after monkeypatches that exist only here, never in the server:

- the app is wrapped in an event-loop lag probe, reached at ``/_bench/lag/start`` and
  ``/_bench/lag/stop`` (a 2 ms timer that records how late it fires, and the garbage
  collector's pauses; off until started);
- ``--manager stock`` swaps ``BroadcastManager`` for python-socketio's ``AsyncManager``
  (``sealchat.app`` imported ``build_socketio_server`` by name, so it is patched there);
- ``--deflate`` turns uvicorn's websocket permessage-deflate back on (``serve`` turns it off).

Experiments, to size possible fixes (see docs/benchmarks.md):

- ``--gc-freeze`` calls ``gc.freeze()`` once startup is complete;
- ``--poll-with-timeout`` replaces python-engineio's ``AsyncSocket.poll`` with one that
  waits under ``asyncio.timeout`` instead of ``asyncio.wait_for``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import engineio.async_socket
import engineio.exceptions
import socketio
import uvicorn

import sealchat.app
from sealchat import cli, wiring
from sealchat.settings import Settings

Scope = dict[str, Any]
Asgi = Callable[[Scope, Any, Any], Awaitable[None]]

PROBE_SECONDS = 0.002


class GcPauses:
    """Durations of the garbage collector's runs, by generation (gc.callbacks)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self._started) * 1000))

    def summary(self) -> dict[str, Any]:
        full = [ms for generation, ms in self.pauses if generation == 2]
        return {
            "collections": len(self.pauses),
            "totalMs": sum(ms for _, ms in self.pauses),
            "maxMs": max((ms for _, ms in self.pauses), default=0.0),
            "gen2": len(full),
            "gen2MaxMs": max(full, default=0.0),
        }


class LagProbe:
    """ASGI wrapper with a timer that records how late it fires (the loop's stalls),
    and the garbage collector's pauses over the same window."""

    def __init__(self, app: Asgi, *, freeze_gc: bool = False) -> None:
        self._app = app
        self._freeze_gc = freeze_gc
        self._task: asyncio.Task[None] | None = None
        self._samples: list[float] = []
        self._busy: list[float] = []
        self._gc = GcPauses()

    def __getattr__(self, name: str) -> Any:
        # Anything that looks the app up by attribute (a custom websocket protocol
        # class, say) sees the wrapped app.
        return getattr(self._app, name)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == "/_bench/lag/start":
            self._stop()
            self._samples = []
            self._busy = []
            self._gc = GcPauses()
            gc.callbacks.append(self._gc)
            self._task = asyncio.get_running_loop().create_task(
                self._run(self._samples, self._busy)
            )
            await self._reply(send, {"ok": True})
        elif path == "/_bench/lag/stop":
            self._stop()
            pauses = {**self._gc.summary(), "trackedObjects": len(gc.get_objects())}
            busy = summary(self._busy)
            lag = {**summary(self._samples), "busyP99": busy["p99"], "busyMax": busy["max"]}
            await self._reply(send, {**lag, "gc": pauses})
        elif scope["type"] == "lifespan" and self._freeze_gc:
            await self._app(scope, receive, self._freezing_after_startup(send))
        else:
            await self._app(scope, receive, send)

    @staticmethod
    def _freezing_after_startup(send: Any) -> Any:
        async def send_then_freeze(message: dict[str, Any]) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                # Everything built at startup moves out of the collector's sight.
                gc.freeze()

        return send_then_freeze

    async def _run(self, samples: list[float], busy: list[float]) -> None:
        """Each wake-up's lateness, and how much of it the loop's thread spent on the CPU
        (``busy``: the stall the server caused itself; the rest is other processes
        holding the core, which a shared machine adds to ``samples``)."""
        while True:
            due = time.perf_counter() + PROBE_SECONDS  # finer than uvloop's loop.time()
            cpu = time.thread_time()
            await asyncio.sleep(PROBE_SECONDS)
            late = (time.perf_counter() - due) * 1000
            samples.append(late)
            busy.append(min(late, (time.thread_time() - cpu) * 1000))

    def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._gc in gc.callbacks:
            gc.callbacks.remove(self._gc)

    @staticmethod
    async def _reply(send: Any, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": raw})


def summary(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)

    def at(p: float) -> float | None:
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)] if ordered else None

    return {"samples": len(ordered), "p50": at(0.5), "p99": at(0.99), "max": at(1.0)}


async def poll_with_timeout(self: Any) -> list[Any]:
    """python-engineio's ``AsyncSocket.poll`` with ``asyncio.timeout`` for ``wait_for``.

    On Python 3.11 ``wait_for`` wraps the awaitable in a new task (3.12 no longer does),
    so every wake-up of a socket's writer, that is every delivery, costs a task. Same
    behaviour otherwise: wait for one packet, then take whatever else is queued.
    """
    try:
        async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
            packets = [await self.queue.get()]
        self.queue.task_done()
    except (TimeoutError, asyncio.CancelledError):
        raise engineio.exceptions.QueueEmpty() from None
    if packets == [None]:
        return []
    while True:
        try:
            pkt = self.queue.get_nowait()
        except asyncio.QueueEmpty:
            break
        self.queue.task_done()
        if pkt is None:
            self.queue.put_nowait(None)
            break
        packets.append(pkt)
    return packets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manager", choices=["broadcast", "stock"], default="broadcast")
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument("--gc-freeze", action="store_true")
    parser.add_argument("--poll-with-timeout", action="store_true")
    args = parser.parse_args()

    if args.poll_with_timeout:
        engineio.async_socket.AsyncSocket.poll = poll_with_timeout

    if args.manager == "stock":
        original_build = wiring.build_socketio_server

        def build_stock(settings: Settings) -> socketio.AsyncServer:
            sio = original_build(settings)
            stock = socketio.AsyncManager()
            stock.set_server(sio)
            sio.manager = stock
            return sio

        sealchat.app.build_socketio_server = build_stock  # type: ignore[attr-defined]

    original_create = sealchat.app.create_app
    sealchat.app.create_app = lambda settings: LagProbe(
        original_create(settings), freeze_gc=args.gc_freeze
    )

    if args.deflate:
        original_run = uvicorn.run
        uvicorn.run = lambda app, **kw: original_run(app, **{**kw, "ws_per_message_deflate": True})

    sys.argv = ["sealchat", "serve"]
    cli.main()


if __name__ == "__main__":
    main()
