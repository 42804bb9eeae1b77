"""Security headers on every HTTP response, and the API docs behind a setting.

The web client's pages carry their own Content-Security-Policy (api/web.py); every
other response (JSON, errors, the docs) gets a strict one here, so that no response
of this origin can run a script from elsewhere, whatever a bug puts into it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# For responses that are not pages: nothing may load, nothing may frame them.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
BASE_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)

# Swagger UI, pinned to one release and checked with Subresource Integrity: the CDN
# can serve nothing else in its place (hashes of swagger-ui-dist 5.35.0 from npm).
SWAGGER_VERSION = "5.35.0"
SWAGGER_BASE = f"https://cdn.jsdelivr.net/npm/swagger-ui-dist@{SWAGGER_VERSION}"
SWAGGER_JS = f"{SWAGGER_BASE}/swagger-ui-bundle.js"
SWAGGER_CSS = f"{SWAGGER_BASE}/swagger-ui.css"
SWAGGER_JS_SRI = "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9"
SWAGGER_CSS_SRI = "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I"


class SecurityHeaders:
    """ASGI middleware: nosniff, no referrer, no framing, and a CSP unless the route set one."""

    def __init__(self, app: ASGIApp, csp: str = API_CSP) -> None:
        self.app = app
        self.csp = csp.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in BASE_HEADERS if h[0] not in present)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", self.csp))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _docs_page(openapi_url: str) -> tuple[str, str]:
    """The Swagger UI page with integrity-checked assets, and the CSP that admits it."""
    page = get_swagger_ui_html(
        openapi_url=openapi_url,
        title="Sealchat API",
        swagger_js_url=SWAGGER_JS,
        swagger_css_url=SWAGGER_CSS,
        swagger_favicon_url="data:,",
    ).body
    html = bytes(page).decode("utf-8")
    html = html.replace(
        f'src="{SWAGGER_JS}"', f'src="{SWAGGER_JS}" integrity="{SWAGGER_JS_SRI}" crossorigin'
    ).replace(
        f'href="{SWAGGER_CSS}"',
        f'href="{SWAGGER_CSS}" integrity="{SWAGGER_CSS_SRI}" crossorigin',
    )
    # The page's one inline script (Swagger UI's start-up) is admitted by its hash alone.
    inline = [m for m in re.findall(r"<script>(.*?)</script>", html, flags=re.S)]
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in inline
    )
    csp = "; ".join(
        [
            "default-src 'none'",
            f"script-src {SWAGGER_JS} {hashes}",
            f"style-src {SWAGGER_CSS} 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    return html, csp


def install_api_docs(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """Serve ``/docs`` (Swagger UI); the app must be built with ``docs_url=None``."""
    html, csp = _docs_page(openapi_url)

    @app.get("/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})


def hardened_api(
    title: str,
    version: str,
    lifespan: Any,
    *,
    api_docs: bool,
    max_body_bytes: int,
    streamed_paths: re.Pattern[str] | None = None,
) -> FastAPI:
    """A FastAPI app with Sealchat's error shape, a body cap and security headers.

    The interactive docs only when asked for (``SEALCHAT_API_DOCS``): a public server need
    not publish its route map. Used by the chat server and the standalone key service.
    """
    # Imported here: api.errors and the key service's handlers import this module's peers.
    from sealchat.api.body_limit import BodySizeLimit
    from sealchat.api.errors import install_error_handlers
    from sealchat.kms.api import install_kms_error_handlers

    app = FastAPI(
        title=title,
        version=version,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if api_docs else None,
    )
    if api_docs:
        install_api_docs(app)
    install_error_handlers(app)
    install_kms_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes, streamed_paths=streamed_paths)
    app.add_middleware(SecurityHeaders)
    return app
