"""The versions and traces lists' views, in-process on SQLite and PostgreSQL: sorting versions by a
trace statistic (both directions, versions without traces last, ties newest first) lists what the
``/api/v1/models`` twin lists; page tokens walk a stat-sorted list once; ``columns`` shows the
chosen column groups; the traces list's ``window`` is pinned to a ``since`` its twin shares; bad
values are said inline (400), never a 500."""

from __future__ import annotations

import contextlib
import html
import re
import time
import uuid
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genver.client import GenverClient
from genver.entities import Span, Trace, TraceData, TraceInfo, TraceState
from genver.entities.trace import MODEL_ID_KEY
from genver.exceptions import InvalidArgumentError
from genver.search.ast import LOGGED_MODELS
from genver.search.parser import parse_order_by
from genver.server.routes import model_stats_order
from genver.server.routes.model_stats_order import STAT_ORDER_KEYS, StatOrder, stat_order
from genver.server.routes.models import order_by_param
from genver.server.ui import pages, views
from genver.store.sql.store import SqlStore
from tests.server.test_ui_pages import rows

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

T0 = 1_700_000_000_000
MINUTE_MS = 60_000
#: Per version (in creation order): (latency ms, cost, failed) of each of its traces.
SEED: dict[str, list[tuple[int, float, bool]]] = {
    "v1": [(100, 0.01, False), (200, 0.01, False), (300, 0.01, False)],
    "v2": [(50, 0.03, True), (1000, 0.03, False)],
    "v3": [],
    "v4": [(500, 0.0, True)],
    "v5": [(100, 0.01, False), (200, 0.01, False), (300, 0.01, False)],  # ties v1 on every statistic
    "v6": [],
}
# count 3/2/-/1/3/-, p95 300/1000/-/500/300/-, cost per request .01/.03/-/0/.01/-, error rate 0/.5/-/1/0/-;
# ties: v5 (newer) before v1; no traces: v6 then v3 (newest first), whatever the direction.
EXPECTED = {
    ("traces.count", False): ["v5", "v1", "v2", "v4", "v6", "v3"],
    ("traces.count", True): ["v4", "v2", "v5", "v1", "v6", "v3"],
    ("traces.p95_latency_ms", False): ["v2", "v4", "v5", "v1", "v6", "v3"],
    ("traces.p95_latency_ms", True): ["v5", "v1", "v4", "v2", "v6", "v3"],
    ("traces.cost_per_request", False): ["v2", "v5", "v1", "v4", "v6", "v3"],
    ("traces.cost_per_request", True): ["v4", "v5", "v1", "v2", "v6", "v3"],
    ("traces.error_rate", False): ["v4", "v2", "v5", "v1", "v6", "v3"],
    ("traces.error_rate", True): ["v5", "v1", "v2", "v4", "v6", "v3"],
}


@pytest.fixture
def gc(sql_store: SqlStore) -> GenverClient:
    return GenverClient(store=sql_store)


def trace(
    model_id: str, request_time: int, latency: int = 100, cost: float = 0.0, failed: bool = False
) -> Trace:
    trace_id = "tr-" + uuid.uuid4().hex
    root = Span(
        trace_id=trace_id,
        span_id="0" * 15 + "1",
        parent_id=None,
        name="answer",
        start_time_ns=request_time * 1_000_000,
        end_time_ns=(request_time + latency) * 1_000_000,
    )
    info = TraceInfo(
        trace_id=trace_id,
        experiment_id="0",
        request_time=request_time,
        execution_duration=latency,
        state=TraceState.ERROR if failed else TraceState.OK,
        trace_metadata={MODEL_ID_KEY: model_id},
        cost=cost,
    )
    return Trace(info, TraceData([root]))


def seed(gc: GenverClient) -> dict[str, str]:
    """The versions of ``SEED``, created in order (distinct creation times): name → id."""
    ids = {}
    for name, traces in SEED.items():
        ids[name] = gc.create_logged_model("0", name=name).model_id
        time.sleep(0.002)
        if traces:
            gc.log_traces([trace(ids[name], T0 + i, *t) for i, t in enumerate(traces)])
    for name, value in (("v1", 0.5), ("v2", 0.75)):
        gc.log_metric(
            None, "exact/mean", value, T0, 0, model_id=ids[name], dataset_name="qa", dataset_digest="d" * 16
        )
    return ids


