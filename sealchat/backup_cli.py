"""``sealchat backup DIR`` and ``sealchat restore DIR`` (docs/operations.md#backups)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from sealchat.domain.errors import SealchatError
from sealchat.settings import Settings

DataDirOption = Annotated[
    Path | None,
    typer.Option(help="The server's data dir.", envvar="SEALCHAT_DATA_DIR"),
]

ROOT_KEY_ADVICE = (
    "The key service's root key is NOT in this backup, and must never be stored with it:\n"
    "  {path}\n"
    "Keep a copy of it apart (another medium, a password manager, a secret store), so\n"
    "that whoever gets the backup cannot open the master keys in it, and whoever loses\n"
    "the server can. Without it the messages in this backup can never be opened."
)


class Store(enum.StrEnum):
    chat = "chat"
    kms = "kms"


def _settings(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def register(app: typer.Typer) -> None:
    @app.command("backup")
    def backup_command(
        directory: Path,
        data_dir: DataDirOption = None,
        only: Annotated[
            Store | None,
            typer.Option(help="Copy one store (to keep the two backups apart)."),
        ] = None,
    ) -> None:
        """Copy the chat store and the key service's store into DIR (new or empty),
        consistent while the server runs (SQLite; PostgreSQL: pg_dump)."""
        from sealchat.backup import CHAT_FILE, KMS_FILE, backup

        settings = _settings(data_dir)
        names = {Store.chat: CHAT_FILE, Store.kms: KMS_FILE}
        try:
            manifest = backup(settings, directory, names[only] if only else None)
        except SealchatError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1) from None
        for name, entry in manifest["files"].items():
            typer.echo(f"copied {name} ({entry['bytes']} bytes) to {directory / name}")
        for name, reason in manifest["skipped"].items():
            typer.echo(f"not copied: {name}, {reason} (docs/operations.md#backups)")
        if manifest["root_key_sha256"] is not None:
            typer.echo(ROOT_KEY_ADVICE.format(path=settings.resolved_kms_root_key_file()))

    @app.command("restore")
    def restore_command(
        directory: Path,
        data_dir: DataDirOption = None,
        replace: Annotated[
            bool, typer.Option("--replace", help="Overwrite existing databases.")
        ] = False,
    ) -> None:
        """Put a backup from DIR in place. Stop the server first; bring the root key back
        to its place separately."""
        from sealchat.backup import read_manifest, restore, root_key_matches

        settings = _settings(data_dir)
        try:
            restored = restore(settings, directory, replace=replace)
            matches = root_key_matches(settings, read_manifest(directory))
        except SealchatError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1) from None
        for path in restored:
            typer.echo(f"restored {path}")
        root_key = settings.resolved_kms_root_key_file()
        if matches is False:
            typer.echo(f"warning: {root_key} is not the root key this backup was taken with")
        elif matches is None and read_manifest(directory).get("root_key_sha256"):
            typer.echo(f"now put the root key this backup was taken with at {root_key}")
        typer.echo("run `sealchat migrate` if this backup is from an older version, then start")
