"""Three Sealchat nodes on one PostgreSQL database and one Redis, a key service of their
own (`sealchat kms serve`), and nginx in front (deploy/nginx/sealchat.conf).

Skipped with a message when PostgreSQL, Redis or nginx is missing; in CI (``CI=true``)
those are failures instead.

Every node gets the same identity and grant signing keys (node 1 creates them; the test
copies its ``identity/`` and ``grants/`` directories to the others, as a shared secrets
directory would) and the same public URL (nginx's), so a token or grant from any node
holds on every node and at the key service.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cluster.nginx import Nginx, nginx_binary, start_nginx
from tests.live_server import LiveServer, free_port, start_server
from tests.pg_support import create_temp_database, drop_database
from tests.redis_support import require_redis, unique_channel

NODES = 3


@dataclass
class Cluster:
    root: Path
    node_env: dict[str, str]
    node_ports: list[int]
    nodes: list[LiveServer | None] = field(default_factory=list)
    kms: LiveServer | None = None
    nginx: Nginx | None = None

    @property
    def url(self) -> str:
        """Through nginx."""
        assert self.nginx is not None
        return self.nginx.url

    def node_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.node_ports[index]}"

    def start_node(self, index: int) -> LiveServer:
        node = start_server(
            self.root / f"node{index + 1}", self.node_env, port=self.node_ports[index]
        )
        self.nodes[index] = node
        return node

    def node(self, index: int) -> LiveServer:
        node = self.nodes[index]
        assert node is not None, f"node {index + 1} is not running"
        return node

    def stop(self) -> None:
        for server in [self.nginx, self.kms, *self.nodes]:
            if server is not None:
                server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    nginx_binary()  # skip (or fail in CI) before starting anything
    redis_url = asyncio.run(require_redis())
    database_url = asyncio.run(create_temp_database())
    root = tmp_path_factory.mktemp("cluster")
    proxy_port, kms_port = free_port(), free_port()
    public = f"http://127.0.0.1:{proxy_port}"
    node_env = {
        "SEALCHAT_DATABASE_URL": database_url,
        "SEALCHAT_REDIS_URL": redis_url,
        "SEALCHAT_REDIS_CHANNEL": unique_channel(),
        "SEALCHAT_PUBLIC_URL": public,
        "SEALCHAT_FORWARDED_ALLOW_IPS": "127.0.0.1",
        "SEALCHAT_KMS_EMBEDDED": "false",
        "SEALCHAT_KMS_URL": f"http://127.0.0.1:{kms_port}/kms",
        # Every test client comes from 127.0.0.1.
        "SEALCHAT_MAX_CONNECTIONS_PER_ADDRESS": "0",
        "SEALCHAT_PRESENCE_TTL_SECONDS": "6",
    }
    deployment = Cluster(root, node_env, [free_port() for _ in range(NODES)], [None] * NODES)
    try:
        first = deployment.start_node(0)
        for index in range(1, NODES):
            for keys in ("identity", "grants"):
                shutil.copytree(first.data_dir / keys, root / f"node{index + 1}" / keys)
            deployment.start_node(index)
        deployment.nginx = start_nginx(
            root / "nginx", [f"127.0.0.1:{port}" for port in deployment.node_ports], proxy_port
        )
        deployment.kms = start_server(
            root / "kms",
            {
                "SEALCHAT_TOKEN_ISSUER": public,
                "SEALCHAT_JWKS_URL": f"{public}/.well-known/jwks.json",
                "SEALCHAT_KMS_GRANT_ISSUER": public,
                "SEALCHAT_KMS_GRANT_JWKS_URL": f"{public}/.well-known/sealchat-grant-jwks.json",
            },
            command=("kms", "serve"),
            health_path="/kms/healthz",
            port=kms_port,
        )
        yield deployment
    finally:
        deployment.stop()
        asyncio.run(drop_database(database_url))
