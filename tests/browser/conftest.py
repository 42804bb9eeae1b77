"""Browser tests: Debian's Chromium driven by Playwright against a live server that serves
the built web client (web/dist). Browser downloads are never used."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import LiveServer, start_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
WEB_DIST = ROOT / "web" / "dist" / "index.html"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
FAILED = pytest.StashKey[bool]()
# The pages (ChatPage) of the running test, for the failure report below.
OPEN_PAGES: list[Any] = []
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

if importlib.util.find_spec("playwright") is None:
    # The test modules import Playwright; test_prerequisites.py alone says why they cannot run.
    collect_ignore_glob = ["test_[!p]*.py"]


def missing(reason: str) -> None:
    """In CI a missing prerequisite is a failure; on a developer's machine, a skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


def check_prerequisites() -> None:
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing("the Python package playwright is not installed (pip install -e '.[dev]')")
    if not WEB_DIST.exists():
        missing(
            f"{WEB_DIST.relative_to(ROOT)} is missing: "
            "build it with `cd web && npm ci && npm run build`"
        )


@pytest.fixture(scope="session", autouse=True)
def browser_prerequisites() -> None:
    check_prerequisites()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("browser-server"))
    yield live
    live.stop()


@pytest.fixture
async def browser(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    OPEN_PAGES.clear()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        yield launched
        if request.node.stash.get(FAILED, False):
            await report_pages(request.node.name)
        await launched.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


async def report_pages(test_name: str) -> None:
    """Keep a screenshot, the text and the console of each page of a failed test."""
    ARTIFACTS.mkdir(exist_ok=True)
    for index, chat in enumerate(OPEN_PAGES):
        stem = ARTIFACTS / f"failed-{test_name}-{index}-{chat.username or 'page'}"
        try:
            await chat.page.screenshot(path=f"{stem}.png")
            text = await chat.page.inner_text("body")
        except Exception as exc:  # a closed page: report what we have
            text = f"(page unavailable: {exc})"
        lines = [f"url: {chat.page.url}", text, "", "console:", *chat.console]
        Path(f"{stem}.txt").write_text("\n".join(lines))
