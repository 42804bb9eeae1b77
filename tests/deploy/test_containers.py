"""The container image builds, and the many-node layout of deploy/compose.yaml starts from
it and passes a smoke test through nginx: sign up, a sealed message, history.

No registry is reachable here, so instead of podman-compose the test starts the same
services with ``podman run --network host`` on free loopback ports (tests/deploy/images.py
makes the base images): the key service, a one-shot ``migrate`` and ``keys init``, two chat
nodes with the secrets directory mounted read-only, and nginx with deploy/nginx/compose.conf
(upstream names rewritten to loopback ports). PostgreSQL is the machine's server (a fresh
database); each container gets the environment compose.yaml gives it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sealchat.client import SealchatClient
from tests.deploy import images
from tests.deploy.conftest import require_podman
from tests.live_server import free_port
from tests.membership import add_member
from tests.pg_support import create_temp_database, drop_database

ROOT = images.ROOT
COMPOSE = ROOT / "deploy" / "compose.yaml"
PASSWORD = "correct horse battery staple"
UID = 10001  # the image's sealchat user


class Layout:
    def __init__(self, workdir: Path, database_url: str) -> None:
        self.workdir = workdir
        self.database_url = database_url.replace("@localhost", "@127.0.0.1")
        self.tag = uuid.uuid4().hex[:8]
        self.ports = {name: free_port() for name in ("chat1", "chat2", "kms", "nginx")}
        self.public = f"http://127.0.0.1:{self.ports['nginx']}"
        self.started: list[str] = []
        self.compose = yaml.safe_load(COMPOSE.read_text())["services"]

    def directory(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(mode=0o700)
        os.chown(path, UID, UID)
        return path

    def environment(self, service: str) -> dict[str, str]:
        """compose.yaml's environment for the service, with host networking's addresses."""
        loopback = {
            "http://localhost:8080": self.public,
            "http://nginx:8080": self.public,
            "http://kms:8001": f"http://127.0.0.1:{self.ports['kms']}",
        }
        env = {}
        for name, value in (self.compose[service].get("environment") or {}).items():
            text = os.path.expandvars(str(value))
            text = text.replace("${SEALCHAT_PUBLIC_URL:-http://localhost:8080}", self.public)
            for old, new in loopback.items():
                text = text.replace(old, new)
            if name == "SEALCHAT_DATABASE_URL":
                text = self.database_url
            if name == "SEALCHAT_REDIS_URL":
                text = "redis://127.0.0.1:6379/0"
            env[name] = text
        return env

    def run(
        self, service: str, args: list[str], env: dict[str, str], mounts: list[str], *, detach: bool
    ) -> subprocess.CompletedProcess[str]:
        name = f"sealchat-test-{service}-{self.tag}"
        command = [*images.PODMAN, "run", "--network", "host", "--name", name]
        command += ["-d"] if detach else ["--rm"]
        for key, value in env.items():
            command += ["-e", f"{key}={value}"]
        for mount in mounts:
            command += ["-v", mount]
        if detach:
            self.started.append(name)
        return subprocess.run(
            [*command, *args], check=True, capture_output=True, text=True, timeout=120
        )

    def logs(self) -> str:
        out = []
        for name in self.started:
            done = subprocess.run(
                [*images.PODMAN, "logs", name], capture_output=True, text=True, check=False
            )
            out.append(f"--- {name}\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        return "\n".join(out)

    def stop(self) -> None:
        for name in reversed(self.started):
            subprocess.run(
                [*images.PODMAN, "rm", "-f", "-t", "2", name], capture_output=True, check=False
            )


def wait_for(url: str, layout: Layout, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {seconds:.0f} s\n{layout.logs()}")


def start(layout: Layout) -> None:
    image, secrets = images.IMAGE, layout.directory("secrets")
    secrets_env = {"SEALCHAT_SECRETS_DIR": "/var/lib/sealchat-secrets"}
    # One-shot jobs, as compose runs them before the nodes.
    layout.run(
        "keys",
        [image, *layout.compose["keys"]["command"]],
        layout.environment("keys"),
        [f"{secrets}:/var/lib/sealchat-secrets"],
        detach=False,
    )
    layout.run(
        "migrate",
        [image, *layout.compose["migrate"]["command"]],
        layout.environment("migrate"),
        [],
        detach=False,
    )
    kms_env = {**layout.environment("kms"), "SEALCHAT_KMS_PORT": str(layout.ports["kms"])}
    layout.run(
        "kms",
        [image, *layout.compose["kms"]["command"]],
        kms_env,
        [f"{layout.directory('kms')}:/var/lib/sealchat"],
        detach=True,
    )
    for node in ("chat1", "chat2"):
        env = {**layout.environment(node), **secrets_env, "SEALCHAT_PORT": str(layout.ports[node])}
        layout.run(
            node,
            [image, *layout.compose[node]["command"]],
            env,
            [f"{secrets}:/var/lib/sealchat-secrets:ro"],
            detach=True,
        )
    config = (ROOT / "deploy" / "nginx" / "compose.conf").read_text()
    for name in ("chat1", "chat2"):
        config = config.replace(f"{name}:8000", f"127.0.0.1:{layout.ports[name]}")
    config = config.replace("kms:8001", f"127.0.0.1:{layout.ports['kms']}")
    config = config.replace("listen 8080;", f"listen 127.0.0.1:{layout.ports['nginx']};")
    conf = layout.workdir / "nginx.conf"
    conf.write_text(config)
    conf.chmod(0o644)
    layout.run(
        "nginx",
        [images.NGINX_IMAGE],
        {},
        [f"{conf}:/etc/nginx/conf.d/default.conf:ro"],
        detach=True,
    )
    for node in ("chat1", "chat2"):
        wait_for(f"http://127.0.0.1:{layout.ports[node]}/healthz", layout)
    wait_for(f"http://127.0.0.1:{layout.ports['kms']}/kms/healthz", layout)
    wait_for(f"{layout.public}/healthz", layout)


@pytest.fixture(scope="module")
def layout() -> Iterator[Layout]:
    require_podman()
    images.base_images()
    images.sealchat_image()
    database_url = asyncio.run(create_temp_database())
    with tempfile.TemporaryDirectory(prefix="sealchat-containers-") as workdir:
        # The containers' user (uid 10001) must traverse it to its own directories.
        os.chmod(workdir, 0o755)  # noqa: S103
        deployment = Layout(Path(workdir), database_url)
        try:
            start(deployment)
            yield deployment
        finally:
            deployment.stop()
            asyncio.run(drop_database(database_url))


# A fresh machine first makes the base images (debootstrap: a few minutes); afterwards
# only changed layers of the Sealchat image are rebuilt (about a minute when sealchat/ changed).
@pytest.mark.timeout(900)
async def test_the_compose_layout_serves_sealed_chat_through_nginx(layout: Layout) -> None:
    config = httpx.get(f"{layout.public}/api/config").json()
    assert config["kms_url"] == f"{layout.public}/kms"
    assert httpx.get(f"{layout.public}/").headers["content-type"].startswith("text/html")
    async with SealchatClient(layout.public) as alice, SealchatClient(layout.public) as bob:
        await alice.register(f"alice-{layout.tag}", PASSWORD)
        await bob.register(f"bob-{layout.tag}", PASSWORD)
        room = await alice.create_room("containers", visibility="private")
        await add_member(alice, bob, room["id"])
        await alice.connect()
        sent = await alice.send_text(room["id"], "sealed in a container")
        assert "sealed in a container" not in str(sent["envelope"])
        opened = [m.text for m in await bob.history_opened(room["id"])]
        assert opened == ["sealed in a container"]
        # Both nodes verify tokens signed by either: one key set from the secrets volume.
        token = bob.api.access_token
        for node in ("chat1", "chat2"):
            mine = httpx.get(
                f"http://127.0.0.1:{layout.ports[node]}/api/rooms",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert mine.status_code == 200, mine.text
        # Removing bob reaches the key service over its internal URL: his grant dies.
        kept: Any = await bob.grants.get(room["id"])
        await alice.remove_member(room["id"], bob.user["id"])  # type: ignore[index]
        refused = httpx.post(
            f"{layout.public}/kms/decrypt",
            headers={"Authorization": f"Bearer {bob.api.kms_access_token}"},
            json={
                "ciphertext_blob": sent["envelope"]["edk"],
                "encryption_context": {"room_id": room["id"]},
                "grant": kept,
            },
        )
        assert refused.status_code == 403, refused.text
    # Only the nodes post revocations, directly: nginx refuses the route from outside.
    assert httpx.post(f"{layout.public}/kms/revocations", json={}).status_code == 403
