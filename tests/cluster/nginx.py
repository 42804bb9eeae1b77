"""nginx in front of test nodes, running deploy/nginx/sealchat.conf itself.

The file's two upstream blocks get the test's node addresses and its ``listen`` the
test's port; a minimal main configuration (pid, logs and temporary files in a temporary
directory) includes it. nginx runs in the foreground as a child process.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.live_server import stop_process
from tests.pg_support import in_ci

CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "sealchat.conf"


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        message = "nginx is not installed (apt-get install nginx-light); tools/test installs it"
        if in_ci():
            pytest.fail(f"{message}. CI=true, so the cluster tests must run.", pytrace=False)
        pytest.skip(message)
    return found


def render_site(nodes: list[str], port: int) -> str:
    """deploy/nginx/sealchat.conf with these nodes (host:port) and this listen port."""
    servers = "".join(f"    server {node} max_fails=1 fail_timeout=5s;\n" for node in nodes)
    text, count = re.subn(r"(?:    server \S+:\d+[^\n]*\n)+", servers, CONF.read_text())
    assert count == 2, "deploy/nginx/sealchat.conf should have two upstream blocks"
    text, count = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", text)
    assert count == 1, "deploy/nginx/sealchat.conf should listen on port 80"
    return text


@dataclass
class Nginx:
    url: str
    process: subprocess.Popen[bytes]
    directory: Path

    def log_text(self) -> str:
        return (self.directory / "error.log").read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)


def start_nginx(directory: Path, nodes: list[str], port: int) -> Nginx:
    binary = nginx_binary()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "site.conf").write_text(render_site(nodes, port))
    temp = directory / "temp"
    temp.mkdir(exist_ok=True)
    # As root (CI), nginx's workers would switch to an unprivileged user that cannot
    # use this private temporary directory.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(
        f"{user}worker_processes 1;\n"
        f"pid {directory}/nginx.pid;\n"
        f"error_log {directory}/error.log info;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"    access_log {directory}/access.log;\n"
        f"    client_body_temp_path {temp}/body;\n"
        f"    proxy_temp_path {temp}/proxy;\n"
        f"    fastcgi_temp_path {temp}/fastcgi;\n"
        f"    uwsgi_temp_path {temp}/uwsgi;\n"
        f"    scgi_temp_path {temp}/scgi;\n"
        f"    include {directory}/site.conf;\n"
        "}\n"
    )
    with (directory / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(
            [
                binary,
                "-p",
                str(directory),
                "-e",
                str(directory / "error.log"),
                "-c",
                str(directory / "nginx.conf"),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    proxy = Nginx(f"http://127.0.0.1:{port}", process, directory)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"nginx exited: {(directory / 'stderr.log').read_text(errors='replace')}"
            )
        try:
            if httpx.get(f"{proxy.url}/healthz", timeout=1).status_code == 200:
                return proxy
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proxy.stop()
    raise RuntimeError(f"nginx did not answer in 15 s:\n{proxy.log_text()}")