def page_and_twin(client: TestClient, path: str, table: str = "versions") -> tuple[list[str], list[str]]:
    """The ids a page lists and the ids its JSON twin lists."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.text[:500])
    shown, twin = rows(page.text, table)
    assert twin is not None
    body = client.get(twin).json()
    listed = [m["model_id"] for m in body["models"]] if "models" in body else []
    listed += [t["info"]["trace_id"] for t in body.get("traces", [])]
    return shown, listed


def inline_error(text: str) -> str:
    found = re.search(r'id="filter-error">([^<]*)<', text)
    assert found is not None, text[:500]
    return html.unescape(found.group(1))


# -- sorting by a trace statistic ---------------------------------------------------------------------------
def test_each_stat_sort_both_ways_lists_the_twin_s_ids_in_the_right_order(
    gc: GenverClient, client: TestClient
) -> None:
    ids = seed(gc)
    names = {v: k for k, v in ids.items()}
    for (key, ascending), expected in EXPECTED.items():
        order = f"{key} {'ASC' if ascending else 'DESC'}"
        shown, listed = page_and_twin(client, f"/versions?experiment=0&order_by={order}")
        assert [names[i] for i in shown] == expected, order
        assert listed == shown, order


def test_a_stat_sorted_page_shows_the_same_cells_as_the_default_page(
    gc: GenverClient, client: TestClient
) -> None:
    seed(gc)
    default = _cells(client.get("/versions?experiment=0").text)
    for key in STAT_ORDER_KEYS:
        assert _cells(client.get(f"/versions?experiment=0&order_by={key} DESC").text) == default


def _cells(text: str) -> dict[str, list[str]]:
    """Each row's cells (tags stripped), by version id."""
    out = {}
    for row_id, body in re.findall(r'<tr data-id="([^"]+)">(.*?)</tr>', text, re.S):
        out[row_id] = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)
        ]
    return out


