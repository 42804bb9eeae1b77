"""``sealchat tui``: the full-screen terminal client (sealchat/tui/)."""

from __future__ import annotations

import typer

from sealchat.commands.account import (
    Account,
    PasswordOption,
    ProfileOption,
    UrlOption,
    UserOption,
    run,
    signed_in,
)


def register(app: typer.Typer) -> None:
    @app.command()
    def tui(
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        """Full-screen chat in the terminal: rooms with unread counts, the timeline (ctrl+o
        for older messages), typing and presence, the connection state. Ctrl+Q quits."""
        from sealchat.tui.app import run_tui  # Textual loads only for this command

        async def work() -> None:
            async with signed_in(Account(profile, url, username, password)) as client:
                await run_tui(client)

        run(work)
