"""The web UI in a real browser (Debian's Chromium) against a real ``genver server``: no page logs
a console error (the ``page`` fixture fails the test otherwise), a 30,000-span trace stays small
in the DOM, the compare page marks exactly what differs, views live in the URL, the dark theme
follows the system, user content renders as text, and a read-only token cannot write."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from genver.entities import Span, Trace, TraceData, TraceInfo, TraceState
from genver.server.ui.trace_views import MAX_SPAN_ROWS
from genver.store.sql.store import SqlStore
from tests.server._processes import ServerProcess
from tests.ui._seed import Seeded
from tests.ui.conftest import BrowserLog

T0 = 1_700_000_000_000
CHAIN = 20  # the deepest span sits this far below the root's first child


@dataclass(frozen=True)
class BigTrace:
    trace_id: str
    deepest: str
    span_count: int


@pytest.fixture(scope="module")
def big_trace(ui_server: Seeded) -> BigTrace:
    """A 30,021-span trace written through the store's bulk path (one ``log_traces``): the root
    has 5,000 children; c0 heads a chain 20 deep; c1..c25 have 1,000 children each."""
    trace_id = "tr-" + "5a" * 16
    edges: list[tuple[str, str | None]] = [("root", None)]
    edges += [(f"c{i}", "root") for i in range(5000)]
    parent = "c0"
    for d in range(CHAIN):
        edges.append((f"d{d}", parent))
        parent = f"d{d}"
    for i in range(1, 26):
        edges += [(f"g{i}-{j}", f"c{i}") for j in range(1000)]
    start = T0 * 1_000_000
    spans = [
        Span(
            trace_id=trace_id,
            span_id=sid,
            parent_id=parent_id,
            name=sid,
            start_time_ns=start + n * 1000,
            end_time_ns=start + n * 1000 + 500 if parent_id else start + len(edges) * 1000,
        )
        for n, (sid, parent_id) in enumerate(edges)
    ]
    info = TraceInfo(
        trace_id=trace_id,
        experiment_id=ui_server.experiment_id,
        request_time=T0,
        execution_duration=len(edges) // 1000,
        state=TraceState.OK,
    )
    store = SqlStore(ui_server.store_uri)
    try:
        store.log_traces([Trace(info, TraceData(spans))])
    finally:
        store.close()
    return BigTrace(trace_id, f"d{CHAIN - 1}", len(spans))


def test_a_30000_span_trace_opens_small_and_its_deepest_span_is_reachable(
    page: Page, ui_server: Seeded, big_trace: BigTrace
) -> None:
    assert big_trace.span_count > 30_000
    page.goto(f"{ui_server.url}/traces/{big_trace.trace_id}")
    rows = page.locator('[role="treeitem"]')
    assert rows.count() <= MAX_SPAN_ROWS
    expect(page.locator("#span-c0")).to_be_visible()
    # by expanding: c0, then each link of the chain, one fragment request each
    node = "c0"
    for d in range(CHAIN):
        page.locator(f"#span-{node} [data-expand]").click()
        child = f"d{d}"
        expect(page.locator(f"#span-{child}")).to_be_visible()
        node = child
    assert page.locator('[role="treeitem"]').count() <= MAX_SPAN_ROWS + CHAIN
    # by URL: the path is rendered expanded and the span selected
    page.goto(f"{ui_server.url}/traces/{big_trace.trace_id}?span={big_trace.deepest}")
    deepest = page.locator(f"#span-{big_trace.deepest}")
    expect(deepest).to_be_visible()
    expect(deepest).to_have_attribute("aria-selected", "true")
    assert page.locator('[role="treeitem"]').count() <= MAX_SPAN_ROWS + 1


def test_more_loads_the_next_children_without_growing_past_a_page(
    page: Page, ui_server: Seeded, big_trace: BigTrace
) -> None:
    page.goto(f"{ui_server.url}/traces/{big_trace.trace_id}")
    before = page.locator('[role="treeitem"]').count()
    page.locator(".more-row button").first.click()
    expect(page.locator("#span-c200")).to_be_visible()
    assert page.locator('[role="treeitem"]').count() <= before + 200


def test_compare_marks_exactly_the_param_and_metric_that_differ(page: Page, ui_server: Seeded) -> None:
    base = f"{ui_server.url}/compare?version={ui_server.baseline_id}&version={ui_server.candidate_id}"
    page.goto(base)
    changed = page.locator("tr.changed").evaluate_all("rows => rows.map(r => r.dataset.key)")
    shown = [k for k in changed if not k.startswith("trace:")]  # measured latencies differ anyway
    assert sorted(shown) == sorted([f"param:{ui_server.changed_param}", f"metric:{ui_server.changed_metric}"])
    expect(page.locator(f'tr[data-key="metric:{ui_server.equal_metric}"]')).to_have_count(1)

    page.locator("#diff-only").click()
    assert "diff_only=1" in page.url
    expect(page.locator(f'tr[data-key="metric:{ui_server.equal_metric}"]')).to_have_count(0)
    keys = page.locator("tr[data-key]").evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert set(keys) == set(changed)  # with differences only, every row left is a changed one


def test_a_filter_lives_in_the_url_and_a_fresh_page_shows_the_same_rows(
    page: Page, browser: Browser, ui_server: Seeded
) -> None:
    page.goto(f"{ui_server.url}/versions?experiment={ui_server.experiment_id}")
    page.fill("#filter", f"params.{ui_server.changed_param} = 'lowercase'")
    page.press("#filter", "Enter")
    page.wait_for_url(re.compile(r"filter="))
    assert parse_qs(urlsplit(page.url).query)["filter"] == [f"params.{ui_server.changed_param} = 'lowercase'"]
    ids = page.locator("#versions tbody tr[data-id]").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert sorted(ids) == sorted(ui_server.version_ids[1:])

    fresh = browser.new_context().new_page()
    try:
        fresh.goto(page.url)
        again = fresh.locator("#versions tbody tr[data-id]").evaluate_all(
            "rows => rows.map(r => r.dataset.id)"
        )
        assert again == ids
    finally:
        fresh.context.close()
    page.go_back()
    page.wait_for_url(re.compile(r"/versions\?experiment=[^&]+$"))
    assert page.locator("#versions tbody tr[data-id]").count() == 3


def test_a_bad_filter_is_said_inline(page: Page, ui_server: Seeded, browser_log: BrowserLog) -> None:
    page.goto(f"{ui_server.url}/versions?experiment={ui_server.experiment_id}")
    page.fill("#filter", "params.matcher =")
    with page.expect_response(re.compile(r"/versions\?")) as answer:
        page.press("#filter", "Enter")
    assert answer.value.status == 400
    expect(page.locator("#filter-error")).to_contain_text("expected a value after '='")
    assert all("400" in e for e in browser_log.console_errors)  # the page's own status, nothing else
    browser_log.clear()


def test_the_dark_theme_follows_the_system(page: Page, ui_server: Seeded) -> None:
    page.emulate_media(color_scheme="dark")
    page.goto(f"{ui_server.url}/versions?experiment={ui_server.experiment_id}")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(18, 21, 27)"
    page.emulate_media(color_scheme="light")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    page.select_option("#theme-select", "dark")  # an explicit choice wins over the system's
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(18, 21, 27)"
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"


def test_a_script_input_renders_as_text(page: Page, ui_server: Seeded) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{ui_server.url}/traces/{ui_server.script_trace_id}")
    expect(page.locator("#span-inputs")).to_contain_text("<script>alert(1)</script>")
    assert dialogs == []


@pytest.fixture(scope="module")
def token_server(ui_server: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second ``genver server`` on the same store, with a read-only and a read-write token."""
    tokens = tmp_path_factory.mktemp("tokens") / "tokens.txt"
    tokens.write_text("ro-" + "r" * 24 + " read-only reader\nrw-" + "w" * 24 + " read-write writer\n")
    server = ServerProcess(ui_server.store_uri, args=["--token-file", str(tokens)]).start()
    try:
        yield server.url
    finally:
        server.close()


