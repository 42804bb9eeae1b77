"""The ``sealchat`` command: serve, migrate, and manage users."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sealchat import backup_cli, commands
from sealchat.admin_cli import admin_app
from sealchat.keys_cli import keys_app
from sealchat.kms.cli import kms_app

if TYPE_CHECKING:  # the server's settings load only for the commands that use them
    from sealchat.settings import Settings

app = typer.Typer(help="Sealchat: realtime team chat sealed in the client.", no_args_is_help=True)
user_app = typer.Typer(help="Manage accounts of the embedded identity provider.")
app.add_typer(user_app, name="user")
commands.register(app)
backup_cli.register(app)
app.add_typer(kms_app, name="kms")
app.add_typer(keys_app, name="keys")
app.add_typer(admin_app, name="admin")

HostOption = Annotated[
    str | None, typer.Option(help="Interface to listen on.", envvar="SEALCHAT_HOST")
]
PortOption = Annotated[
    int | None, typer.Option(help="TCP port to listen on.", envvar="SEALCHAT_PORT")
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(help="Where the database and key files live.", envvar="SEALCHAT_DATA_DIR"),
]


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with command-line options taking precedence."""
    from sealchat.settings import Settings

    return Settings(**{key: value for key, value in overrides.items() if value is not None})


WorkersOption = Annotated[
    int | None,
    typer.Option(
        help="Server processes sharing the port (websocket only; more than 1 needs "
        "PostgreSQL and Redis).",
        envvar="SEALCHAT_WORKERS",
        min=1,
    ),
]


@app.command()
def serve(
    host: HostOption = None,
    port: PortOption = None,
    data_dir: DataDirOption = None,
    workers: WorkersOption = None,
) -> None:
    """Run the server (migrating the database first) and print its URL."""
    import uvicorn

    from sealchat.adapters.slow_clients import HTTP_PROTOCOL, set_header_timeout
    from sealchat.app import create_app

    settings = load_settings(host=host, port=port, data_dir=data_dir, workers=workers)
    from sealchat.logs import configure_logging
    from sealchat.metrics_workers import supervisor_listener

    configure_logging(settings.log_level, settings.log_format)
    set_header_timeout(settings.http_header_timeout_seconds)  # workers: in their app factory
    app: Any = _prepare_workers(settings) if settings.workers > 1 else create_app(settings)
    metrics_port = supervisor_listener(settings) if settings.workers > 1 else None
    docs = f" (API docs at {settings.resolved_public_url()}/docs)" if settings.api_docs else ""
    typer.echo(f"Sealchat is starting at {settings.resolved_public_url()}/{docs}")
    uvicorn.run(
        app,
        factory=settings.workers > 1,
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        log_config=None,  # our handler, format and levels (sealchat/logs.py)
        # X-Forwarded-For/-Proto are believed only from the proxies named in
        # SEALCHAT_FORWARDED_ALLOW_IPS; by default nobody can forge them.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        # uvicorn's httptools protocol with a deadline for request heads (slowloris).
        http=HTTP_PROTOCOL,
        # uvicorn's websockets-sansio protocol, reachable from the app for the fast lane.
        ws="sealchat.adapters.fast_lane:FastLaneProtocol",
        # Compressing every frame for every recipient costs 13-38 % of the CPU of a
        # broadcast (docs/benchmarks.md), and compressed sockets cannot take the fast
        # lane; socket.io leaves it off by default too.
        ws_per_message_deflate=settings.websocket_per_message_deflate,
    )
    if metrics_port is not None:
        metrics_port.close()


def _prepare_workers(settings: Settings) -> str:
    """Check that workers can share state, then build everything once (migrations, key
    files, the key service's tables) so that the workers do not race to create them.
    Returns the app factory the workers import; they read the settings from the
    environment, where the command-line options are put."""
    import os

    from sealchat.metrics_workers import prepare_multiprocess

    prepare_multiprocess(settings)  # before anything imports prometheus_client
    from sealchat.domain.errors import SealchatError
    from sealchat.wiring import build_socketio_server, runtime

    problem = settings.cluster_problem()
    if problem is not None:
        typer.echo(f"error: --workers {settings.workers}: {problem}", err=True)
        raise typer.Exit(2)

    async def build_once() -> None:
        async with runtime(settings, build_socketio_server(settings)):
            pass

    try:
        asyncio.run(build_once())
    except SealchatError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    os.environ.update(
        {
            "SEALCHAT_HOST": settings.host,
            "SEALCHAT_PORT": str(settings.port),
            "SEALCHAT_DATA_DIR": str(settings.data_dir),
            # One port, N processes: a polling request may reach any of them.
            "SEALCHAT_LONG_POLLING": "false",
        }
    )
    return "sealchat.app:create_app_from_environment"


@app.command()
def migrate(data_dir: DataDirOption = None) -> None:
    """Apply database migrations (``serve`` also does this on start)."""
    from sealchat.adapters.secret_files import ensure_private_directory
    from sealchat.adapters.sql.migrate import upgrade_to_head

    settings = load_settings(data_dir=data_dir)
    ensure_private_directory(settings.data_dir)
    asyncio.run(upgrade_to_head(settings.resolved_database_url()))
    typer.echo("database is up to date")


@user_app.command("create")
def user_create(
    username: str,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="SEALCHAT_NEW_USER_PASSWORD",
            help="The new account's password.",
        ),
    ],
    data_dir: DataDirOption = None,
) -> None:
    """Create an account in the embedded identity provider."""
    from sealchat.domain.errors import SealchatError
    from sealchat.wiring import create_embedded_account

    settings = load_settings(data_dir=data_dir)
    try:
        user = asyncio.run(create_embedded_account(settings, username, password))
    except SealchatError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created user {user.username} ({user.id})")


def main() -> None:
    app()
