"""Run the `sealchat` command as a person would, against a live server."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

# Variables of the test run's own environment that would change who the command runs as.
SIGN_IN_VARIABLES = ("SEALCHAT_URL", "SEALCHAT_USERNAME", "SEALCHAT_PASSWORD", "SEALCHAT_PROFILE")


@dataclass
class Done:
    code: int
    out: str
    err: str


class Terminal:
    """One person's terminal: their own config directory, no keyring (as on a headless
    machine), no password in the environment unless a call passes one."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.env = {k: v for k, v in os.environ.items() if k not in SIGN_IN_VARIABLES}
        self.env["SEALCHAT_CONFIG_DIR"] = str(config_dir)
        self.env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

    def profile_file(self, profile: str = "default") -> Path:
        return self.config_dir / "profiles" / f"{profile}.json"

    async def run(self, *args: str, stdin: bytes = b"", timeout: float = 60, **env: str) -> Done:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sealchat",
            *args,
            env={**self.env, **env},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
        except BaseException:
            process.kill()
            await process.wait()
            raise
        return Done(process.returncode or 0, out.decode(), err.decode())
