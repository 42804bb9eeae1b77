"""sealchat/backup.py without a server: what is copied, what is left to pg_dump."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from sealchat.backup import backup, read_manifest
from sealchat.domain.errors import InvalidInput
from sealchat.settings import Settings


def make_sqlite(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")


def test_a_postgresql_chat_store_is_left_to_pg_dump(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", database_url="postgresql+asyncpg://chat:secret@db/chat"
    )
    make_sqlite(tmp_path / "data" / "kms" / "kms.db")
    manifest = backup(settings, tmp_path / "copy")
    assert list(manifest["files"]) == ["kms.db"]
    assert "pg_dump" in manifest["skipped"]["sealchat.db"]
    assert "secret" not in json.dumps(manifest)
    assert read_manifest(tmp_path / "copy")["files"]["kms.db"]["bytes"] > 0


def test_nothing_to_copy_and_a_tampered_copy_are_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "empty")
    with pytest.raises(InvalidInput, match="nothing to copy"):
        backup(settings, tmp_path / "copy")
    make_sqlite(tmp_path / "data" / "sealchat.db")
    backup(Settings(data_dir=tmp_path / "data"), tmp_path / "copy2")
    with (tmp_path / "copy2" / "sealchat.db").open("ab") as file:
        file.write(b"x")
    with pytest.raises(InvalidInput, match="checksum"):
        read_manifest(tmp_path / "copy2")
