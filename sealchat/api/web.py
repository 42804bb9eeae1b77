"""Serve the built web client (web/dist) at ``/``, with a Content-Security-Policy.

Unknown paths outside the API get ``index.html`` so client-side routes survive a reload.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, PlainTextResponse, Response

# The web app manifest (installable app); Python's table does not know the extension.
mimetypes.add_type("application/manifest+json", ".webmanifest")

API_PREFIXES = ("api/", "kms/", ".well-known/", "socket.io/", "docs", "openapi.json", "healthz")


def content_security_policy(
    kms_url: str, public_url: str, provider_urls: Sequence[str] = ()
) -> str:
    """No inline script, nothing from elsewhere: only this origin, the key service and the
    sign-in and key providers the client must call (Cognito, AWS KMS, the OIDC issuer)."""
    connect = ["'self'"]
    for url in (kms_url, *provider_urls):
        origin = _origin(url)
        if origin != _origin(public_url) and origin not in connect:
            connect.append(origin)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            f"connect-src {' '.join(connect)}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def mount_web_client(app: FastAPI, web_dir: Path, csp: str) -> None:
    root = web_dir.resolve()
    security_headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }

    @app.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def web_client(path: str) -> Response:
        if path.startswith(API_PREFIXES):
            raise HTTPException(404, "no such route")
        index = root / "index.html"
        if not index.is_file():
            return PlainTextResponse(
                "The web client is not built yet: run tools/run (it builds web/).",
                status_code=503,
                headers=security_headers,
            )
        candidate = (root / path).resolve()
        if path and candidate.is_relative_to(root) and candidate.is_file():
            # Vite names assets by content hash, so they never change under one name.
            hashed = candidate.relative_to(root).parts[0] == "assets"
            cache = "public, max-age=31536000, immutable" if hashed else "no-cache"
            return FileResponse(candidate, headers={**security_headers, "Cache-Control": cache})
        return FileResponse(index, headers={**security_headers, "Cache-Control": "no-cache"})

    @app.api_route(
        "/{path:path}", methods=["POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    async def no_such_route(path: str) -> Response:
        # Without this, the web client's GET catch-all would turn these into 405s.
        raise HTTPException(404, "no such route")