def test_page_tokens_walk_a_stat_sorted_list_once(
    gc: GenverClient, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = seed(gc)
    names = {v: k for k, v in ids.items()}
    monkeypatch.setattr(pages, "PAGE_SIZE", 4)
    path: str | None = "/versions?experiment=0&order_by=traces.p95_latency_ms%20DESC&columns=p95"
    seen: list[str] = []
    while path is not None:
        shown, listed = page_and_twin(client, path)
        assert shown == listed and 0 < len(shown) <= 4
        seen += shown
        more = re.search(r'<a class="more" href="([^"]+)"', client.get(path).text)
        path = html.unescape(more.group(1)) if more else None
        if path:
            query = parse_qs(urlsplit(path).query)
            assert query["order_by"] == ["traces.p95_latency_ms DESC"] and query["columns"] == ["p95"]
    assert [names[i] for i in seen] == EXPECTED[("traces.p95_latency_ms", False)]
    # the twin's own tokens, 1 a page
    token, walked = "", []
    while True:
        body = client.get(
            "/api/v1/models",
            params={"experiment_id": "0", "order_by": "traces.count", "max_results": 1, "page_token": token},
        ).json()
        walked += [m["model_id"] for m in body["models"]]
        token = body["next_page_token"]
        if not token:
            break
    assert [names[i] for i in walked] == EXPECTED[("traces.count", True)]


def test_the_filter_narrows_a_stat_sorted_list(gc: GenverClient, client: TestClient) -> None:
    ids = seed(gc)
    shown, listed = page_and_twin(
        client, "/versions?experiment=0&order_by=traces.count DESC&filter=name IN ('v1', 'v2', 'v3')"
    )
    assert shown == listed == [ids["v1"], ids["v2"], ids["v3"]]


def test_past_the_cap_a_stat_sort_asks_to_narrow_the_filter(
    gc: GenverClient, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(gc)
    monkeypatch.setattr(model_stats_order, "MAX_SORTED_VERSIONS", 5)
    page = client.get("/versions?experiment=0&order_by=traces.count DESC")
    api = client.get("/api/v1/models?experiment_id=0&order_by=traces.count DESC")
    assert page.status_code == api.status_code == 400
    message = api.json()["message"]
    assert inline_error(page.text) == message
    assert "more than 5 versions match" in message and "narrow the filter" in message
    narrowed = client.get("/versions?experiment=0&order_by=traces.count DESC&filter=name != 'v6'")
    assert narrowed.status_code == 200


def test_an_unknown_statistic_is_said_inline_with_the_api_s_words(
    gc: GenverClient, client: TestClient
) -> None:
    seed(gc)
    page = client.get("/versions?experiment=0&order_by=traces.p99 DESC")
    api = client.get("/api/v1/models?experiment_id=0&order_by=traces.p99 DESC")
    assert page.status_code == api.status_code == 400
    message = api.json()["message"]
    assert inline_error(page.text) == message and "'traces.p99'" in message
    assert all(key in message for key in STAT_ORDER_KEYS)


def test_headers_are_sort_links_that_toggle_and_mark_the_sorted_one(
    gc: GenverClient, client: TestClient
) -> None:
    seed(gc)
    default = client.get("/versions?experiment=0").text
    assert _sorted_headers(default) == [("Created", "descending")]  # the store's default order
    assert "Sorted by Created, descending." in default
    links = dict(re.findall(r'<a class="sort" href="([^"]+)">([^<]+)</a>', default))
    by_label = {label: parse_qs(urlsplit(html.unescape(href)).query) for href, label in links.items()}
    assert by_label["p95 (ms)"]["order_by"] == ["traces.p95_latency_ms DESC"]
    assert by_label["Created"]["order_by"] == ["creation_time ASC"]  # the other direction
    assert set(by_label) == {
        "Name",
        "Status",
        "Created",
        "Traces",
        "p95 (ms)",
        "Cost / request",
        "Error rate",
        "exact/mean",
    }
    assert by_label["exact/mean"]["order_by"] == ["metrics.exact/mean DESC"]
    desc = client.get("/versions?experiment=0&order_by=traces.p95_latency_ms DESC").text
    assert _sorted_headers(desc) == [("p95 (ms)", "descending")]
    assert "Sorted by p95 (ms), descending; versions without a value last." in desc
    toggled = re.search(r'<a class="sort" href="([^"]+)">p95 \(ms\)</a>', desc)
    assert toggled is not None
    assert parse_qs(urlsplit(html.unescape(toggled.group(1))).query)["order_by"] == [
        "traces.p95_latency_ms ASC"
    ]
    asc = client.get("/versions?experiment=0&order_by=traces.p95_latency_ms ASC").text
    assert _sorted_headers(asc) == [("p95 (ms)", "ascending")]


def _sorted_headers(text: str) -> list[tuple[str, str]]:
    return [
        (re.sub(r"<[^>]+>", "", label), direction)
        for direction, label in re.findall(r'<th scope="col" aria-sort="(\w+)">(.*?)</th>', text)
    ]


@given(
    st.text(max_size=60) | st.sampled_from([f"{k} {d}" for k in STAT_ORDER_KEYS for d in ("ASC", "desc", "")])
)
def test_an_order_key_either_parses_or_is_a_clear_invalid_argument(text: str) -> None:
    """Any text: a statistic order, None (the store's order_by, which itself either parses or says
    InvalidArgumentError), or an InvalidArgumentError naming the text; never another exception."""
    try:
        order = stat_order(text)
    except InvalidArgumentError as exc:
        assert repr(text) in exc.message and "traces.count" in exc.message
        return
    if isinstance(order, StatOrder):
        assert order.key in STAT_ORDER_KEYS and stat_order(str(order)) == order
        return
    assert order is None
    for item in order_by_param(text) or ():
        with contextlib.suppress(InvalidArgumentError):
            parse_order_by(item, LOGGED_MODELS)


# -- columns --------------------------------------------------------------------------------------------------
def test_columns_show_only_the_chosen_groups_and_every_link_carries_them(
    gc: GenverClient, client: TestClient
) -> None:
    seed(gc)
    everything = client.get("/versions?experiment=0").text
    assert set(re.findall(r'data-col="(\w+)"', everything)) == {"name", *views.COLUMN_NAMES}
    for query, wanted in (
        ("columns=traces,p95", {"name", "traces", "p95"}),
        ("columns=name&columns=errors&columns=metrics", {"name", "errors", "metrics"}),  # the form's way
        ("columns=name", {"name"}),
        ("columns=", {"name", *views.COLUMN_NAMES}),
    ):
        text = client.get(f"/versions?experiment=0&{query}").text
        assert set(re.findall(r'data-col="(\w+)"', text)) == wanted, query
        headers = re.findall(r'<th scope="col"[^>]*>(?:<a class="sort" href="[^"]+">)?([^<]+)', text)
        labels = {name: label for name, label, _ in views.COLUMNS}
        for name in views.COLUMN_NAMES[1:]:
            if name != "metrics":
                assert (labels[name] in headers) == (name in wanted), (query, name)
        assert ("exact/mean" in text) == ("metrics" in wanted)
        checked = set(re.findall(r'name="columns" value="(\w+)" checked', text))
        assert checked == wanted - {"name"}, query
    narrow = client.get("/versions?experiment=0&columns=p95,traces&order_by=name ASC").text
    for href in re.findall(r'<a class="sort" href="([^"]+)"', narrow):
        assert parse_qs(urlsplit(html.unescape(href)).query)["columns"] == ["traces,p95"]
    assert 'name="columns" value="traces,p95"' in narrow  # the filter form keeps them


def test_a_bad_column_is_a_400_naming_it_and_the_valid_ones(gc: GenverClient, client: TestClient) -> None:
    seed(gc)
    page = client.get("/versions?experiment=0&columns=traces,latency")
    assert page.status_code == 400
    message = inline_error(page.text)
    assert "'latency'" in message and "'traces'" not in message
    assert all(name in message for name in views.COLUMN_NAMES)
    assert 'id="versions"' not in page.text


# -- the traces list's time window -------------------------------------------------------------------------
def test_a_window_is_pinned_to_since_and_filters_the_page_and_its_twin(
    gc: GenverClient, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = gc.create_logged_model("0", name="w").model_id
    now = int(time.time() * 1000)
    ages = {"10m": 10, "20m": 20, "2h": 120, "3d": 3 * 24 * 60, "40d": 40 * 24 * 60}
    made = {age: trace(model, now - minutes * MINUTE_MS, failed=age == "2h") for age, minutes in ages.items()}
    gc.log_traces(list(made.values()))
    ids = {t.info.trace_id: age for age, t in made.items()}
    for window, wanted in (
        ("1h", ["10m", "20m"]),
        ("24h", ["10m", "20m", "2h"]),
        ("7d", ["10m", "20m", "2h", "3d"]),
        ("30d", ["10m", "20m", "2h", "3d"]),
        ("", ["10m", "20m", "2h", "3d", "40d"]),
    ):
        first = client.get(f"/traces?experiment=0&window={window}", follow_redirects=False)
        if window:
            assert first.status_code == 303
            pinned = first.headers["location"]
            since = int(parse_qs(urlsplit(pinned).query)["since"][0])
            length = views.WINDOWS[window]
            assert now - length <= since <= int(time.time() * 1000) - length
        else:
            assert first.status_code == 200
            pinned = f"/traces?experiment=0&window={window}"
        shown, listed = page_and_twin(client, pinned, "trace-list")
        assert [ids[i] for i in shown] == wanted, window
        assert listed == shown, window
        if window:
            page = client.get(pinned).text
            twin = rows(page, "trace-list")[1] or ""
            assert parse_qs(urlsplit(twin).query)["filter"] == [f"timestamp_ms >= {since}"]
            assert 'id="window-state"' in page and f'<option value="{window}" selected>' in page
    # with the user's filter (ANDed), and through next-page links that keep window and since
    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    path: str | None = str(client.get("/traces?experiment=0&window=24h&filter=state = 'OK'").url)
    seen = []
    while path:
        shown, listed = page_and_twin(client, path, "trace-list")
        assert shown == listed
        seen += shown
        more = re.search(r'<a class="more" href="([^"]+)"', client.get(path).text)
        path = html.unescape(more.group(1)) if more else None
        if path:
            assert {"window", "since", "filter"} <= set(parse_qs(urlsplit(path).query))
    assert [ids[i] for i in seen] == ["10m", "20m"]


def test_a_bad_window_or_since_is_a_400_naming_it(gc: GenverClient, client: TestClient) -> None:
    for query, named in (
        ("window=2h", "'2h'"),
        ("window=1h&since=yesterday", "'yesterday'"),
        ("since=-5", "'-5'"),
        ("since=99999999999999999999", "'99999999999999999999'"),
    ):
        page = client.get(f"/traces?experiment=0&{query}", follow_redirects=False)
        assert page.status_code == 400, query
        message = inline_error(page.text)
        assert named in message, (query, message)
    message = inline_error(client.get("/traces?experiment=0&window=2h").text)
    assert all(w in message for w in views.WINDOWS)


def test_a_bad_filter_with_a_window_points_into_the_user_s_own_text(
    gc: GenverClient, client: TestClient
) -> None:
    page = client.get("/traces?experiment=0&window=1h&since=1&filter=state = 'OK') OR (state = 'ERROR'")
    assert page.status_code == 400
    api = client.get(
        "/api/v1/traces", params={"experiment_id": "0", "filter": "state = 'OK') OR (state = 'ERROR'"}
    )
    assert inline_error(page.text) == api.json()["message"]
