"""Start a real ``sealchat serve`` process on a free loopback port for integration tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

# Cheaper argon2 than production so tests that register many users stay quick;
# still argon2id, still run in a worker thread.
TEST_ENV = {
    "SEALCHAT_ARGON2_TIME_COST": "1",
    "SEALCHAT_ARGON2_MEMORY_KIB": "8192",
    "SEALCHAT_ARGON2_PARALLELISM": "1",
    "SEALCHAT_LOG_LEVEL": "info",
    # Tests send bursts; the rate limit has its own test with its own settings.
    "SEALCHAT_MESSAGE_RATE_PER_SECOND": "1000",
    "SEALCHAT_MESSAGE_RATE_BURST": "1000",
    # Tests sign many users up from one address; the sign-in limits have their own tests.
    "SEALCHAT_AUTH_RATE_PER_MINUTE": "1000000",
    "SEALCHAT_AUTH_RATE_BURST": "100000",
    "SEALCHAT_PASSWORD_HASH_QUEUE": "100000",
    # Tests reconnect from one address all the time; the handshake rate has its own test.
    "SEALCHAT_HANDSHAKE_RATE_PER_SECOND": "0",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate a child process, killing it if it has not ended within ten seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)


def start_server(
    data_dir: Path,
    extra_env: dict[str, str] | None = None,
    *,
    command: tuple[str, ...] = ("serve",),
    health_path: str = "/healthz",
    port: int | None = None,
) -> LiveServer:
    """Run ``sealchat <command>`` on a free port and wait until ``health_path`` answers."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **TEST_ENV, **(extra_env or {})}
    env.update(
        {
            "SEALCHAT_HOST": "127.0.0.1",
            "SEALCHAT_PORT": str(port),
            "SEALCHAT_KMS_PORT": str(port),
            "SEALCHAT_DATA_DIR": str(data_dir),
        }
    )
    log_path = data_dir / f"{command[-1]}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "sealchat", *command],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", data_dir, log_path, process, env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log_text()}")
        try:
            if httpx.get(f"{server.url}{health_path}", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not start in 30 s:\n{server.log_text()}")
