"""Consistent copies of the chat store and the key service's store, and putting them back.

SQLite files are copied with SQLite's online backup API in one step: one read
transaction, so the copy is the database as of one moment, while the server keeps
writing (WAL: writers are not blocked). PostgreSQL is backed up with ``pg_dump``
(docs/operations.md); this module then says so and copies the SQLite parts only.

The key service's root key is never put in a backup: the backup holds wrapped master keys
and sealed envelopes, which are safe exactly as long as the root key is kept elsewhere.
``manifest.json`` names the root key by its fingerprint, so a restore can say whether the
root key at hand is the right one.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from sealchat import __version__
from sealchat.domain.errors import InvalidInput
from sealchat.settings import Settings

MANIFEST = "manifest.json"
FORMAT = 1
CHAT_FILE = "sealchat.db"
KMS_FILE = "kms.db"


@dataclass(frozen=True, slots=True)
class Store:
    """One store of the deployment: its name in a backup and where it lives."""

    name: str
    url: str

    @property
    def sqlite_path(self) -> Path | None:
        url = make_url(self.url)
        if not url.drivername.startswith("sqlite") or not url.database:
            return None
        return Path(url.database)


def stores(settings: Settings) -> list[Store]:
    found = [Store(CHAT_FILE, settings.resolved_database_url())]
    if settings.uses_embedded_key_service:
        found.append(Store(KMS_FILE, settings.resolved_kms_database_url()))
    return found


def root_key_fingerprint(path: Path) -> str | None:
    """SHA-256 of the root key file: names the key without revealing it."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (online backup API, one step)."""
    if not source.is_file():
        raise InvalidInput(f"no database at {source}")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # pages=-1: every page in one step, one snapshot
        dst.execute("PRAGMA journal_mode=DELETE")
        problem = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if problem != "ok":
            raise InvalidInput(f"the copy of {source.name} is damaged: {problem}")
    finally:
        dst.close()
        src.close()


def _schema_revision(path: Path) -> str | None:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        try:
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
    return str(row[0]) if row else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup(settings: Settings, directory: Path, only: str | None = None) -> dict[str, Any]:
    """Copy every SQLite store (or ``only`` the one of that name) into ``directory`` (new
    or empty) and write the manifest. Returns the manifest; ``skipped`` lists the stores
    to back up with ``pg_dump``."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise InvalidInput(f"{directory} is not empty: back up into a new directory")
    files: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for store in stores(settings):
        if only is not None and store.name != only:
            continue
        path = store.sqlite_path
        if path is None:
            url = make_url(store.url).render_as_string(hide_password=True)
            skipped[store.name] = f"on {url}: back it up with pg_dump"
            continue
        if not path.is_file():
            # A key service of its own (another host) or a chat store not on this host.
            skipped[store.name] = f"no database at {path} on this host"
            continue
        target = directory / store.name
        sqlite_copy(path, target)
        files[store.name] = {
            "sha256": _sha256(target),
            "bytes": target.stat().st_size,
            "schema": _schema_revision(target) if store.name == CHAT_FILE else None,
        }
    if not files:
        raise InvalidInput(f"nothing to copy here: {'; '.join(skipped.values())}")
    root_key = settings.resolved_kms_root_key_file()
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sealchat_version": __version__,
        "files": files,
        "skipped": skipped,
        "root_key_sha256": root_key_fingerprint(root_key) if KMS_FILE in files else None,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        raise InvalidInput(f"{directory} holds no Sealchat backup (no {MANIFEST})")
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise InvalidInput(f"unknown backup format {manifest.get('format')!r}")
    for name, entry in manifest["files"].items():
        if _sha256(directory / name) != entry["sha256"]:
            raise InvalidInput(f"{name} in the backup does not match its checksum")
    return manifest


def restore(settings: Settings, directory: Path, *, replace: bool = False) -> list[str]:
    """Put the backed-up SQLite stores where the settings say (server stopped).
    Refuses to overwrite a database unless ``replace``. Returns what was restored."""
    manifest = read_manifest(directory)
    restored = []
    for store in stores(settings):
        if store.name not in manifest["files"]:
            continue
        path = store.sqlite_path
        if path is None:
            raise InvalidInput(
                f"{store.name} is configured on a server database: restore it with pg_restore"
            )
        if path.exists() and not replace:
            raise InvalidInput(f"{path} exists: stop the server and pass --replace")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        sqlite_copy(directory / store.name, path)
        restored.append(str(path))
    return restored


def root_key_matches(settings: Settings, manifest: dict[str, Any]) -> bool | None:
    """Whether the configured root key is the one the backup was taken with (None: the
    backup has no key-service store, or no root key is in place)."""
    expected = manifest.get("root_key_sha256")
    if expected is None:
        return None
    actual = root_key_fingerprint(settings.resolved_kms_root_key_file())
    return None if actual is None else actual == expected
