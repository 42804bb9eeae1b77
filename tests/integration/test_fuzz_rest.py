"""schemathesis over the whole REST API with a signed-in user, on SQLite and PostgreSQL:
no 5xx, the server never drops, every refusal is ``{"error": {"code", "message"}}`` with a
code documented in protocol.md §6.2 (or, under ``/kms``, in key-service.md §2) with a status
that table gives it, and every success matches its response model.

Every operation of the served OpenAPI schema runs (``SEALCHAT_API_DOCS=true``), through
schemathesis's examples, coverage (boundaries, wrong types, other methods) and fuzzing
phases, positive and negative. What it leaves to other tests, and why:
- the ``Authorization`` header is always the user's real token (the chat token, or the
  key-service token under ``/kms``), so that the fuzzer gets past authentication; bad
  tokens are test_tokens.py's matrix;
- routes outside the schema: Socket.IO (test_fuzz_events.py), ``/metrics``
  (test_metrics.py), the web client (test_web_serving.py) and ``/docs`` (test_http_hardening.py);
- schemathesis's stateful phase, which its pytest mode does not run (the schema has no
  links; the Python and browser tests cover the sequences).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.integration.conftest import PASSWORD, unique_name
from tests.live_server import LiveServer, start_server
from tests.pg_support import create_temp_database, drop_database

DOCS = Path(__file__).resolve().parents[2] / "docs"

# Bounded for CI: all operations run in one test per database, ~15 s here, under the 60 s
# deadline on a loaded 2-core machine: a few random examples per operation on top of the
# coverage phase, which already sends each parameter's boundary and wrong-type values.
MAX_EXAMPLES = 10
REQUEST_TIMEOUT_SECONDS = 10
DEADLINE_SECONDS = 60

# The user signs in to both services; it may create and rotate keys, so those routes are
# exercised past the admin check. The rate limits are raised so that the fuzzer reaches
# the handlers (429 is documented, but a run of 429s would test nothing).
SERVER_ENV = {
    "SEALCHAT_API_DOCS": "true",
    "SEALCHAT_KMS_RATE_PER_SECOND": "100000",
    "SEALCHAT_KMS_RATE_BURST": "100000",
}


def statuses_by_code(doc: Path, start: str, end: str) -> dict[str, set[int]]:
    """A doc's error-code table: each code with the HTTP statuses it names (none: any)."""
    text = doc.read_text()
    found: dict[str, set[int]] = {}
    for row in re.findall(r"^\| (`.*)", text[text.index(start) : text.index(end)], re.M):
        cells = row.split("|")
        for code in re.findall(r"`([a-z_]+)`", cells[0]):
            found.setdefault(code, set()).update(
                int(n) for n in re.findall(r"\b[1-5]\d\d\b", cells[1])
            )
    return found


def merged(*tables: dict[str, set[int]]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for table in tables:
        for code, statuses in table.items():
            out.setdefault(code, set()).update(statuses)
    return out


class Fuzzed:
    """A live server with its API docs on, and a signed-in user's tokens."""

    def __init__(self, server: LiveServer, kms_admin: str) -> None:
        self.server = server
        made = httpx.post(
            f"{server.url}/api/auth/register",
            json={"username": kms_admin, "password": PASSWORD},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        self.chat_token: str = made.json()["access_token"]
        self.kms_token: str = made.json()["kms_access_token"]

    def token_for(self, path: str) -> str:
        return self.kms_token if path.startswith("/kms") else self.chat_token


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzzed]:
    database_url = asyncio.run(create_temp_database()) if request.param == "postgres" else None
    admin = unique_name("admin")
    env = {**SERVER_ENV, "SEALCHAT_KMS_ADMINS": json.dumps([admin])}
    if database_url:
        env["SEALCHAT_DATABASE_URL"] = database_url
    server = start_server(tmp_path_factory.mktemp(f"rest-fuzz-{request.param}"), env)
    try:
        yield Fuzzed(server, admin)
        # Not dropped: still serving, and nothing went wrong underneath.
        assert server.process.poll() is None, server.log_text()[-3000:]
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        assert "Traceback" not in server.log_text(), server.log_text()[-3000:]
    finally:
        server.stop()
        if database_url:
            asyncio.run(drop_database(database_url))


@pytest.fixture
def api_schema(fuzzed: Fuzzed, request: pytest.FixtureRequest) -> Any:
    # schemathesis 4.32 renames the running test through pytest's former private
    # ``_nodeid``, which pytest 9.2 no longer has (it reads ``_id``): give it one.
    request.node._nodeid = request.node.nodeid
    config = SchemathesisConfig.from_dict(
        {
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none", "no-shrink": True},
            "request-timeout": REQUEST_TIMEOUT_SECONDS,
        }
    )
    return schemathesis.openapi.from_url(f"{fuzzed.server.url}/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("api_schema")
CHAT_CODES = statuses_by_code(DOCS / "protocol.md", "### 6.2 Error codes", "### 6.3")
KMS_CODES = merged(CHAT_CODES, statuses_by_code(DOCS / "key-service.md", "## 2. HTTP API", "## 3."))


def assert_documented_refusal(path: str, response: Any) -> None:
    """A refusal is the one error shape with a documented code."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code < 400:
        return
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    codes = KMS_CODES if path.startswith("/kms") else CHAT_CODES
    assert body["error"]["code"] in codes, (response.status_code, body)
    statuses = codes[body["error"]["code"]]  # "error" names none: any other status
    assert not statuses or response.status_code in statuses, (response.status_code, body)
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body


@pytest.mark.timeout(DEADLINE_SECONDS)
@schema.parametrize()
def test_every_operation_answers_with_a_documented_code(case: Any, fuzzed: Fuzzed) -> None:
    path = case.operation.path
    response = case.call(headers={"Authorization": f"Bearer {fuzzed.token_for(path)}"})
    assert_documented_refusal(path, response)
    case.validate_response(response, checks=[response_schema_conformance])
