"""Domain errors. Every failure a user can see is one of these, with a stable ``code``.

Adapters translate driver failures into these; the API layer turns them into the one
documented error shape ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations


class SealchatError(Exception):
    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(SealchatError):
    code = "invalid_input"


class Unauthorized(SealchatError):
    code = "unauthorized"


class TokenExpired(Unauthorized):
    code = "token_expired"


class Forbidden(SealchatError):
    code = "forbidden"


class NotFound(SealchatError):
    code = "not_found"


class Conflict(SealchatError):
    code = "conflict"


class RoomNameTaken(Conflict):
    """A live public room already has this name (compared case-insensitively)."""

    code = "room_name_taken"


class PayloadTooLarge(SealchatError):
    code = "payload_too_large"


class RateLimited(SealchatError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(SealchatError):
    """A dependency (database, identity provider) is down; the request can be retried."""

    code = "unavailable"


class TooManyConnections(RateLimited):
    """Over a cap of open connections (per user): close some, or retry later."""

    code = "too_many_connections"

    def __init__(self, message: str, retry_after: float = 5.0) -> None:
        super().__init__(message, retry_after=retry_after)


class Overloaded(Unavailable):
    """Too much work is queued already (say, password hashing); retry after a while."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
