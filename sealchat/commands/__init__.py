"""The client side of the ``sealchat`` command, one module per group of commands.

``register(app)`` adds them all to the ``sealchat`` Typer app (sealchat/cli.py). A new
group is a module with its own ``register(app)``, listed here; sign-in options and the
signed-in client come from ``account.py``.
"""

from __future__ import annotations

import typer

from sealchat import chat_cli
from sealchat.commands import conversation, export, files, rooms, session, terminal_ui


def register(app: typer.Typer) -> None:
    session.register(app)
    chat_cli.register(app)
    conversation.register(app)
    files.register(app)
    export.register(app)
    rooms.register(app)
    terminal_ui.register(app)