def test_a_read_only_token_sees_everything_and_cannot_write(
    page: Page, ui_server: Seeded, token_server: str, browser_log: BrowserLog
) -> None:
    page.goto(f"{token_server}/versions?experiment={ui_server.experiment_id}")
    assert urlsplit(page.url).path == "/login"  # asked for a token once
    page.fill("#token", "ro-" + "r" * 24)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/versions\?experiment="))
    assert page.locator("#versions tbody tr[data-id]").count() == 3
    status = page.evaluate(
        """async () => (await fetch('/api/v1/experiments', {method: 'POST',
            headers: {'content-type': 'application/json'}, body: '{"name": "sneaky"}'})).status"""
    )
    assert status == 401  # the cookie authorizes reads only
    cookies = page.context.cookies()
    token = next(c for c in cookies if c["name"] == "genver_token")
    assert token["httpOnly"] and token["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("genver_token") == -1  # not readable by scripts
    assert all("401" in e for e in browser_log.console_errors)  # the refused fetch, nothing else
    browser_log.clear()


def test_every_main_page_loads_without_console_errors(page: Page, ui_server: Seeded, tmp_path: Path) -> None:
    paths = [
        "/experiments",
        f"/versions?experiment={ui_server.experiment_id}",
        f"/versions/{ui_server.candidate_id}",
        f"/traces?experiment={ui_server.experiment_id}",
        f"/traces/{ui_server.trace_ids[0]}",
        f"/compare?version={ui_server.baseline_id}&version={ui_server.candidate_id}"
        f"&version={ui_server.version_ids[2]}&experiment={ui_server.experiment_id}",
    ]
    for path in paths:
        response = page.goto(ui_server.url + path)
        assert response is not None and response.status == 200, path
        twin = page.locator('link[rel="alternate"][type="application/json"]')
        expect(twin).to_have_count(1)


def test_j_and_k_walk_the_traces_and_arrows_walk_the_tree(page: Page, ui_server: Seeded) -> None:
    first, second = ui_server.trace_ids[0], ui_server.trace_ids[1]  # oldest first
    page.goto(f"{ui_server.url}/traces/{first}")
    page.keyboard.press("j")
    page.wait_for_url(re.compile(rf"/traces/(?!{first})"))
    assert urlsplit(page.url).path != f"/traces/{first}"
    page.keyboard.press("k")
    page.wait_for_url(re.compile(rf"/traces/{first}$"))
    page.goto(f"{ui_server.url}/traces/{second}")
    page.locator('[role="treeitem"][aria-selected="true"]').focus()
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("document.activeElement.getAttribute('role')")
    assert focused == "treeitem"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"\?span="))


