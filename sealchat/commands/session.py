"""``sealchat login``, ``logout``, ``whoami``: sign in once, then work."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from typing import Annotated

import typer

from sealchat.client import ClientError, SealchatClient
from sealchat.client.client import provider_authenticator
from sealchat.client.session_store import SessionStore, StoredSession, check_profile
from sealchat.client.stored_auth import StoredSessionAuthenticator
from sealchat.client.terminal import terminal_safe
from sealchat.client.trust import trust_indicator
from sealchat.commands.account import (
    DEFAULT_URL,
    Account,
    JsonOption,
    ProfileOption,
    echo_json,
    run,
    signed_in,
)

LoginUrlOption = Annotated[
    str | None,
    typer.Option(
        "--url", envvar="SEALCHAT_URL", help=f"The Sealchat server (default: {DEFAULT_URL})."
    ),
]


def register(app: typer.Typer) -> None:
    @app.command()
    def login(
        username: Annotated[
            str | None,
            typer.Argument(envvar="SEALCHAT_USERNAME", help="Your username (asked if absent)."),
        ] = None,
        url: LoginUrlOption = None,
        profile: ProfileOption = "default",
    ) -> None:
        """Sign in once: asks for the password (or reads SEALCHAT_PASSWORD) and keeps the
        session (a refresh token, never the password) in the system keyring, or in a file
        only you can read. Later commands use it."""
        check = run_checked(lambda: check_profile(profile))
        name = username or _ask_username()
        password = os.environ.get("SEALCHAT_PASSWORD") or getpass.getpass(f"Password for {name}: ")
        server = url or DEFAULT_URL

        async def work() -> None:
            store = SessionStore()
            async with SealchatClient(server) as client:
                mode = ((await client.server_config()).get("auth") or {}).get("mode")
                mode = mode or "embedded"
                if mode not in ("embedded", "oidc", "cognito"):
                    raise ClientError(
                        "unsupported",
                        f"this server signs in through {mode}: `sealchat login` keeps sessions "
                        "of the embedded provider, OIDC and Cognito; give --password per command",
                    )
                user = await client.login(name, password)
                token = getattr(client.api.authenticator, "refresh_token", None)
                if not token:
                    raise ClientError(
                        "unsupported",
                        "the identity provider gave no refresh token to keep: give "
                        "--password per command",
                    )
                await _end_previous(store, check)
                stored = store.save(
                    check,
                    StoredSession(server, user["username"], user["id"], str(token), mode=mode),
                )
                typer.echo(
                    terminal_safe(
                        f"signed in to {server} as {user['username']} (profile {check}); "
                        f"the session is kept in {store.where(stored, check)}"
                    )
                )
                typer.echo(trust_indicator(await client.server_config()).line())

        run(work)

    @app.command()
    def logout(profile: ProfileOption = "default") -> None:
        """End the stored session: revoke it at the server, then forget it here."""

        async def work() -> None:
            store = SessionStore()
            stored = store.load(check_profile(profile))
            if stored is None:
                typer.echo(f"profile {profile!r} is not signed in")
                return
            await _sign_out(store, profile, stored)
            typer.echo(terminal_safe(f"signed out {stored.username} at {stored.url}"))

        run(work)

    @app.command()
    def whoami(profile: ProfileOption = "default", as_json: JsonOption = False) -> None:
        """Who the stored session is, at which server, and what the server's layout means."""

        async def work() -> None:
            store = SessionStore()
            async with signed_in(Account(profile=profile)) as client:
                me = await client.me()
                trust = trust_indicator(await client.server_config())
                stored = store.load(profile)
                where = store.where(stored, profile) if stored else "-"
                if as_json:
                    echo_json(
                        {
                            "profile": profile,
                            "url": client.api.base_url,
                            "user": me,
                            "session_storage": where,
                            "key_service_layout": trust.layout,
                            "trust": trust.summary,
                            "docs": trust.docs_link,
                        }
                    )
                    return
                typer.echo(
                    terminal_safe(
                        f"{me['username']} ({me['id']}) at {client.api.base_url}, "
                        f"profile {profile}; session in {where}"
                    )
                )
                typer.echo(trust.line())

        run(work)


def run_checked(check: Callable[[], str]) -> str:
    """Validate the profile name before asking for a password."""
    try:
        return check()
    except ClientError as exc:
        typer.echo(f"error: {exc.code}: {exc.message}", err=True)
        raise typer.Exit(1) from None


async def _end_previous(store: SessionStore, profile: str) -> None:
    """Signing in again over a stored session revokes the old one first (best effort)."""
    stored = store.load(profile)
    if stored is None:
        return
    try:
        await _sign_out(store, profile, stored)
    except ClientError:
        store.delete(profile)


async def _sign_out(store: SessionStore, profile: str, stored: StoredSession) -> None:
    """Revoke the stored session at its provider, then forget it here."""
    async with SealchatClient(stored.url) as client:
        if stored.mode == "embedded":
            auth = StoredSessionAuthenticator(client.api.public_post, store, profile)
            await auth.sign_out()
            return
        config = (await client.server_config()).get("auth") or {}
        try:
            if config.get("mode") == stored.mode:
                provider = provider_authenticator(config)
                client.api.authenticator = provider  # closed with the client
                provider.refresh_token = stored.refresh_token
                await provider.sign_out()  # Cognito revokes it; OIDC forgets it
        finally:
            store.delete(profile)


def _ask_username() -> str:
    try:
        name = input("Username: ").strip()
    except EOFError:
        name = ""
    if not name:
        typer.echo("error: invalid_input: give a username: sealchat login USERNAME", err=True)
        raise typer.Exit(1)
    return name
