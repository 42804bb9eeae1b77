"""The container image builds, and deploy/compose.yaml's many-node layout starts from it
with podman-compose and passes a smoke test through nginx: sign up, a sealed message,
history, and a removal reaching the key service.

No image registry is reachable on the test machines, so the images compose.yaml would pull
(PostgreSQL, Redis, nginx) are local stand-ins named through its SEALCHAT_*_IMAGE variables
(tests/deploy/images.py builds them once and keeps them). Everything else is compose.yaml as
users run it: its services, commands, environment, volumes, network and nginx configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sealchat.client import ClientError, SealchatClient
from tests.deploy import images
from tests.deploy.conftest import require_podman
from tests.live_server import free_port
from tests.membership import add_member

COMPOSE = images.ROOT / "deploy" / "compose.yaml"
PASSWORD = "correct horse battery staple"
VOLUMES = ("postgres", "secrets", "kms")


@dataclass
class Compose:
    project: str
    url: str
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        command = [
            "podman-compose",
            "--podman-args=--runtime runc",
            "-p",
            self.project,
            "-f",
            str(COMPOSE),
            *args,
        ]
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def logs(self, service: str) -> str:
        done = subprocess.run(
            [*images.PODMAN, "logs", f"{self.project}_{service}_1"],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout + done.stderr

    def all_logs(self) -> str:
        services = ("postgres", "keys", "migrate", "kms", "chat1", "chat2", "nginx")
        return "\n".join(f"--- {name}\n{self.logs(name)[-2500:]}" for name in services)

    def down(self) -> None:
        # Removed with their anonymous volumes (the image declares two), which
        # podman-compose down would leave behind.
        listed = subprocess.run(
            [
                *images.PODMAN,
                "ps",
                "-a",
                "-q",
                "--filter",
                f"label=io.podman.compose.project={self.project}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if ids := listed.stdout.split():
            subprocess.run(
                [*images.PODMAN, "rm", "-f", "-v", "-t", "2", *ids],
                capture_output=True,
                check=False,
            )
        self.run("down", timeout=120)
        subprocess.run(
            [*images.PODMAN, "volume", "rm", "-f", *(f"{self.project}_{v}" for v in VOLUMES)],
            capture_output=True,
            check=False,
        )
        subprocess.run(
            [*images.PODMAN, "network", "rm", "-f", f"{self.project}_default"],
            capture_output=True,
            check=False,
        )


def wait_until_serving(compose: Compose, seconds: float = 120) -> None:
    """Both nodes answering through nginx. They start only once the migrate job has run
    (they refuse an out-of-date schema and are restarted), and nginx sets a node that
    refused a connection aside for a few seconds: ask until each has answered."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{compose.url}/healthz", timeout=2)
        if all('GET /healthz HTTP/1.1" 200' in compose.logs(n) for n in ("chat1", "chat2")):
            return
        time.sleep(0.5)
    logs = compose.all_logs()
    raise AssertionError(f"the compose layout did not answer in {seconds:.0f} s\n{logs}")


@pytest.fixture(scope="module")
def compose() -> Iterator[Compose]:
    require_podman("podman-compose")
    images.base_images()
    images.compose_images()
    images.sealchat_image()
    port = free_port()
    layout = Compose(
        project=f"sealchat-test-{uuid.uuid4().hex[:8]}",
        url=f"http://127.0.0.1:{port}",
        env={
            **os.environ,
            "SEALCHAT_IMAGE": images.IMAGE,
            "SEALCHAT_POSTGRES_IMAGE": images.POSTGRES_IMAGE,
            "SEALCHAT_REDIS_IMAGE": images.REDIS_IMAGE,
            "SEALCHAT_NGINX_IMAGE": images.NGINX_IMAGE,
            "SEALCHAT_HTTP_PORT": str(port),
            "SEALCHAT_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "SEALCHAT_POSTGRES_PASSWORD": secrets.token_hex(12),
        },
    )
    try:
        up = layout.run("up", "-d")
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        wait_until_serving(layout)
        yield layout
    finally:
        layout.down()


