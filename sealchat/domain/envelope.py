"""The sealed envelope v1, as the chat server sees it: shape only, no cryptography.

The shape check and the constants live in ``sealchat.envelope_spec``, which the client
shares; here its refusal becomes the domain's ``invalid_envelope`` error.
"""

from __future__ import annotations

from sealchat.domain.errors import InvalidInput
from sealchat.envelope_spec import (
    ALGORITHM,
    IV_BYTES,
    MAX_CT_BYTES,
    MAX_EDK_BYTES,
    MAX_KID_CHARS,
    MAX_PLAINTEXT_BYTES,
    MEMBERS,
    TAG_BYTES,
    VERSION,
    EnvelopeShapeError,
    UnsupportedVersionError,
    decode_base64,
)
from sealchat.envelope_spec import check_envelope_shape as _check_shape

__all__ = [
    "ALGORITHM",
    "IV_BYTES",
    "MAX_CT_BYTES",
    "MAX_EDK_BYTES",
    "MAX_KID_CHARS",
    "MAX_PLAINTEXT_BYTES",
    "MEMBERS",
    "TAG_BYTES",
    "VERSION",
    "InvalidEnvelope",
    "UnsupportedEnvelopeVersion",
    "check_envelope_shape",
    "decode_base64",
]


class InvalidEnvelope(InvalidInput):
    code = "invalid_envelope"


class UnsupportedEnvelopeVersion(InvalidEnvelope):
    """``v`` is an integer other than 1: maybe a newer client, not garbage."""


def check_envelope_shape(envelope: object) -> None:
    """Raise ``InvalidEnvelope`` unless ``envelope`` is a well-formed sealed envelope v1."""
    try:
        _check_shape(envelope)
    except UnsupportedVersionError as exc:
        raise UnsupportedEnvelopeVersion(exc.message) from None
    except EnvelopeShapeError as exc:
        raise InvalidEnvelope(exc.message) from None
