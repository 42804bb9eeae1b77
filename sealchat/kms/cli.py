"""``sealchat kms``: run the key service on its own, read its audit log, manage keys.

The ``key`` commands and ``audit`` work directly on the local key store, as the local
administrator (whoever can read the root key file and the key database).
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from sealchat.kms.models import Actor
    from sealchat.settings import Settings

T = TypeVar("T")

kms_app = typer.Typer(help="The embedded key service (KMS).", no_args_is_help=True)
key_app = typer.Typer(help="Manage master keys in the local key store.", no_args_is_help=True)
kms_app.add_typer(key_app, name="key")

DataDirOption = Annotated[
    Path | None,
    typer.Option(help="Where the key store and root key live.", envvar="SEALCHAT_DATA_DIR"),
]


def _settings(**overrides: Any) -> Settings:
    from sealchat.settings import Settings

    return Settings(**{key: value for key, value in overrides.items() if value is not None})


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work``; a refusal or a broken key store ends the command with its message."""
    from sealchat.domain.errors import SealchatError
    from sealchat.kms.errors import KeyServiceConfigError, RootKeyError

    try:
        return asyncio.run(work)
    except SealchatError as exc:
        typer.echo(f"error: {exc.message}", err=True)
    except (RootKeyError, KeyServiceConfigError) as exc:
        typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


def _local_administrator() -> Actor:
    from sealchat.kms.models import Actor

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Actor(user_id=None, username=f"local:{name}", local=True)


@kms_app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.", envvar="SEALCHAT_KMS_PORT")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run the key service as its own process, with its own port, storage and root key."""
    import uvicorn

    from sealchat.adapters.slow_clients import HTTP_PROTOCOL, set_header_timeout
    from sealchat.kms.runtime import create_kms_app
    from sealchat.logs import configure_logging

    settings = _settings(host=host, kms_port=port, data_dir=data_dir)
    configure_logging(settings.log_level, settings.log_format)
    set_header_timeout(settings.http_header_timeout_seconds)
    _run(_preflight(settings))
    shown_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    typer.echo(f"Sealchat key service is starting at http://{shown_host}:{settings.kms_port}/kms")
    uvicorn.run(
        create_kms_app(settings),
        host=settings.host,
        port=settings.kms_port,
        log_config=None,  # our handler, format and levels (sealchat/logs.py)
        # Client addresses (the per-address rate limit) from X-Forwarded-For only when
        # SEALCHAT_FORWARDED_ALLOW_IPS names the proxy in front.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        http=HTTP_PROTOCOL,  # a deadline for request heads (slowloris)
    )


async def _preflight(settings: Settings) -> None:
    """Fail with a clear message before serving: settings, root key, key store."""
    from sealchat.kms.runtime import check_standalone_settings, open_local_key_service

    check_standalone_settings(settings)
    async with open_local_key_service(settings):
        pass


