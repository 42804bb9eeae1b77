"""The servers under test: how to start each one, pinned, and give it users and rooms.

| name | what runs |
|---|---|
| ``sealchat`` | ``sealchat serve`` as shipped (through bench/sealchat_server.py), SQLite |
| ``sealchat-pg`` | the same on PostgreSQL, in a database made for the run and dropped after |
| ``node`` | bench/node/reference-server.mjs: Express, socket.io 4, JWT, better-sqlite3 |
| ``node-nostore`` | the same server with ``--nostore``: no token, no database |
| ``floor`` | bench/floor_server.py: one pre-built websocket frame per recipient |

``node`` is the reference every ratio is taken against. The other ``sealchat-*`` names
are bench-only monkeypatches (see bench/sealchat_server.py), not in the default set.
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

BENCH = Path(__file__).resolve().parent
NODE_DIR = BENCH / "node"
REFERENCE = "node"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432"

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
    "SEALCHAT_AUTH_RATE_PER_MINUTE": "1000000",
    "SEALCHAT_AUTH_RATE_BURST": "1000000",
}
PASSWORD = "bench-password-not-secret"

# name -> arguments of bench/sealchat_server.py, or the kind of non-Sealchat server.
SERVERS: dict[str, list[str]] = {
    "sealchat": [],
    "sealchat-pg": [],
    "node": [],
    "node-nostore": ["--nostore"],
    "floor": [],
    # Not run by default: bench-only patches of Sealchat, see docs/benchmarks.md.
    "sealchat-stock": ["--manager", "stock"],
    "sealchat-polltimeout": ["--poll-with-timeout"],
    "sealchat-deflate": ["--deflate"],
    "sealchat-nolane": [],
}
# Settings of a variant, on top of SEALCHAT_ENV.
SERVER_ENV: dict[str, dict[str, str]] = {
    # The websocket fast lane off (a setting once the fast lane is in the server).
    "sealchat-nolane": {"SEALCHAT_WEBSOCKET_FAST_LANE": "false"},
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
        """
        pid = self.process.pid
        total = _cpu(Path(f"/proc/{pid}/stat"))
        if self.database is not None:
            for backend in asyncio.run(_backend_pids(self.pg_url, self.database)):
                with contextlib.suppress(OSError):
                    total += _cpu(Path(f"/proc/{backend}/stat"))
        return total, _cpu(Path(f"/proc/{pid}/task/{pid}/stat"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.database is not None:
            drop_database(self.pg_url, self.database)
            self.database = None


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


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise this process's open-file limit (children inherit it): 2,000 sockets each side."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return max(soft, target)


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
    name: str, core: int | None, workdir: Path, jwt_secret: str, pg_url: str = DEFAULT_PG_URL
) -> Server:
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
        # A developer's own SEALCHAT_* settings (a PostgreSQL URL, say) must not leak in.
        env = {k: v for k, v in env.items() if not k.startswith("SEALCHAT_")}
        env |= SEALCHAT_ENV | SERVER_ENV.get(name, {})
        env |= {
            "SEALCHAT_HOST": "127.0.0.1",
            "SEALCHAT_PORT": str(port),
            "SEALCHAT_DATA_DIR": str(data_dir),
        }
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
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server.stop()
            raise RuntimeError(f"{name} exited early:\n{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
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
