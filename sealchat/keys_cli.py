"""``sealchat keys``: list and rotate the identity provider's and the grant signing keys.

Run it where the key directories are writable (the secrets directory every node mounts);
nodes pick the change up within ``SEALCHAT_KEY_RELOAD_SECONDS``, without a restart.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sealchat.settings import Settings

keys_app = typer.Typer(
    help="Rotate the signing keys (identity provider, room-access grants).", no_args_is_help=True
)


class KeyKind(enum.StrEnum):
    identity = "identity"
    grants = "grants"


DataDirOption = Annotated[
    Path | None,
    typer.Option(help="The data dir (keys default to it).", envvar="SEALCHAT_DATA_DIR"),
]


def _settings(data_dir: Path | None) -> Settings:
    from sealchat.settings import Settings

    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def _directory(settings: Settings, kind: KeyKind) -> Path:
    if kind is KeyKind.identity:
        return settings.resolved_identity_key_dir()
    return settings.resolved_grant_key_dir()


def _verify_seconds(settings: Settings, kind: KeyKind) -> float:
    if kind is KeyKind.identity:
        return settings.identity_key_verify_seconds()
    return settings.grant_key_verify_seconds()


def _time(value: float) -> str:
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S")


@keys_app.command("init")
def init_command(data_dir: DataDirOption = None) -> None:
    """Create the identity and grant signing keys if they do not exist yet (nodes do it
    too at their first start, unless their secrets directory is read-only)."""
    from sealchat.identity.key_set import SigningKeySet

    settings = _settings(data_dir)
    for kind in KeyKind:
        directory = _directory(settings, kind)
        key = SigningKeySet(directory).active
        typer.echo(f"{kind.value:<9} active {key.kid} in {directory}")


@keys_app.command("list")
def list_command(data_dir: DataDirOption = None) -> None:
    """Every signing key: active (signs), next (published, not signing yet), retired
    (verify-only until its tokens have expired)."""
    from sealchat.identity.key_rotation import list_keys

    settings = _settings(data_dir)
    typer.echo(f"{'set':<9} {'state':<8} {'since (UTC)':<20} {'published until':<20} kid")
    for kind in KeyKind:
        for key in list_keys(_directory(settings, kind)):
            until = _time(key.verify_until) if key.verify_until is not None else "-"
            since = _time(key.since)
            typer.echo(f"{kind.value:<9} {key.state:<8} {since:<20} {until:<20} {key.kid}")


@keys_app.command("rotate")
def rotate_command(
    kind: Annotated[KeyKind, typer.Argument(help="Which key set.")],
    force: Annotated[
        bool, typer.Option(help="Promote the next key even if it was published only now.")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """First call: stage a next key (published in the JWKS, not signing). Second call,
    at least SEALCHAT_KEY_ACTIVATION_DELAY_SECONDS later: make it the active key; the old
    one stays published (verify-only) until what it signed has expired."""
    from sealchat.identity.key_rotation import RotationRefused, promote_next, stage_next
    from sealchat.identity.key_set import NEXT

    settings = _settings(data_dir)
    directory = _directory(settings, kind)
    try:
        if not (directory / NEXT).exists():
            kid = stage_next(directory)
            typer.echo(
                f"staged the next {kind.value} key {kid}: published now, signing after "
                f"`sealchat keys rotate {kind.value}` again in "
                f"{settings.key_activation_delay_seconds:.0f} s or more"
            )
            return
        old, new = promote_next(
            directory,
            verify_seconds=_verify_seconds(settings, kind),
            min_age=settings.key_activation_delay_seconds,
            force=force,
        )
    except RotationRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"{kind.value} key {new} now signs; {old} is verify-only for "
        f"{_verify_seconds(settings, kind):.0f} s (then `sealchat keys retire {kind.value}`)"
    )


@keys_app.command("retire")
def retire_command(
    kind: Annotated[KeyKind, typer.Argument(help="Which key set.")],
    kid: Annotated[
        str | None,
        typer.Option(help="Retire this key now: what it signed is refused from now on."),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Delete retired keys whose tokens have all expired (or the one named, at once)."""
    from sealchat.identity.key_rotation import RotationRefused, retire

    settings = _settings(data_dir)
    try:
        removed = retire(_directory(settings, kind), kid)
    except RotationRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for gone in removed:
        typer.echo(f"retired {kind.value} key {gone}")
    if not removed:
        typer.echo(f"no {kind.value} key to retire")
