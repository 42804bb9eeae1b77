"""Validation rules shared by every entry point (HTTP and Socket.IO)."""

from __future__ import annotations

import re

from sealchat.domain.errors import InvalidInput

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
CLIENT_MSG_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
ROOM_NAME_MAX = 80
PASSWORD_MIN = 8
PASSWORD_MAX = 1024


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared lower-case."""
    name = username.strip().lower()
    if not USERNAME_RE.match(name):
        raise InvalidInput(
            "username must be 2-32 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_password(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(f"password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters")


def normalize_room_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > ROOM_NAME_MAX or not cleaned.isprintable():
        raise InvalidInput(f"room name must be 1-{ROOM_NAME_MAX} printable characters")
    return cleaned


def check_client_msg_id(client_msg_id: str) -> None:
    if not CLIENT_MSG_ID_RE.match(client_msg_id):
        raise InvalidInput("client_msg_id must be 1-64 characters of [A-Za-z0-9._:-]")


def direct_room_key(user_a: str, user_b: str) -> str:
    """One direct room per pair of people, whoever starts it."""
    first, second = sorted((user_a, user_b))
    return f"{first}:{second}"
