"""``sealchat admin``: accounts and rooms, against the chat database, beside a running server.

The database must be at the current schema (``sealchat migrate``). A running server
notices disabled accounts and revoked sessions within ``SEALCHAT_ACCOUNT_CHECK_SECONDS``
and disconnects those users' sockets; see docs/operations.md.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from sealchat.domain.errors import SealchatError
from sealchat.settings import Settings

if TYPE_CHECKING:
    from sealchat.adapters.sql.admin import RoomRow, SqlAdmin, UserRow

T = TypeVar("T")

admin_app = typer.Typer(
    help="Operate on accounts and rooms (works on the database).", no_args_is_help=True
)
users_app = typer.Typer(help="List, disable, enable accounts; passwords; sessions.")
rooms_app = typer.Typer(help="List and delete rooms; transfer ownership.")
admin_app.add_typer(users_app, name="users")
admin_app.add_typer(rooms_app, name="rooms")

DataDirOption = Annotated[
    Path | None,
    typer.Option(help="Where the database lives (SQLite).", envvar="SEALCHAT_DATA_DIR"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]
YesOption = Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")]


def _settings(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def _run(settings: Settings, work: Callable[[SqlAdmin], Awaitable[T]]) -> T:
    """Run ``work(SqlAdmin)`` on the current schema; errors as one line, exit 1."""
    from sealchat.adapters.sql.admin import SqlAdmin
    from sealchat.adapters.sql.engine import create_engine
    from sealchat.adapters.sql.migrate import require_head

    async def go() -> T:
        url = settings.resolved_database_url()
        await require_head(url)
        engine = create_engine(url)
        try:
            return await work(SqlAdmin(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except SealchatError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at is not None else "-"


def _print_json(rows: list[Any]) -> None:
    for row in rows:
        typer.echo(json.dumps(asdict(row), default=str))


# -- accounts -------------------------------------------------------------------------


@users_app.command("list")
def users_list(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Every account: id, name, created, disabled."""
    rows = _run(_settings(data_dir), lambda admin: admin.list_users())
    if as_json:
        _print_json(rows)
        return
    for user in rows:
        state = f"disabled {_when(user.disabled_at)}" if user.disabled_at else "active"
        typer.echo(f"{user.id}  {user.username:<24} created {_when(user.created_at)}  {state}")


@users_app.command("disable")
def users_disable(user: str, data_dir: DataDirOption = None) -> None:
    """Disable an account (name or id): no sign-in or refresh; its sockets are closed."""

    async def work(admin: SqlAdmin) -> tuple[UserRow, int]:
        found = await admin.find_user(user)
        return found, await admin.set_disabled(found.id, True)

    found, revoked = _run(_settings(data_dir), work)
    typer.echo(f"disabled {found.username} ({found.id}); {revoked} refresh tokens revoked")


@users_app.command("enable")
def users_enable(user: str, data_dir: DataDirOption = None) -> None:
    """Enable a disabled account again (it signs in anew)."""

    async def work(admin: SqlAdmin) -> UserRow:
        found = await admin.find_user(user)
        await admin.set_disabled(found.id, False)
        return found

    found = _run(_settings(data_dir), work)
    typer.echo(f"enabled {found.username} ({found.id})")


@users_app.command("revoke-sessions")
def users_revoke_sessions(user: str, data_dir: DataDirOption = None) -> None:
    """End every session of an account: refresh tokens revoked, sockets closed, access
    tokens issued until now refused."""

    async def work(admin: SqlAdmin) -> tuple[UserRow, int]:
        found = await admin.find_user(user)
        return found, await admin.revoke_sessions(found.id)

    found, revoked = _run(_settings(data_dir), work)
    typer.echo(f"ended the sessions of {found.username}; {revoked} refresh tokens revoked")


@users_app.command("reset-password")
def users_reset_password(
    user: str,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="SEALCHAT_NEW_USER_PASSWORD",
            help="The new password.",
        ),
    ],
    data_dir: DataDirOption = None,
) -> None:
    """Set a new password (embedded sign-in); the account's sessions end with it."""
    from sealchat.domain.rules import check_password
    from sealchat.identity.passwords import PasswordHasher

    settings = _settings(data_dir)
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )

    async def work(admin: SqlAdmin) -> UserRow:
        check_password(password)
        found = await admin.find_user(user)
        await admin.set_password_hash(found.id, await hasher.hash(password))
        return found

    found = _run(settings, work)
    typer.echo(f"set a new password for {found.username}; its sessions are ended")


# -- rooms ----------------------------------------------------------------------------


@rooms_app.command("list")
def rooms_list(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Every room: id, name, visibility, owner, members, messages sent."""
    rows = _run(_settings(data_dir), lambda admin: admin.list_rooms())
    if as_json:
        _print_json(rows)
        return
    for room in rows:
        typer.echo(
            f"{room.id}  {room.name:<24} {room.visibility:<8} owner {room.owner or '-':<16} "
            f"{room.members} members  {room.last_seq} messages"
            + (f"  kept {room.retention_days} days" if room.retention_days else "")
        )


@rooms_app.command("delete")
def rooms_delete(room: str, data_dir: DataDirOption = None, yes: YesOption = False) -> None:
    """Delete a room (id, or a name no other room has) with all its messages."""
    settings = _settings(data_dir)
    found = _run(settings, lambda admin: admin.find_room(room))
    if not yes:
        typer.confirm(
            f"delete {found.name} ({found.id}), {found.members} members, "
            f"{found.last_seq} messages, for good?",
            abort=True,
        )
    members = _run(settings, lambda admin: admin.delete_room(found.id))
    typer.echo(f"deleted {found.name} ({found.id}); key access revoked for {members} members")


@rooms_app.command("retention")
def rooms_retention(room: str, days: str, data_dir: DataDirOption = None) -> None:
    """Delete the room's messages older than DAYS days for good (the retention job runs
    every SEALCHAT_RETENTION_INTERVAL_SECONDS); "default": the server's setting."""
    if days == "default":
        period = None
    elif days.isdigit():
        period = int(days)
    else:
        typer.echo("error: DAYS is a whole number of days, or default", err=True)
        raise typer.Exit(2)

    async def work(admin: SqlAdmin) -> RoomRow:
        found = await admin.find_room(room)
        await admin.set_retention(found.id, period)
        return found

    found = _run(_settings(data_dir), work)
    kept = f"{period} days" if period is not None else "the server's default"
    typer.echo(f"{found.name} ({found.id}) keeps its messages {kept}")


@rooms_app.command("transfer")
def rooms_transfer(room: str, new_owner: str, data_dir: DataDirOption = None) -> None:
    """Make a member (name or id) the room's owner; the previous owner stays a member."""

    async def work(admin: SqlAdmin) -> tuple[RoomRow, UserRow]:
        found = await admin.find_room(room)
        owner = await admin.find_user(new_owner)
        await admin.transfer_room(found.id, owner.id)
        return found, owner

    found, owner = _run(_settings(data_dir), work)
    typer.echo(f"{owner.username} now owns {found.name} ({found.id})")
