"""Browser tests: Playwright drives Debian's Chromium against a real ``genver server`` process.

Fixtures:

- ``ui_server`` (session): a fresh SQLite store seeded through the public API (see ``_seed``), served
  by ``genver server`` on a free loopback port; a ``Seeded`` with the base ``url`` and every id.
  Under xdist each worker that runs a browser test seeds and serves its own (about 1 s + start-up).
- ``browser`` (module, not session: see the fixture): headless ``/usr/bin/chromium``. Skipped,
  saying how to enable it, when Chromium or Playwright is missing; with ``GENVER_TEST_BROWSER=1``
  (CI) that is a failure instead. Tests here drive Playwright's sync API: no ``asyncio.run``.
- ``page`` (function): a page in a new browser context in which every request to a host other than
  loopback is aborted, and any console error or uncaught page error fails the test at teardown.
- ``browser_log`` (function): what ``page`` recorded; a test that means to cause a console error
  asserts on it and then calls ``browser_log.clear()``.

Every test under ``tests/ui/`` is marked ``ui`` (``pytest -m ui`` runs only these).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.server._processes import ServerProcess
from tests.ui._seed import Seeded, seed

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Route, WebError

BROWSER_ENV = "GENVER_TEST_BROWSER"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# Schemes that never reach the network; anything else must go to a loopback host.
LOCAL_SCHEMES = frozenset({"data", "blob", "about"})
TIMEOUT_MS = 15_000  # Playwright's 30 s default only slows down a failure

HERE = Path(__file__).parent


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing"
    return None


def _unavailable_message(why: str) -> str:
    return (
        f"{why}: the browser tests need Debian's Chromium (apt-get install chromium) and Playwright "
        f'(pip install -e ".[dev]"; never `playwright install`); CI sets {BROWSER_ENV}=1 to require them'
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test here ``ui``; without a browser, skip those that need one before any set-up
    (no store is seeded for them), unless ``GENVER_TEST_BROWSER=1``: then the fixture fails them."""
    why = browser_missing() if os.environ.get(BROWSER_ENV) != "1" else None
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.ui)
            if why and "browser" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.skip(reason=_unavailable_message(why)))


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """``genver server`` on a seeded SQLite store, with the ids of what it holds."""
    directory = tmp_path_factory.mktemp("ui")
    ids = seed(directory)
    server = ServerProcess(ids["store_uri"]).start()
    try:
        yield Seeded(url=server.url, **ids)
    finally:
        server.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module, not session: while Playwright's sync API is started, its asyncio loop counts as
    # running in this thread, so any other test's asyncio.run() on the same xdist worker would
    # fail. A module's tests run together, so no other test runs while the browser is up.
    why = browser_missing()
    if why and os.environ.get(BROWSER_ENV) == "1":
        pytest.fail(f"{why}, and {BROWSER_ENV}=1 says the browser tests must run", pytrace=False)
    if why:
        pytest.skip(_unavailable_message(why))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class BrowserLog:
    """Console errors, uncaught page errors and aborted (non-loopback) requests of one test."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.console_errors.clear()
        self.page_errors.clear()
        self.blocked_requests.clear()

    def problems(self) -> list[str]:
        return [f"console error: {e}" for e in self.console_errors] + [
            f"page error: {e}" for e in self.page_errors
        ]


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def page(browser: Browser, browser_log: BrowserLog) -> Iterator[Page]:
    """A fresh page (new context: no cookies, light colour scheme) that cannot leave loopback."""
    context = browser.new_context(service_workers="block")  # a service worker would bypass routing
    context.set_default_timeout(TIMEOUT_MS)

    def guard(route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES or parts.hostname in LOOPBACK:
            route.continue_()
        else:
            browser_log.blocked_requests.append(url)
            route.abort("blockedbyclient")

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            where = msg.location.get("url", "")
            line = msg.location.get("lineNumber")
            browser_log.console_errors.append(f"{msg.text} ({where}:{line})" if where else msg.text)

    def on_page_error(error: WebError) -> None:
        browser_log.page_errors.append(str(error.error))

    context.route("**/*", guard)
    context.on("console", on_console)
    context.on("weberror", on_page_error)
    try:
        yield context.new_page()
    finally:
        context.close()
    problems = browser_log.problems()
    if problems:
        pytest.fail("the page logged errors:\n" + "\n".join(problems), pytrace=False)
