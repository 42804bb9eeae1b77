"""The key service's plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

EncryptionContext = dict[str, str]


class Operation(StrEnum):
    GENERATE_DATA_KEY = "generate-data-key"
    DECRYPT = "decrypt"
    CREATE_KEY = "create-key"
    ROTATE_KEY = "rotate-key"
    LIST_KEYS = "list-keys"
    DESCRIBE_KEY = "describe-key"
    REVOKE = "revoke-room-access"
    DISABLE_KEY = "disable-key"
    ENABLE_KEY = "enable-key"
    ROTATE_ROOT = "rotate-root-key"
    # One row counting refusals past an address's or user's audit budget.
    SUPPRESSED_REFUSALS = "suppressed-refusals"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks. ``local`` actors (the CLI's administrator, the service itself at startup)
    act on the key store directly and need no token."""

    user_id: str | None
    username: str
    local: bool = False
    source: str | None = None  # the client's address, for HTTP callers


@dataclass(frozen=True, slots=True)
class Caller:
    """An HTTP caller before authentication: its bearer token (if any) and address."""

    token: str | None
    source: str | None


KEY_SERVICE = Actor(user_id=None, username="key-service", local=True)


@dataclass(frozen=True, slots=True)
class KeyVersion:
    version: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MasterKey:
    key_id: str
    description: str
    created_at: datetime
    current_version: int
    versions: tuple[KeyVersion, ...] = ()
    disabled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class KmsDataKey:
    """A data key in both forms; ``ciphertext_blob`` is empty when it was only decrypted."""

    key_id: str
    key_version: int
    plaintext: bytes
    ciphertext_blob: bytes = b""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor_user_id: str | None
    actor_username: str | None
    operation: Operation
    key_id: str | None
    key_version: int | None
    encryption_context: EncryptionContext | None
    allowed: bool
    reason: str | None = None
    source: str | None = None  # the client's address, for HTTP calls


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    entry: AuditEntry
