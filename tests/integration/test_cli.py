"""The `sealchat` command: migrate, user create, serve."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.live_server import TEST_ENV, start_server


def sealchat(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sealchat", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **TEST_ENV, **env},
    )


def test_migrate_creates_the_database_and_is_repeatable(tmp_path: Path) -> None:
    for _ in range(2):
        done = sealchat("migrate", data_dir=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "up to date" in done.stdout
    assert (tmp_path / "sealchat.db").is_file()


def test_user_create_makes_an_account_that_can_sign_in(tmp_path: Path) -> None:
    made = sealchat(
        "user", "create", "Carol", data_dir=tmp_path, SEALCHAT_NEW_USER_PASSWORD="carols password"
    )
    assert made.returncode == 0, made.stderr
    assert "created user carol" in made.stdout
    again = sealchat(
        "user", "create", "carol", data_dir=tmp_path, SEALCHAT_NEW_USER_PASSWORD="another password"
    )
    assert again.returncode == 1
    assert "username is taken" in again.stderr
    assert "Traceback" not in again.stderr

    server = start_server(tmp_path)
    try:
        assert f"Sealchat is starting at {server.url}/" in server.log_text()
        login = httpx.post(
            f"{server.url}/api/auth/login",
            json={"username": "carol", "password": "carols password"},
        )
        assert login.status_code == 200
        token = login.json()["access_token"]
        me = httpx.get(f"{server.url}/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["user"]["username"] == "carol"
    finally:
        server.stop()


def test_bad_password_is_refused_without_a_traceback(tmp_path: Path) -> None:
    made = sealchat("user", "create", "dave", data_dir=tmp_path, SEALCHAT_NEW_USER_PASSWORD="short")
    assert made.returncode == 1
    assert "password must be" in made.stderr
    assert "Traceback" not in made.stderr
