"""The key service's errors: domain errors with their own codes, and startup failures."""

from __future__ import annotations

from sealchat.domain.errors import Conflict, Forbidden, InvalidInput, NotFound


class AccessDenied(Forbidden):
    """The caller may not do this: no grant, a grant for another room or user, not an admin."""

    code = "access_denied"


class InvalidCiphertext(InvalidInput):
    """The blob cannot be opened: tampered, another context, an unknown key or version.

    One error for every cause, as in AWS KMS, so that a caller learns nothing about why.
    """

    code = "invalid_ciphertext"


class KeyNotFound(NotFound):
    code = "key_not_found"


class KeyExists(Conflict):
    code = "key_exists"


class KeyDisabled(Conflict):
    """An operator disabled the master key: it neither makes nor opens data keys."""

    code = "key_disabled"


class RootKeyError(RuntimeError):
    """The root key file is missing, unreadable or does not match the key store."""


class KeyServiceConfigError(RuntimeError):
    """The settings do not describe a key service that can start."""
