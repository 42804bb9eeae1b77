"""What the server's key-service layout means for who could read messages, in one line.

``GET /api/config`` names the layout (``key_service_layout``); every client (this one, the
terminal client, the web client's ``web/src/lib/trust.ts``) says the same words, and links to
the docs section that explains them. The words are the clients', not the server's: a server
can only pick a layout, not write what users are told. (A dishonest server can still claim a
layout it does not run; the docs say so.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DOCS_PAGE = "key-service.md"
DOCS_ANCHOR = "12-what-clients-say-about-the-layout"

SUMMARIES = {
    "embedded-same-process": (
        "key service in the same process as the server: the server's operator could read messages"
    ),
    "separate": (
        "separate key service: the server holds no master keys; every data key it could "
        "obtain is handed out, and logged, by the key service"
    ),
    "aws-kms": (
        "AWS KMS: data keys are unwrapped by AWS KMS with each person's own credentials; "
        "whoever controls the AWS account's key policy could read messages"
    ),
}
UNKNOWN = "unknown key service layout: assume the server's operator could read messages"


@dataclass(frozen=True)
class TrustIndicator:
    layout: str
    summary: str
    docs_link: str  # a URL when the server publishes its docs, else the page in the source

    def line(self) -> str:
        """``Trust: <summary> (<link>)``: one line for a terminal."""
        return f"Trust: {self.summary} ({self.docs_link})"


def trust_indicator(config: dict[str, Any]) -> TrustIndicator:
    """The indicator for a ``GET /api/config`` answer. Servers older than the field ran the
    key service in their own process unless they named AWS KMS."""
    layout = config.get("key_service_layout")
    if layout is None:
        kind = (config.get("key_service") or {}).get("type", "embedded")
        layout = "aws-kms" if kind == "aws-kms" else "embedded-same-process"
    layout = str(layout)
    docs = config.get("docs_url")
    where = f"{str(docs).rstrip('/')}/{DOCS_PAGE}" if docs else f"docs/{DOCS_PAGE}"
    return TrustIndicator(layout, SUMMARIES.get(layout, UNKNOWN), f"{where}#{DOCS_ANCHOR}")
