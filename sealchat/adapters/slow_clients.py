"""A deadline for each HTTP request head, against clients that send it slowly (slowloris).

uvicorn times out an idle keep-alive connection, but not one that never sends a byte, nor
a request head trickling in a byte at a time: each such connection holds a socket and a
parser for as long as the client likes. ``HeaderDeadlineProtocol`` is uvicorn's httptools
protocol with one timer per connection, armed when the connection opens and when a request
begins, and cancelled when the head is complete; at the deadline the connection is closed
without an answer (as nginx's ``client_header_timeout`` does). Bodies are not covered: a
legitimate upload on a slow link may take long, and its handler reads it under the body cap.

uvicorn takes the class by import path (``http=HTTP_PROTOCOL``), also in worker processes,
which set the deadline from their own settings (``set_header_timeout``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)

HTTP_PROTOCOL = "sealchat.adapters.slow_clients:HeaderDeadlineProtocol"


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request head is late."""

    header_timeout: ClassVar[float] = 20.0  # seconds; 0: no deadline

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()  # the next request on a kept-alive connection

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        if self._head_deadline is None and self.header_timeout > 0:
            self._head_deadline = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            log.debug(
                "closing %s: no complete request head in %s s", self.client, self.header_timeout
            )
            self.transport.close()


def set_header_timeout(seconds: float) -> None:
    """The deadline for every connection this process accepts from now on."""
    HeaderDeadlineProtocol.header_timeout = seconds
