"""sealchat.client is a client-only package: importing it loads nothing of the server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SERVER_PACKAGES = (
    "sealchat.adapters",
    "sealchat.api",
    "sealchat.app",
    "sealchat.cli",
    "sealchat.domain",
    "sealchat.identity",
    "sealchat.kms",
    "sealchat.ports",
    "sealchat.services",
    "sealchat.settings",
    "sealchat.wiring",
)


def loaded_after(statement: str) -> list[str]:
    script = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    return [m for m in json.loads(done.stdout) if m.startswith("sealchat")]


@pytest.mark.parametrize(
    "statement",
    [
        "import sealchat.client",
        "from sealchat.client import SealchatClient",
        "import sealchat.client.core, sealchat.client.content, sealchat.client.room_timeline",
        "import sealchat.client.rest, sealchat.client.realtime, sealchat.client.auth",
        "import sealchat.client.outbox, sealchat.client.rooms, sealchat.client.models",
    ],
)
def test_the_client_loads_no_server_module(statement: str) -> None:
    loaded = loaded_after(statement)
    assert "sealchat.client" in loaded
    server = [m for m in loaded if m.split(".")[:2] in [p.split(".") for p in SERVER_PACKAGES]]
    assert server == [], f"{statement!r} loaded server modules: {server}"


def test_the_shared_envelope_module_imports_nothing_of_sealchat() -> None:
    assert loaded_after("import sealchat.envelope_spec") == ["sealchat", "sealchat.envelope_spec"]


ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).parent / "ruff"
PROBE = "from sealchat.domain.envelope import VERSION\n\nprint(VERSION)\n"


def ruff_codes(filename: str) -> str:
    done = subprocess.run(
        [
            str(RUFF),
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            "--stdin-filename",
            filename,
            "-",
        ],
        input=PROBE,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return done.stdout


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is not installed beside this Python")
def test_ruff_refuses_server_imports_in_the_client_package_only() -> None:
    assert "TID251" in ruff_codes("sealchat/client/probe.py")
    assert "TID251" not in ruff_codes("sealchat/services/probe.py")
