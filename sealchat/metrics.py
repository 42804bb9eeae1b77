"""The server's Prometheus metrics, defined once; recorded where the work is done.

Recording stays off the per-recipient path: a counter or a histogram is touched once per
stored batch, once per broadcast, once per refusal, never once per recipient.

With ``sealchat serve --workers N`` every process writes its values to files under
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode, set by ``serve``
before any worker starts), and a scrape adds them up (``registry()``).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Seconds; store and fan-out are sub-millisecond when idle and tens of ms under load.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

OPEN_CONNECTIONS = Gauge(
    "sealchat_open_connections",
    "Open Engine.IO connections by transport (sampled).",
    ["transport"],
    multiprocess_mode="livesum",
)
MESSAGES_STORED = Counter("sealchat_messages_stored", "Messages stored (resends not counted).")
DELIVERIES = Counter(
    "sealchat_deliveries",
    "Packets written to sockets by broadcasts: message:new, or any other event.",
    ["event"],
)
MESSAGE_DELIVERIES = DELIVERIES.labels("message")
OTHER_DELIVERIES = DELIVERIES.labels("other")
FANOUT_SECONDS = Histogram(
    "sealchat_fanout_seconds", "Time to deliver one broadcast locally.", buckets=LATENCY_BUCKETS
)
STORE_SECONDS = Histogram(
    "sealchat_store_batch_seconds",
    "Time to commit one group-commit batch.",
    buckets=LATENCY_BUCKETS,
)
BATCH_MESSAGES = Histogram(
    "sealchat_store_batch_messages", "Messages per group-commit batch.", buckets=BATCH_BUCKETS
)
REFUSALS = Counter(
    "sealchat_refusals",
    "Refused socket events, HTTP requests and connections, by error code.",
    ["surface", "code"],
)
KMS_REQUESTS = Counter(
    "sealchat_kms_requests",
    "Key-service requests by operation and outcome (ok, or the refusal's error code).",
    ["operation", "outcome"],
)
LOGIN_FAILURES = Counter(
    "sealchat_login_failures",
    "Failed sign-ins: bad_credentials (unknown user or wrong password) or locked.",
    ["reason"],
)
AUTH_THROTTLED = Counter(
    "sealchat_auth_throttled",
    "Sign-ins and sign-ups turned away before hashing: address_rate or hash_queue.",
    ["reason"],
)
ACCOUNTS_DISCONNECTED = Counter(
    "sealchat_disabled_account_disconnects",
    "Users whose sockets were closed because their account was disabled.",
)
RETENTION_DELETED = Counter(
    "sealchat_retention_deleted",
    "Rows deleted by the retention job, by kind.",
    ["kind"],
)

# The start of every message:new Socket.IO packet on the default namespace.
MESSAGE_PACKET_PREFIX = '2["message:new"'


def record_broadcast(encoded: str, recipients: int, seconds: float) -> None:
    """One broadcast's deliveries and latency: one increment, one observation."""
    if encoded.startswith(MESSAGE_PACKET_PREFIX):
        MESSAGE_DELIVERIES.inc(recipients)
    else:
        OTHER_DELIVERIES.inc(recipients)
    FANOUT_SECONDS.observe(seconds)


def record_batch(size: int, stored: int, seconds: float) -> None:
    BATCH_MESSAGES.observe(size)
    STORE_SECONDS.observe(seconds)
    if stored:
        MESSAGES_STORED.inc(stored)


def refused(surface: str, code: str) -> None:
    REFUSALS.labels(surface, code).inc()


def sample_connections(eio_sockets: dict[str, Any]) -> None:
    """Set the connection gauge from the Engine.IO server's table (off the hot path)."""
    websocket = polling = 0
    for socket in list(eio_sockets.values()):
        if getattr(socket, "upgraded", False):
            websocket += 1
        else:
            polling += 1
    OPEN_CONNECTIONS.labels("websocket").set(websocket)
    OPEN_CONNECTIONS.labels("polling").set(polling)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def registry() -> CollectorRegistry:
    """What a scrape reads: this process, or every worker's files in multiprocess mode."""
    if not multiprocess():
        return REGISTRY
    combined = CollectorRegistry()
    MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
    return combined


def exposition() -> bytes:
    return generate_latest(registry())
