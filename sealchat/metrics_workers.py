"""Metrics with ``sealchat serve --workers N``: prometheus_client's multiprocess mode.

Every worker writes its values to files in ``{data_dir}/metrics-workers`` (emptied at
start); the supervising process serves the metrics port, adding up every worker's files.
Nothing here imports prometheus_client at module level: the directory must be in the
environment before it is first imported.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

from sealchat.settings import Settings

if TYPE_CHECKING:
    from sealchat.api.metrics import MetricsListener

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess(settings: Settings) -> None:
    """Point every process at a fresh directory of metric files (before any import)."""
    directory = settings.data_dir / "metrics-workers"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROC_ENV] = str(directory.resolve())


def supervisor_listener(settings: Settings) -> MetricsListener | None:
    """The metrics port, served by the supervising process (None when no port is set)."""
    if not settings.metrics_port:
        return None
    from sealchat.api.metrics import MetricsListener

    return MetricsListener(settings.metrics_host, settings.metrics_port, settings.metrics_token)
