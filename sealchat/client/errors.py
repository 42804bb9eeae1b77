"""The client's one error type, carrying the server's error code."""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """A request the server refused (or could not be reached for)."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        # ``rate_limited``: seconds to wait before trying again, when the server said.
        self.retry_after = retry_after

    @classmethod
    def from_body(cls, body: Any, status: int | None = None) -> ClientError:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            retry_after = error.get("retry_after")
            return cls(
                str(error.get("code", "error")),
                str(error.get("message", "")),
                status,
                float(retry_after) if isinstance(retry_after, int | float) else None,
            )
        return cls("error", f"unexpected reply: {body!r:.200}", status)