@kms_app.command()
def audit(
    limit: Annotated[int, typer.Option(min=1, help="How many entries, newest first.")] = 50,
    data_dir: DataDirOption = None,
) -> None:
    """Print the newest audit entries: who used which key, for which room, and refusals."""
    from sealchat.kms.runtime import read_audit

    records = _run(read_audit(_settings(data_dir=data_dir), limit))
    header = ("time (UTC)", "actor", "operation", "key", "room", "result", "reason")
    rows = [header]
    for record in records:
        entry = record.entry
        key = "-" if entry.key_id is None else entry.key_id
        if entry.key_version is not None:
            key = f"{key} v{entry.key_version}"
        rows.append(
            (
                entry.at.strftime("%Y-%m-%d %H:%M:%S"),
                entry.actor_username or entry.actor_user_id or "(anonymous)",
                entry.operation.value,
                key,
                (entry.encryption_context or {}).get("room_id", "-"),
                "allowed" if entry.allowed else "DENIED",
                entry.reason or "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        padded = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        typer.echo("  ".join([*padded, row[-1]]).rstrip())
    if not records:
        typer.echo("(no entries)")


@key_app.command("list")
def key_list(data_dir: DataDirOption = None) -> None:
    """List the master keys."""
    from sealchat.kms.runtime import open_local_key_service

    async def work() -> None:
        async with open_local_key_service(_settings(data_dir=data_dir)) as service:
            for key in await service.list_keys():
                created = key.created_at.strftime("%Y-%m-%d %H:%M:%S")
                typer.echo(
                    f"{key.key_id}  version {key.current_version}  created {created} UTC"
                    + ("  DISABLED" if key.disabled_at else "")
                    + (f"  {key.description}" if key.description else "")
                )

    _run(work())


@key_app.command("create")
def key_create(
    key_id: str,
    description: Annotated[str, typer.Option(help="What the key is for.")] = "",
    data_dir: DataDirOption = None,
) -> None:
    """Create a master key."""
    from sealchat.kms.runtime import open_local_key_service

    async def work() -> None:
        async with open_local_key_service(_settings(data_dir=data_dir)) as service:
            key = await service.create_key(_local_administrator(), key_id, description)
            typer.echo(f"created key {key.key_id} (version 1)")

    _run(work())


@key_app.command("rotate")
def key_rotate(key_id: str, data_dir: DataDirOption = None) -> None:
    """Make a new version of a master key current; old versions still decrypt."""
    from sealchat.kms.runtime import open_local_key_service

    async def work() -> None:
        async with open_local_key_service(_settings(data_dir=data_dir)) as service:
            version = await service.rotate_key(_local_administrator(), key_id)
            typer.echo(f"rotated key {key_id}: version {version} seals from now on")

    _run(work())


@key_app.command("disable")
def key_disable(key_id: str, data_dir: DataDirOption = None) -> None:
    """Disable a master key: no data key is made or opened with it (`key_disabled`) until
    it is enabled again. Running key services see it at their next request."""
    from sealchat.kms.lifecycle import set_key_enabled

    _run(set_key_enabled(_settings(data_dir=data_dir), _local_administrator(), key_id, False))
    typer.echo(f"disabled key {key_id}")


@key_app.command("enable")
def key_enable(key_id: str, data_dir: DataDirOption = None) -> None:
    """Enable a disabled master key again."""
    from sealchat.kms.lifecycle import set_key_enabled

    _run(set_key_enabled(_settings(data_dir=data_dir), _local_administrator(), key_id, True))
    typer.echo(f"enabled key {key_id}")


@kms_app.command("rotate-root")
def rotate_root(data_dir: DataDirOption = None) -> None:
    """Re-wrap every master key under a new root key, while the key service runs."""
    from sealchat.kms.lifecycle import rotate_root_key
    from sealchat.kms.root_rotation import previous_path

    settings = _settings(data_dir=data_dir)
    count = _run(rotate_root_key(settings, _local_administrator()))
    path = settings.resolved_kms_root_key_file()
    typer.echo(
        f"re-wrapped {count} master key versions under a new root key, now in {path}.\n"
        f"The previous root key is in {previous_path(path)}: keep it as long as you keep\n"
        "backups of the key store taken before now, apart from them, then delete it.\n"
        "Copy the new root key to every other host of this key service, and to where you\n"
        "keep the root key apart from the backups; running services switch by themselves."
    )


@kms_app.command("audit-export")
def audit_export(
    since: Annotated[
        datetime | None, typer.Option(help="Only entries from this time on (UTC if no zone).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="A file (default: stdout).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Export the audit log as JSON lines, oldest first."""
    from sealchat.kms.lifecycle import export_audit

    settings = _settings(data_dir=data_dir)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if output is None:
        _run(export_audit(settings, lambda line: typer.echo(line, nl=False), since))
        return
    with output.open("w", encoding="utf-8") as file:
        count = _run(export_audit(settings, file.write, since))
    typer.echo(f"wrote {count} audit entries to {output}", err=True)
