"""Who a command runs as: a stored session (``sealchat login``) or a password.

Every client command takes ``--profile``, ``--url``, ``--username`` and ``--password`` (or
``SEALCHAT_PROFILE``, ``SEALCHAT_URL``, ``SEALCHAT_USERNAME``, ``SEALCHAT_PASSWORD``):

- a password given (flag or environment): sign in with it, as before; nothing is stored;
- else the profile's stored session: one refresh (the token rotates), then the command;
- else, with a username and a terminal: ask for the password;
- else: "not signed in", with the command that fixes it.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer

from sealchat.client import ClientError, SealchatClient
from sealchat.client.client import provider_authenticator
from sealchat.client.session_store import DEFAULT_PROFILE, SessionStore, check_profile
from sealchat.client.stored_auth import (
    StoredCognitoSession,
    StoredOidcSession,
    StoredProviderRefresh,
    StoredSessionAuthenticator,
)
from sealchat.client.terminal import terminal_safe

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8000"

ProfileOption = Annotated[
    str,
    typer.Option(
        "--profile",
        "-p",
        envvar="SEALCHAT_PROFILE",
        help="Which stored session (one per server and account; see `sealchat login`).",
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url", envvar="SEALCHAT_URL", help=f"The Sealchat server (default: {DEFAULT_URL})."
    ),
]
UserOption = Annotated[
    str | None,
    typer.Option("--username", "-u", envvar="SEALCHAT_USERNAME", help="Your username."),
]
PasswordOption = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar="SEALCHAT_PASSWORD",
        help="Your password (without it: the stored session of `sealchat login`).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")]


@dataclass(frozen=True)
class Account:
    """The sign-in options of one command."""

    profile: str = DEFAULT_PROFILE
    url: str | None = None
    username: str | None = None
    password: str | None = None


@asynccontextmanager
async def signed_in(account: Account) -> AsyncIterator[SealchatClient]:
    """A client signed in as the command's account (see the module's docstring)."""
    profile = check_profile(account.profile)
    if account.password:
        url = account.url or _stored_url(profile) or DEFAULT_URL
        async with SealchatClient(url) as client:
            await client.login(_username(account), account.password)
            yield client
        return
    store = SessionStore()
    stored = store.load(profile)
    if stored is None:
        if account.username and sys.stdin.isatty():
            password = getpass.getpass(f"Password for {account.username}: ")
            async with SealchatClient(account.url or DEFAULT_URL) as client:
                await client.login(account.username, password)
                yield client
            return
        raise ClientError("unauthorized", _not_signed_in(profile))
    _check_matches(account, stored.url, stored.username, profile)
    async with SealchatClient(stored.url) as client:
        if stored.mode != "embedded":
            await resume_provider(client, store, profile, stored.mode)
            yield client
            return
        auth = StoredSessionAuthenticator(client.api.public_post, store, profile)
        client.api.authenticator = auth
        await auth.resume()
        client.core.set_user(auth.user)
        yield client


async def resume_provider(
    client: SealchatClient, store: SessionStore, profile: str, mode: str
) -> StoredProviderRefresh:
    """Sign ``client`` in with the OIDC or Cognito session stored in ``profile``."""
    config = (await client.server_config()).get("auth") or {"mode": "embedded"}
    if config.get("mode") != mode:
        raise ClientError(
            "unauthorized",
            f"profile {profile!r} signed in through {mode}, the server now through "
            f"{config.get('mode')}: run `sealchat login` again",
        )
    auth = provider_authenticator(config, StoredOidcSession, StoredCognitoSession)
    assert isinstance(auth, StoredProviderRefresh)
    auth.keep_in(store, profile)
    client.api.authenticator = auth
    await auth.refresh()
    user = await client.me()
    auth.set_user(user)
    client.core.set_user(user)
    return auth


def _stored_url(profile: str) -> str | None:
    try:
        stored = SessionStore().load(profile)
    except ClientError:
        return None
    return stored.url if stored is not None else None


def _username(account: Account) -> str:
    if not account.username:
        raise ClientError("invalid_input", "a password needs a username (--username)")
    return account.username


def _check_matches(account: Account, url: str, username: str, profile: str) -> None:
    """A --url or --username that names another server or account than the profile is
    refused rather than silently ignored."""
    if account.url and account.url.rstrip("/") != url.rstrip("/"):
        raise ClientError(
            "invalid_input",
            f"profile {profile!r} is signed in at {url}, not {account.url}: "
            f"`sealchat login --url {account.url} --profile NAME` to add it",
        )
    if account.username and account.username.strip().lower() != username.lower():
        raise ClientError(
            "invalid_input",
            f"profile {profile!r} is signed in as {username}, not {account.username}: "
            "use another --profile, or give --password",
        )


def _not_signed_in(profile: str) -> str:
    flag = "" if profile == DEFAULT_PROFILE else f" --profile {profile}"
    return f"not signed in: run `sealchat login{flag}` (or give --password / SEALCHAT_PASSWORD)"


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run a command; a refusal prints a clear message and exits 1 (no traceback)."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except ClientError as exc:
        fail(exc)
        raise  # unreachable: fail exits


def fail(exc: ClientError) -> None:
    message = terminal_safe(exc.message, multiline=True)
    typer.echo(f"error: {terminal_safe(exc.code)}: {message}", err=True)
    raise typer.Exit(1) from None


def echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))