def test_the_dashboard_draws_its_charts_and_a_point_opens_its_traces(page: Page, ui_server: Seeded) -> None:
    page.goto(
        f"{ui_server.url}/dashboards?experiment={ui_server.experiment_id}&window=30d&bucket=1d"
        f"&version={ui_server.baseline_id}&version={ui_server.candidate_id}"
    )
    expect(page.locator("canvas").first).to_be_visible()  # uPlot drew (from /static, no inline script)
    link = page.locator("table a[href^='/traces?']").first
    href = link.get_attribute("href")
    assert href is not None and "attributes.model_id" in parse_qs(urlsplit(href).query)["filter"][0]
    page.goto(ui_server.url + href)  # the table (folded under the chart) holds each point's link
    assert page.locator("#trace-list tbody tr[data-id]").count() >= 1


def test_a_sort_header_changes_the_url_and_the_order_as_its_twin_does(page: Page, ui_server: Seeded) -> None:
    page.goto(f"{ui_server.url}/versions?experiment={ui_server.experiment_id}")
    for direction in ("DESC", "ASC"):  # the first click sorts descending, the second toggles
        page.locator("#versions thead a.sort", has_text="Traces").click()
        page.wait_for_url(re.compile(rf"order_by=traces\.count(\+|%20){direction}"))
        expect(page.locator("#versions th[aria-sort]")).to_have_attribute(
            "aria-sort", "descending" if direction == "DESC" else "ascending"
        )
        ids = page.locator("#versions tbody tr[data-id]").evaluate_all("rows => rows.map(r => r.dataset.id)")
        twin = page.request.get(f"{ui_server.url}{page.locator('link[rel=alternate]').get_attribute('href')}")
        assert ids == [m["model_id"] for m in twin.json()["models"]] and len(ids) == 3
        counts = [
            int(c.replace(",", "")) for c in page.locator("#versions td[data-col=traces]").all_inner_texts()
        ]
        assert counts == sorted(counts, reverse=direction == "DESC") and len(set(counts)) > 1
