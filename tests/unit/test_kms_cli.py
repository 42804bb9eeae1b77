"""``sealchat kms``: local key administration, the audit table, and serve's checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealchat.kms.cli import kms_app

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("SEALCHAT_JWKS_URL", "SEALCHAT_KMS_GRANT_JWKS_URL", "SEALCHAT_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)


def kms(data_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(kms_app, [*args, "--data-dir", str(data_dir)])
    return result.exit_code, result.output


def test_key_create_list_rotate_and_audit(tmp_path: Path) -> None:
    code, out = kms(tmp_path, "key", "create", "team/archive", "--description", "old rooms")
    assert code == 0, out
    assert "created key team/archive" in out
    code, out = kms(tmp_path, "key", "rotate", "team/archive")
    assert code == 0, out
    assert "version 2" in out
    code, out = kms(tmp_path, "key", "list")
    assert code == 0, out
    assert "sealchat-messages  version 1" in out
    assert "team/archive  version 2" in out and "old rooms" in out
    code, out = kms(tmp_path, "audit", "--limit", "10")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split() == [
        "time",
        "(UTC)",
        "actor",
        "operation",
        "key",
        "room",
        "result",
        "reason",
    ]
    assert "rotate-key" in lines[1] and "team/archive v2" in lines[1] and "allowed" in lines[1]
    assert "local:" in lines[1]
    assert "create-key" in lines[2]
    assert "key-service" in lines[3] and "sealchat-messages v1" in lines[3]


def test_admin_commands_report_refusals(tmp_path: Path) -> None:
    code, out = kms(tmp_path, "key", "rotate", "no-such-key")
    assert code == 1
    assert "error: no key 'no-such-key'" in out
    code, out = kms(tmp_path, "key", "create", "bad key!")
    assert code == 1
    assert "key_id must be" in out
    code, out = kms(tmp_path, "audit")
    assert "DENIED" in out and "no key 'no-such-key'" in out


def test_a_missing_root_key_stops_every_command_with_the_reason(tmp_path: Path) -> None:
    assert kms(tmp_path, "key", "list")[0] == 0
    (tmp_path / "kms" / "root.key").unlink()
    code, out = kms(tmp_path, "key", "list")
    assert code == 1
    assert "root key file" in out and "is missing" in out and "restore the file" in out


def test_serve_needs_to_know_whom_to_trust(tmp_path: Path) -> None:
    code, out = kms(tmp_path, "serve", "--port", "0")
    assert code == 1
    assert "SEALCHAT_JWKS_URL" in out and "SEALCHAT_KMS_GRANT_JWKS_URL" in out
