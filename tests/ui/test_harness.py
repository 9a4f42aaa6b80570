"""The harness itself: the route guard aborts requests that leave loopback, and console and page
errors are recorded, so a page test that sees none of them has really looked."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # collected (and skipped) without Playwright too
    from playwright.sync_api import Page

    from tests.ui._seed import Seeded
    from tests.ui.conftest import BrowserLog


def test_requests_to_other_hosts_are_aborted(page: Page, browser_log: BrowserLog) -> None:
    page.set_content('<img src="http://example.invalid/logo.png">')
    fetched = page.evaluate("fetch('https://example.com/').then(() => 'sent', () => 'aborted')")

    assert fetched == "aborted"
    assert browser_log.blocked_requests == ["http://example.invalid/logo.png", "https://example.com/"]
    assert any("ERR_BLOCKED_BY_CLIENT" in e for e in browser_log.console_errors)
    browser_log.clear()


def test_loopback_requests_go_through(ui_server: Seeded, page: Page, browser_log: BrowserLog) -> None:
    response = page.goto(f"{ui_server.url}/health")

    assert response is not None and response.ok
    assert browser_log.blocked_requests == []


def test_console_and_page_errors_are_recorded(page: Page, browser_log: BrowserLog) -> None:
    page.evaluate("console.error('boom')")
    page.evaluate("setTimeout(() => { throw new Error('kaboom') })")
    page.wait_for_function("true")  # one more round trip: the timer has fired
    page.wait_for_timeout(50)

    assert browser_log.console_errors == ["boom"]
    assert len(browser_log.page_errors) == 1 and "kaboom" in browser_log.page_errors[0]
    browser_log.clear()
