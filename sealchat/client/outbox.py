"""Pending sends, in order, optionally kept in a file so they survive a restart.

Only sealed envelopes are written, never plaintext: the file reveals no more than the
server will hold. An envelope is sealed for its client message id (the AAD binds it), so
a resend after a restart is the same message and the server's idempotency stores it once.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from sealchat.client.models import PendingSend


class Outbox:
    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = Path(path) if path is not None else None
        self._pending: dict[str, PendingSend] = {}
        if self._path is not None and self._path.exists():
            body = json.loads(self._path.read_text(encoding="utf-8"))
            for entry in body.get("pending", []):
                send = PendingSend.from_json(entry)
                self._pending[send.client_msg_id] = send

    def add(self, send: PendingSend) -> None:
        self._pending.setdefault(send.client_msg_id, send)
        self._save()

    def done(self, client_msg_id: str) -> None:
        """Acknowledged, or refused for good: no longer pending."""
        if self._pending.pop(client_msg_id, None) is not None:
            self._save()

    def drop_room(self, room_id: str) -> None:
        """We are no longer in the room: its pending sends can never be stored."""
        for send in [s for s in self._pending.values() if s.room_id == room_id]:
            del self._pending[send.client_msg_id]
        self._save()

    def pending(self, room_id: str | None = None) -> list[PendingSend]:
        """Pending sends, oldest first."""
        return [s for s in self._pending.values() if room_id is None or s.room_id == room_id]

    def __len__(self) -> int:
        return len(self._pending)

    def _save(self) -> None:
        if self._path is None:
            return
        body = {"pending": [send.to_json() for send in self._pending.values()]}
        tmp = self._path.with_name(self._path.name + ".tmp")
        # Owner-only: the envelopes are sealed, but who wrote to which room is not.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(body, file)
        os.replace(tmp, self._path)
        with contextlib.suppress(OSError):
            os.chmod(self._path, 0o600)
