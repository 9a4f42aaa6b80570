"""The server answers and its home page is genver's, in a real browser, without leaving loopback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:  # collected (and skipped) without Playwright too
    from playwright.sync_api import Page

    from tests.ui._seed import Seeded
    from tests.ui.conftest import BrowserLog


def test_health_answers(ui_server: Seeded) -> None:
    assert httpx.get(f"{ui_server.url}/health", timeout=10).status_code == 200


def test_home_page_is_html_titled_genver(ui_server: Seeded, page: Page) -> None:
    response = httpx.get(f"{ui_server.url}/", timeout=10, follow_redirects=True)  # / may redirect
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")

    loaded = page.goto(f"{ui_server.url}/")
    assert loaded is not None and loaded.ok
    assert "genver" in page.title().lower()


def test_no_request_leaves_loopback(ui_server: Seeded, page: Page, browser_log: BrowserLog) -> None:
    page.goto(f"{ui_server.url}/")
    page.wait_for_load_state("networkidle")
    assert browser_log.blocked_requests == []