async def when_available(step: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``step``, again (up to 3 times) while a node answers ``unavailable``: on a
    loaded machine a node's first connections to the freshly started PostgreSQL container
    have been seen to time out (10 s), which the node recovers from on the next request.
    Every step retried here is safe to repeat (sends carry their client message id)."""
    for attempt in range(3):
        try:
            return await step()
        except ClientError as exc:
            if exc.code != "unavailable" or attempt == 2:
                raise
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


async def revoked_within(seconds: float, decrypt: Callable[[], httpx.Response]) -> httpx.Response:
    """The key service's answer to ``decrypt`` once it refuses, or its last answer after
    ``seconds``. A node revokes a removed member's grant at once, and retries with back-off
    when the key service does not answer (services/revocations.py): on a loaded machine the
    containers' name resolution has been seen to stall the first attempts for seconds."""
    deadline = time.monotonic() + seconds
    while True:
        answer = decrypt()
        if answer.status_code != 200 or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(1)


async def sign_up(client: SealchatClient, username: str) -> None:
    try:
        await when_available(lambda: client.register(username, PASSWORD))
    except ClientError as exc:
        if exc.code != "conflict":  # an attempt answered unavailable had stored it after all
            raise
        await when_available(lambda: client.login(username, PASSWORD))


def served_api(log: str) -> int:
    return sum(1 for line in log.splitlines() if "/api/" in line and " 200" in line)


# A fresh machine first makes the base images (debootstrap: a few minutes); afterwards
# only changed layers of the Sealchat image are rebuilt (about a minute when sealchat/ changed).
@pytest.mark.timeout(900)
async def test_the_compose_layout_serves_sealed_chat_through_nginx(compose: Compose) -> None:
    try:
        await smoke_test(compose)
    except BaseException as exc:
        raise AssertionError(f"{exc!r}\n{compose.all_logs()}") from exc


async def smoke_test(compose: Compose) -> None:
    config = httpx.get(f"{compose.url}/api/config").json()
    assert config["kms_url"] == f"{compose.url}/kms"
    assert httpx.get(f"{compose.url}/").headers["content-type"].startswith("text/html")
    tag = compose.project[-8:]
    async with SealchatClient(compose.url) as alice, SealchatClient(compose.url) as bob:
        await sign_up(alice, f"alice-{tag}")
        await sign_up(bob, f"bob-{tag}")
        room = await when_available(lambda: alice.create_room("containers", "private"))
        await when_available(lambda: add_member(alice, bob, room["id"]))
        await alice.connect()
        message_id = uuid.uuid4().hex
        sent = await when_available(
            lambda: alice.send_text(room["id"], "sealed in a container", message_id)
        )
        assert "sealed in a container" not in str(sent["envelope"])
        assert [m.text for m in await bob.history_opened(room["id"])] == ["sealed in a container"]
        # Removing bob reaches the key service over the nodes' internal URL: his grant dies.
        kept: Any = await bob.grants.get(room["id"])
        await alice.remove_member(room["id"], bob.user["id"])  # type: ignore[index]
        refused = await revoked_within(
            60,
            lambda: httpx.post(
                f"{compose.url}/kms/decrypt",
                headers={"Authorization": f"Bearer {bob.api.kms_access_token}"},
                json={
                    "ciphertext_blob": sent["envelope"]["edk"],
                    "encryption_context": {"room_id": room["id"]},
                    "grant": kept,
                },
            ),
        )
        assert refused.status_code == 403, refused.text
    # Only the nodes post revocations, directly: nginx refuses the route from outside.
    assert httpx.post(f"{compose.url}/kms/revocations", json={}).status_code == 403
    # nginx spread the calls over both nodes, which accepted the same tokens (one key set
    # in the read-only secrets volume); the schema came from the migrate job.
    assert served_api(compose.logs("chat1")) > 0 and served_api(compose.logs("chat2")) > 0
    assert "database is up to date" in compose.logs("migrate")
