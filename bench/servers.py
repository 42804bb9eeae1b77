"""The servers under test: how to start each one, pinned, and give it users and rooms.

| name | what runs |
|---|---|
| ``sealchat`` | ``sealchat serve`` as shipped (through bench/sealchat_server.py), SQLite |
| ``sealchat-pg`` | the same on PostgreSQL, in a database made for the run and dropped after |
| ``sealchat-2nodes`` | two such nodes on PostgreSQL + Redis behind nginx (bench/nodes.py) |
| ``node`` | bench/node/reference-server.mjs: Express, socket.io 4, JWT, better-sqlite3 |
| ``node-nostore`` | the same server with ``--nostore``: no token, no database |
| ``floor`` | bench/floor_server.py: one pre-built websocket frame per recipient |

``node`` is the reference every ratio is taken against. ``sealchat-stock``,
``-polltimeout``, ``-deflate``, ``-nolane``, ``-noinbound`` and ``-interval`` are bench-only
monkeypatches or settings (see bench/sealchat_server.py), not in the default set.

Every server is pinned to the server core, except ``sealchat-2nodes``: two nodes on a
2-core machine, so its nodes, nginx and its load generator are all left to the scheduler
on every core (``Server.unpinned``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # a Sealchat dependency, untyped
import httpx
import jwt
import redis.asyncio as aioredis

BENCH = Path(__file__).resolve().parent
NODE_DIR = BENCH / "node"
REFERENCE = "node"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Every core this process may use, read before hotpath.py pins itself to the load core.
ALL_CORES = ",".join(str(core) for core in sorted(os.sched_getaffinity(0)))

# Cheap argon2 (setup registers a dozen users) and a rate limit the benchmark never meets.
SEALCHAT_ENV = {
    "SEALCHAT_ARGON2_TIME_COST": "1",
    "SEALCHAT_ARGON2_MEMORY_KIB": "8192",
    "SEALCHAT_ARGON2_PARALLELISM": "1",
    "SEALCHAT_MESSAGE_RATE_PER_SECOND": "1000000",
    "SEALCHAT_MESSAGE_RATE_BURST": "1000000",
    "SEALCHAT_ACCESS_TOKEN_TTL_SECONDS": "3600",
    "SEALCHAT_LOG_LEVEL": "warning",
    # Every load socket and every sign-up comes from 127.0.0.1.
    "SEALCHAT_MAX_CONNECTIONS_PER_ADDRESS": "0",
    "SEALCHAT_HANDSHAKE_RATE_PER_SECOND": "0",
    # A dozen users hold every load socket.
    "SEALCHAT_MAX_CONNECTIONS_PER_USER": "0",
    "SEALCHAT_AUTH_RATE_PER_MINUTE": "1000000",
    "SEALCHAT_AUTH_RATE_BURST": "1000000",
}
PASSWORD = "bench-password-not-secret"

# name -> arguments of bench/sealchat_server.py, or the kind of non-Sealchat server.
SERVERS: dict[str, list[str]] = {
    "sealchat": [],
    "sealchat-pg": [],
    "sealchat-2nodes": [],
    "node": [],
    "node-nostore": ["--nostore"],
    "floor": [],
    # Not run by default: bench-only patches of Sealchat, see docs/benchmarks.md.
    "sealchat-stock": ["--manager", "stock"],
    "sealchat-polltimeout": ["--poll-with-timeout"],
    "sealchat-deflate": ["--deflate"],
    "sealchat-nolane": [],
    "sealchat-noinbound": [],
    "sealchat-interval": [],
}
# Settings of a variant, on top of SEALCHAT_ENV.
SERVER_ENV: dict[str, dict[str, str]] = {
    # The websocket fast lane off (a setting once the fast lane is in the server).
    "sealchat-nolane": {"SEALCHAT_WEBSOCKET_FAST_LANE": "false"},
    # Client frames through websockets' parser and uvicorn's queue, as before the inbound lane.
    "sealchat-noinbound": {"SEALCHAT_WEBSOCKET_INBOUND_LANE": "false"},
    # The writer's interval on (off by default): a busy writer starts a batch every 3 ms.
    "sealchat-interval": {"SEALCHAT_WRITE_INTERVAL_MS": "3"},
}
DEFAULT_SERVERS = ["sealchat", "sealchat-pg", "node", "node-nostore", "floor"]


def is_sealchat(name: str) -> bool:
    return name.startswith("sealchat")


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    database: str | None = None  # sealchat-pg: the database made for this run
    pg_url: str = DEFAULT_PG_URL
    room_ids: dict[str, str] = field(default_factory=dict)  # room key -> id on this server
    tokens: dict[str, str] = field(default_factory=dict)  # username -> access token
    # sealchat-2nodes: the other node; nginx (its master and workers); every node's own URL
    # (the lag probe is per node); no pinning for it or its load generator.
    nodes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    proxy: subprocess.Popen[bytes] | None = None
    proxy_pids: list[int] = field(default_factory=list)
    node_urls: list[str] = field(default_factory=list)
    unpinned: bool = False
    redis_url: str | None = None  # sealchat-2nodes: its Redis, and the run's key prefix
    redis_prefix: str = ""

    def load_core(self, load_core: int | None) -> int | str | None:
        """Where this server's load generator runs: the load core, or every core."""
        return ALL_CORES if self.unpinned and load_core is not None else load_core

    def lag(self, command: str) -> dict[str, Any]:
        """Start or stop the event-loop lag probe of every node (bench/sealchat_server.py);
        with several nodes, the worst node's stalls and the sum of their GC pauses."""
        replies = []
        for url in self.node_urls or [self.url]:
            reply = httpx.get(f"{url}/_bench/lag/{command}", timeout=30)
            reply.raise_for_status()
            replies.append(dict(reply.json()))
        if len(replies) == 1:
            return replies[0]
        merged: dict[str, Any] = {}
        for key in ("samples", "p50", "p99", "max"):
            values = [r[key] for r in replies if r.get(key) is not None]
            merged[key] = (sum if key == "samples" else max)(values) if values else None
        if all(isinstance(r.get("gc"), dict) for r in replies):
            gcs = [r["gc"] for r in replies]
            merged["gc"] = {
                key: (max if key.endswith("MaxMs") or key == "maxMs" else sum)(g[key] for g in gcs)
                for key in gcs[0]
            }
        return merged if any(merged.values()) else replies[0]

    def auth(self, username: str, room: str) -> dict[str, str]:
        """What a socket of ``username`` sends in its handshake, to be in ``room``."""
        if self.tokens:
            return {"token": self.tokens[username]}
        return {"room": self.room_ids[room]}

    def cpu_seconds(self) -> tuple[float, float]:
        """User + system CPU of the server: all threads, and its main thread.

        On PostgreSQL, the first figure also counts the server's database backends
        (SQLite works inside the server process, so that is the fair comparison).
        Backends that come or go between two readings are missed.

        With several nodes (sealchat-2nodes) both figures are sums over the nodes, and the
        first also counts nginx (master and workers); Redis is a shared server and is not
        counted (it shows as other jobs' CPU).
        """
        pids = [self.process.pid, *(node.pid for node in self.nodes)]
        total = sum(_cpu(Path(f"/proc/{pid}/stat")) for pid in pids) + self.proxy_cpu_seconds()
        if self.database is not None:
            for backend in asyncio.run(_backend_pids(self.pg_url, self.database)):
                with contextlib.suppress(OSError):
                    total += _cpu(Path(f"/proc/{backend}/stat"))
        main = sum(_cpu(Path(f"/proc/{pid}/task/{pid}/stat")) for pid in pids)
        return total, main

    def proxy_cpu_seconds(self) -> float:
        """User + system CPU of nginx (sealchat-2nodes; 0 for the others)."""
        total = 0.0
        for pid in self.proxy_pids:
            with contextlib.suppress(OSError):
                total += _cpu(Path(f"/proc/{pid}/stat"))
        return total

    def stop(self) -> None:
        for process in [self.proxy, self.process, *self.nodes]:
            if process is not None:
                stop_process(process)
        if self.database is not None:
            drop_database(self.pg_url, self.database)
            self.database = None
        if self.redis_url is not None:
            with contextlib.suppress(Exception):  # a leftover key or two is harmless
                asyncio.run(_forget_redis_keys(self.redis_url, self.redis_prefix))
            self.redis_url = None


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _cpu(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time all processes of the machine used so far (every core), from /proc/stat."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pinned(core: int | str | None, command: list[str]) -> list[str]:
    """``command`` run on ``core`` (a number, or a taskset list such as "0,1")."""
    return command if core is None else ["taskset", "-c", str(core), *command]


def pick_cores(no_pin: bool) -> tuple[int | None, int | None, str]:
    """One core for the server under test, another for the load generator."""
    cores = sorted(os.sched_getaffinity(0))
    if no_pin:
        return None, None, "not pinned (--no-pin)"
    if shutil.which("taskset") is None or len(cores) < 2:
        return None, None, "not pinned (needs taskset and two cores)"
    return cores[0], cores[1], f"server on core {cores[0]}, load generator on core {cores[1]}"


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise this process's open-file limit (children inherit it): 2,000 sockets each side."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return max(soft, target)


async def _forget_redis_keys(redis_url: str, prefix: str) -> None:
    """Delete a run's presence and rate-limit keys (``<channel>:*``)."""
    client = aioredis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


# -- PostgreSQL: a fresh database per run ---------------------------------------------
async def _admin(pg_url: str, statement: str) -> None:
    connection = await asyncpg.connect(f"{pg_url}/postgres", timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _backend_pids(pg_url: str, database: str) -> list[int]:
    connection = await asyncpg.connect(f"{pg_url}/postgres", timeout=10)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", database
        )
    finally:
        await connection.close()
    return [int(row["pid"]) for row in rows]


def create_database(pg_url: str) -> str:
    name = f"sealchat_bench_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_admin(pg_url, f'CREATE DATABASE "{name}"'))
    return name


def drop_database(pg_url: str, name: str) -> None:
    asyncio.run(_admin(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# -- starting -------------------------------------------------------------------------
def start_server(
    name: str,
    core: int | None,
    workdir: Path,
    jwt_secret: str,
    pg_url: str = DEFAULT_PG_URL,
    redis_url: str = DEFAULT_REDIS_URL,
) -> Server:
    if name == "sealchat-2nodes":
        import nodes  # here: it imports this module

        return nodes.start_two_nodes(
            name, workdir, pg_url, redis_url, ALL_CORES if core is not None else None
        )
    port = free_port()
    data_dir = workdir / name
    data_dir.mkdir(parents=True)
    log_path = data_dir / "server.log"
    env = dict(os.environ)
    database = None
    if name in ("node", "node-nostore"):
        command = ["node", str(NODE_DIR / "reference-server.mjs"), str(port), *SERVERS[name]]
        command += ["--db", str(data_dir / "reference.sqlite3")]
        env["BENCH_JWT_SECRET"] = jwt_secret
    elif name == "floor":
        command = [sys.executable, str(BENCH / "floor_server.py"), str(port)]
    else:
        command = [sys.executable, str(BENCH / "sealchat_server.py"), *SERVERS[name]]
        env = sealchat_env(name, port, data_dir)
        if name == "sealchat-pg":
            database = create_database(pg_url)
            dsn = pg_url.replace("postgresql://", "postgresql+asyncpg://", 1)
            env["SEALCHAT_DATABASE_URL"] = f"{dsn}/{database}"
    with log_path.open("wb") as log:
        # cwd: a data dir of its own, so no stray .env is read.
        process = subprocess.Popen(
            pinned(core, command), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=data_dir
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log_path, database, pg_url)
    try:
        wait_until_up(name, f"{server.url}/healthz", process, log_path)
    except BaseException:
        server.stop()
        raise
    return server


def sealchat_env(name: str, port: int, data_dir: Path) -> dict[str, str]:
    """The environment of a Sealchat server: the bench's settings, none of the caller's."""
    # A developer's own SEALCHAT_* settings (a PostgreSQL URL, say) must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALCHAT_")}
    env |= SEALCHAT_ENV | SERVER_ENV.get(name, {})
    env |= {
        "SEALCHAT_HOST": "127.0.0.1",
        "SEALCHAT_PORT": str(port),
        "SEALCHAT_DATA_DIR": str(data_dir),
    }
    return env


def wait_until_up(
    name: str, health_url: str, process: subprocess.Popen[bytes], log_path: Path
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(health_url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not start in 60 s")


# -- users and rooms ------------------------------------------------------------------
def prepare(server: Server, rooms: dict[str, list[str]], jwt_secret: str) -> None:
    """Make ``rooms`` (key -> usernames, the first one creates it) on the server."""
    if is_sealchat(server.name):
        _prepare_sealchat(server, rooms)
    elif server.name == "node":
        _prepare_reference(server, rooms, jwt_secret)
    else:
        server.room_ids = {key: key for key in rooms}


def _prepare_sealchat(server: Server, rooms: dict[str, list[str]]) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for username in dict.fromkeys(u for members in rooms.values() for u in members):
            reply = http.post(
                "/api/auth/register", json={"username": username, "password": PASSWORD}
            )
            reply.raise_for_status()
            server.tokens[username] = reply.json()["access_token"]
        for key, (owner, *others) in rooms.items():
            headers = {"authorization": f"Bearer {server.tokens[owner]}"}
            reply = http.post("/api/rooms", json={"name": key}, headers=headers)
            reply.raise_for_status()
            room_id = reply.json()["room"]["id"]
            server.room_ids[key] = room_id
            for username in others:
                # Members join by accepting an invitation.
                reply = http.post(
                    f"/api/rooms/{room_id}/invitations",
                    json={"username": username},
                    headers=headers,
                )
                reply.raise_for_status()
                invitee = {"authorization": f"Bearer {server.tokens[username]}"}
                reply = http.post(f"/api/invitations/{room_id}/accept", headers=invitee)
                reply.raise_for_status()


def _prepare_reference(server: Server, rooms: dict[str, list[str]], jwt_secret: str) -> None:
    users = {u: str(uuid.uuid4()) for members in rooms.values() for u in members}
    server.room_ids = {key: str(uuid.uuid4()) for key in rooms}
    body: dict[str, Any] = {
        "users": list(users.values()),
        "rooms": [
            {"id": server.room_ids[key], "name": key, "members": [users[u] for u in members]}
            for key, members in rooms.items()
        ],
    }
    httpx.post(f"{server.url}/_bench/setup", json=body, timeout=30).raise_for_status()
    expires = int(time.time()) + 6 * 3600
    server.tokens = {
        username: jwt.encode({"sub": user_id, "exp": expires}, jwt_secret, algorithm="HS256")
        for username, user_id in users.items()
    }
