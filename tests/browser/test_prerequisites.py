"""Says plainly why the browser tests cannot run, when they cannot (a skip on a developer's
machine, a failure in CI). Needs neither Playwright nor Chromium to be collected."""

from __future__ import annotations

from tests.browser.conftest import check_prerequisites


def test_chromium_playwright_and_the_built_client_are_there() -> None:
    check_prerequisites()
