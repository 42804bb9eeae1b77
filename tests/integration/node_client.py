"""Run the official Node ``socket.io-client`` (tests/node) as a subprocess and talk to it."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parent.parent / "node"


def require_node() -> str:
    node = shutil.which("node")
    installed = (NODE_DIR / "node_modules" / "socket.io-client").is_dir()
    if node is None or not installed:
        pytest.fail(
            "Node.js and tests/node's packages are needed: run `npm ci` in tests/node "
            "(tools/test does this)"
        )
    return node


class NodeClient:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[dict[str, Any]] = []
        self._refs = 0

    @classmethod
    async def start(
        cls, url: str, token: str, transports: tuple[str, ...] = ("websocket",)
    ) -> NodeClient:
        """``transports=("polling",)`` keeps the client on HTTP long-polling."""
        process = await asyncio.create_subprocess_exec(
            require_node(),
            str(NODE_DIR / "chat_client.mjs"),
            url,
            token or "-",
            ",".join(transports),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def next_line(self, timeout: float = 10.0) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not raw:
            raise EOFError("node client exited")
        line: dict[str, Any] = json.loads(raw)
        self.lines.append(line)
        return line

    async def wait(self, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
        for line in self.lines:
            if predicate(line):
                return line
        while True:
            line = await self.next_line(timeout)
            if predicate(line):
                return line

    async def call(self, event: str, data: Any) -> Any:
        assert self.process.stdin is not None
        self._refs += 1
        ref = self._refs
        self.process.stdin.write(
            json.dumps({"ref": ref, "emit": event, "data": data}).encode() + b"\n"
        )
        await self.process.stdin.drain()
        reply = await self.wait(lambda line: line["type"] == "ack" and line["ref"] == ref)
        return reply["payload"]

    def events(self, name: str) -> list[Any]:
        return [
            line["payload"]
            for line in self.lines
            if line["type"] == "event" and line["event"] == name
        ]

    async def close(self) -> None:
        if self.process.returncode is None:
            assert self.process.stdin is not None
            try:
                self.process.stdin.write(b'{"close": true}\n')
                await self.process.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
