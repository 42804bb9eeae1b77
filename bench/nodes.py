"""``sealchat-2nodes``: two Sealchat nodes on PostgreSQL + Redis behind nginx.

Two ``sealchat serve`` processes (through bench/sealchat_server.py, so each has the lag
probe) on one PostgreSQL database made for the run (dropped after, as ``sealchat-pg``),
one Redis with a channel (and key prefix) of the run's own, one secrets directory (the
first node makes the identity and grant keys, the second reads them) and one public URL:
nginx's, running deploy/nginx/sealchat.conf itself with the bench's ports (rendered as
tests/cluster/nginx.py does). The load generators connect to nginx, whose least_conn
spreads their websockets over both nodes, so about half of every broadcast's receivers
are on the node the sender is not on and get it through Redis.

Pinning: two nodes on a 2-core machine cannot have the usual "server on one core, load
on the other", so nothing is pinned for this server: the nodes, nginx and the load
generator may all run on every core (``Server.unpinned``).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from servers import (
    BENCH,
    Server,
    create_database,
    drop_database,
    free_port,
    pinned,
    sealchat_env,
    stop_process,
    wait_until_up,
)

CONF = BENCH.parent / "deploy" / "nginx" / "sealchat.conf"
NODES = 2


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        raise RuntimeError("nginx is not installed (`bash -c 'source tools/_nginx.sh'`)")
    return found


def render_site(nodes: list[str], port: int) -> str:
    """deploy/nginx/sealchat.conf with these nodes (host:port) and this listen port."""
    servers = "".join(f"    server {node} max_fails=1 fail_timeout=5s;\n" for node in nodes)
    text, count = re.subn(r"(?:    server \S+:\d+[^\n]*\n)+", servers, CONF.read_text())
    if count != 2:
        raise RuntimeError(f"{CONF} should have two upstream blocks")
    text, count = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", text)
    if count != 1:
        raise RuntimeError(f"{CONF} should listen on port 80")
    return text


def start_nginx(
    directory: Path, nodes: list[str], port: int, core: str | None
) -> subprocess.Popen[bytes]:
    """nginx in the foreground, one worker, with room for the fan-out's sockets (each
    proxied websocket holds two connections)."""
    directory.mkdir(parents=True)
    (directory / "site.conf").write_text(render_site(nodes, port))
    temp = directory / "temp"
    temp.mkdir()
    user = "user root;\n" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(
        f"{user}worker_processes 1;\n"
        "worker_rlimit_nofile 65536;\n"
        f"pid {directory}/nginx.pid;\n"
        f"error_log {directory}/error.log warn;\n"
        "events { worker_connections 16384; }\n"
        "http {\n"
        "    access_log off;\n"
        f"    client_body_temp_path {temp}/body;\n"
        f"    proxy_temp_path {temp}/proxy;\n"
        f"    fastcgi_temp_path {temp}/fastcgi;\n"
        f"    uwsgi_temp_path {temp}/uwsgi;\n"
        f"    scgi_temp_path {temp}/scgi;\n"
        f"    include {directory}/site.conf;\n"
        "}\n"
    )
    command = [nginx_binary(), "-p", str(directory), "-e", str(directory / "error.log")]
    command += ["-c", str(directory / "nginx.conf"), "-g", "daemon off;"]
    with (directory / "stderr.log").open("wb") as stderr:
        return subprocess.Popen(pinned(core, command), stdout=subprocess.DEVNULL, stderr=stderr)


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def start_two_nodes(
    name: str, workdir: Path, pg_url: str, redis_url: str, core: str | None
) -> Server:
    """Start the database, both nodes and nginx; the Server's URL is nginx's."""
    root = workdir / name
    root.mkdir(parents=True)
    proxy_port = free_port()
    ports = [free_port() for _ in range(NODES)]
    public = f"http://127.0.0.1:{proxy_port}"
    channel = f"sealchat-bench-{os.getpid()}-{secrets.token_hex(3)}"
    database = create_database(pg_url)
    dsn = pg_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    processes: list[subprocess.Popen[bytes]] = []
    server: Server | None = None
    try:
        for index, port in enumerate(ports):
            data_dir = root / f"node{index + 1}"
            data_dir.mkdir()
            env = sealchat_env(name, port, data_dir) | {
                "SEALCHAT_DATABASE_URL": f"{dsn}/{database}",
                "SEALCHAT_REDIS_URL": redis_url,
                "SEALCHAT_REDIS_CHANNEL": channel,
                "SEALCHAT_SECRETS_DIR": str(root / "secrets"),
                "SEALCHAT_PUBLIC_URL": public,
                "SEALCHAT_FORWARDED_ALLOW_IPS": "127.0.0.1",
            }
            log_path = data_dir / "server.log"
            command = [sys.executable, str(BENCH / "sealchat_server.py")]
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    pinned(core, command),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=data_dir,
                )
            processes.append(process)
            # One at a time: the first node makes the shared keys and the schema.
            wait_until_up(
                f"{name} node {index + 1}", f"http://127.0.0.1:{port}/healthz", process, log_path
            )
        nodes = [f"127.0.0.1:{port}" for port in ports]
        proxy = start_nginx(root / "nginx", nodes, proxy_port, core)
        server = Server(
            name,
            public,
            processes[0],
            root / "node1" / "server.log",
            database,
            pg_url,
            nodes=processes[1:],
            proxy=proxy,
            node_urls=[f"http://{node}" for node in nodes],
            unpinned=True,
            redis_url=redis_url,
            redis_prefix=channel,
        )
        wait_until_up(f"{name} nginx", f"{public}/healthz", proxy, root / "nginx" / "error.log")
        server.proxy_pids = [proxy.pid, *children(proxy.pid)]
        return server
    except BaseException:
        if server is not None:
            server.stop()
        else:
            for process in processes:
                stop_process(process)
            drop_database(pg_url, database)
        raise
