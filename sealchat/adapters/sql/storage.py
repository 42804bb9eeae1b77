"""The storage ports implemented on SQLAlchemy Core: one import for the wiring."""

from __future__ import annotations

from sealchat.adapters.sql.messages import SqlMessageStore
from sealchat.adapters.sql.rooms import SqlRoomStore
from sealchat.adapters.sql.users import SqlUserStore

__all__ = ["SqlMessageStore", "SqlRoomStore", "SqlUserStore"]
