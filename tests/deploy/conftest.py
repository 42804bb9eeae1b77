"""The container test needs Podman; without it the test skips, except in CI (fails)."""

from __future__ import annotations

import shutil

import pytest

from tests.pg_support import in_ci


def require_podman(*more: str) -> None:
    tools = ("podman", "runc", "debootstrap", *more)
    missing = [tool for tool in tools if not shutil.which(tool)]
    if not missing:
        return
    message = f"{', '.join(missing)} not installed (tools/test installs them as root)"
    if in_ci():
        pytest.fail(f"{message}. CI=true, so the container test must run.", pytrace=False)
    pytest.skip(message)
