"""The web UI's pages, rendered by the app in-process (the browser tests in tests/ui drive a real
server): each page shows what its JSON twin lists, in the same order; bad input is said inline,
never a 500; user content is escaped; a big trace never puts more than 500 span rows in a page."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from genver.entities import Span, Trace, TraceData, TraceInfo, TraceState
from genver.entities.trace import MODEL_ID_KEY
from genver.fluent import Genver
from genver.server.ui.pages import CSP
from genver.server.ui.trace_views import MAX_SPAN_ROWS
from genver.store.sql.store import SqlStore
from tests.genai._compare_lab import evaluate, log_traces

T0 = 1_700_000_000_000


class Rows(HTMLParser):
    """The ``data-id`` of every element inside the element with id ``table_id``, in order, and
    the page's alternate JSON link."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth, self.ids, self.twin = table_id, 0, [], None
        self.ids: list[str]
        self.twin: str | None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "link" and a.get("rel") == "alternate" and a.get("type") == "application/json":
            self.twin = a.get("href")
        if a.get("id") == self.table_id:
            self.depth = 1
        elif self.depth and tag == "tr" and a.get("data-id"):
            self.ids.append(str(a["data-id"]))


def rows(html: str, table_id: str) -> tuple[list[str], str | None]:
    parser = Rows(table_id)
    parser.feed(html)
    return parser.ids, parser.twin


@pytest.fixture
def gv(sql_store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Genver]:
    monkeypatch.chdir(tmp_path)
    environ = {"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"), "GENVER_TRACE_FLUSH_INTERVAL": "0.05"}
    yield Genver(store=sql_store, environ=environ)  # the app's store: what the pages show


def seed(gv: Genver) -> dict[str, str]:
    a = gv.create_external_model(name="bot-v1", params={"llm": "small", "k": "3"})
    b = gv.create_external_model(name="bot-v2", params={"llm": "large", "k": "3"})
    evaluate(gv, a, {"exact": [i % 2 == 0 for i in range(20)]}, latency_ms=10)
    evaluate(gv, b, {"exact": [i % 4 != 3 for i in range(20)]}, latency_ms=30)
    log_traces(gv, a.model_id, 3)
    return {"a": a.model_id, "b": b.model_id}


def test_pages_list_what_their_json_twin_lists_in_the_same_order(gv: Genver, client: TestClient) -> None:
    ids = seed(gv)
    for path, table, key, twin_key in (
        ("/experiments", "experiments", "experiments", "experiment_id"),
        ("/versions?experiment=0", "versions", "models", "model_id"),
        ("/versions?experiment=0&order_by=metrics.exact/mean%20DESC", "versions", "models", "model_id"),
        ("/versions?experiment=0&order_by=name%20ASC", "versions", "models", "model_id"),
        ("/traces?experiment=0", "trace-list", "traces", "trace_id"),
    ):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        assert page.headers["content-security-policy"] == CSP
        shown, twin = rows(page.text, table)
        assert twin is not None and twin.startswith("/api/v1/"), path
        listed = client.get(twin).json()[key]
        assert shown == [
            item[twin_key] if twin_key != "trace_id" else item["info"]["trace_id"] for item in listed
        ]
        assert shown, path
    by_metric, _ = rows(
        client.get("/versions?experiment=0&order_by=metrics.exact/mean DESC").text, "versions"
    )
    assert by_metric == [ids["b"], ids["a"]]  # 0.75 before 0.5


def test_a_bad_filter_is_said_inline_with_the_api_s_words(gv: Genver, client: TestClient) -> None:
    seed(gv)
    for page_path, api_path in (
        (
            "/versions?experiment=0&filter=params.llm%20%3D",
            "/api/v1/models?experiment_id=0&filter=params.llm%20%3D",
        ),
        (
            "/traces?experiment=0&filter=nope%20%3E%201",
            "/api/v1/traces?experiment_id=0&filter=nope%20%3E%201",
        ),
    ):
        page = client.get(page_path)
        api = client.get(api_path)
        assert page.status_code == api.status_code == 400
        message = api.json()["message"]
        shown = re.search(r'id="filter-error">([^<]*)<', page.text)
        assert shown is not None and html.unescape(shown.group(1)) == message


def test_unknown_things_are_html_404_pages_not_json(gv: Genver, client: TestClient) -> None:
    for path in (
        "/versions/m-" + "0" * 32,
        "/traces/tr-" + "0" * 32,
        "/versions?experiment=424242",
        "/nowhere/x",
    ):
        page = client.get(path)
        if path.startswith("/nowhere"):
            assert page.status_code == 404 and page.headers["content-type"].startswith("application/json")
            continue
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html") and 'role="alert"' in page.text


def test_user_content_is_escaped(gv: Genver, client: TestClient, sql_store: SqlStore) -> None:
    model = gv.create_external_model(name="<b>bold</b>", params={"p": "<script>alert(1)</script>"})
    trace = _trace(model.model_id, [("root", None)], inputs="<script>alert(1)</script>")
    sql_store.log_traces([trace])
    for path in (f"/versions/{model.model_id}", f"/traces/{trace.info.trace_id}", "/versions?experiment=0"):
        text = client.get(path).text
        assert "<script>alert(1)</script>" not in text and "<b>bold</b>" not in text, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(f"/traces/{trace.info.trace_id}").text


def _trace(model_id: str, spans: list[tuple[str, str | None]], inputs: object = None) -> Trace:
    """A trace whose spans are (span_id, parent_id); names are the ids."""
    trace_id = "tr-" + "ab" * 16
    made = [
        Span(
            trace_id=trace_id,
            span_id=sid,
            parent_id=parent,
            name=sid,
            start_time_ns=T0 * 1_000_000 + i * 1000,
            end_time_ns=T0 * 1_000_000 + i * 1000 + 500,
            inputs=inputs if parent is None else None,
        )
        for i, (sid, parent) in enumerate(spans)
    ]
    info = TraceInfo(
        trace_id=trace_id,
        experiment_id="0",
        request_time=T0,
        execution_duration=1,
        state=TraceState.OK,
        trace_metadata={MODEL_ID_KEY: model_id},
    )
    return Trace(info, TraceData(made))


def test_a_big_trace_renders_at_most_500_rows_and_opens_the_path_to_a_deep_span(
    gv: Genver, client: TestClient, sql_store: SqlStore
) -> None:
    model = gv.create_external_model(name="big")
    # root -> 3,000 children; child 2999 -> a chain 40 deep
    spans: list[tuple[str, str | None]] = [("root", None)]
    spans += [(f"c{i}", "root") for i in range(3000)]
    parent = "c2999"
    for d in range(40):
        spans.append((f"d{d}", parent))
        parent = f"d{d}"
    trace = _trace(model.model_id, spans)
    sql_store.log_traces([trace])
    tid = trace.info.trace_id

    html = client.get(f"/traces/{tid}").text
    assert html.count('role="treeitem"') <= MAX_SPAN_ROWS + 1
    assert 'id="span-root"' in html and 'id="span-c0"' in html and 'id="span-c2999"' not in html
    more = re.search(r'hx-get="(/traces/[^"]+/spans\?parent=root[^"]*)"', html)
    assert more is not None  # the next children come on demand
    page = client.get(more.group(1).replace("&amp;", "&"))
    assert page.status_code == 200 and 'id="span-c200"' in page.text
    assert page.text.count('role="treeitem"') <= MAX_SPAN_ROWS + 1

    deep = client.get(f"/traces/{tid}?span=d39").text
    assert deep.count('role="treeitem"') <= MAX_SPAN_ROWS + 1
    for sid in ("root", "c2999", "d0", "d20", "d39"):
        assert f'id="span-{sid}"' in deep, sid
    assert re.search(r'id="span-d39"[^>]*aria-selected="true"', deep)


def test_compare_marks_what_differs_and_differences_only_hides_the_rest(
    gv: Genver, client: TestClient
) -> None:
    ids = seed(gv)
    page = client.get(f"/compare?version={ids['a']}&version={ids['b']}")
    assert page.status_code == 200
    changed = set(re.findall(r'data-key="([^"]+)" class="changed"', page.text))
    assert {"param:llm", "metric:exact/mean"} <= changed and "param:k" not in changed
    assert "▲" in page.text  # the better version is marked by a sign, not by colour alone
    twin = urlsplit(rows(page.text, "compare-versions")[1] or "")
    assert twin.path == "/api/v1/compare" and parse_qs(twin.query)["candidate"] == [ids["b"]]
    assert client.get(twin.path + "?" + twin.query).status_code == 200
    only = client.get(f"/compare?version={ids['a']}&version={ids['b']}&diff_only=1").text
    keys = set(re.findall(r'data-key="([^"]+)"', only))
    assert keys == set(re.findall(r'data-key="([^"]+)" class="changed"', only))
    bad = client.get(f"/compare?version={ids['a']}")
    assert bad.status_code == 400 and "1 to 3 candidates" in bad.text


def test_static_files_are_public_and_cached(client: TestClient) -> None:
    css = client.get("/static/genver.css")
    assert css.status_code == 200 and "prefers-color-scheme: dark" in css.text
    assert "max-age" in css.headers["cache-control"]
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/vendor/htmx.min.js").status_code == 200


def test_a_value_over_64_kb_shows_a_preview_and_loads_in_full(
    gv: Genver, client: TestClient, sql_store: SqlStore
) -> None:
    model = gv.create_external_model(name="wordy")
    big = "x" * 100_000 + "<end>"
    trace = _trace(model.model_id, [("root", None)], inputs=big)
    sql_store.log_traces([trace])
    page = client.get(f"/traces/{trace.info.trace_id}").text
    assert "Load in full" in page and "&lt;end&gt;" not in page and len(page) < 90_000
    full = client.get(f"/traces/{trace.info.trace_id}/spans/root/inputs")
    assert (
        full.status_code == 200 and full.text == big and full.headers["content-type"].startswith("text/plain")
    )
    assert client.get(f"/traces/{trace.info.trace_id}/spans/root/secrets").status_code == 400
    assert client.get(f"/traces/{trace.info.trace_id}/spans/nope/inputs").status_code == 404


def test_the_examples_tab_lists_each_record_and_filters_to_regressions(
    gv: Genver, client: TestClient
) -> None:
    a = gv.create_external_model(name="ex-v1")
    b = gv.create_external_model(name="ex-v2")
    evaluate(gv, a, {"exact": [True, True, False, False, True, True]})
    evaluate(gv, b, {"exact": [True, False, True, False, True, True]})  # row 1 regressed, row 2 improved
    base = f"/compare?version={a.model_id}&version={b.model_id}&tab=examples"
    page = client.get(base)
    assert page.status_code == 200, page.text[:300]
    changes = re.findall(r'<tr data-id="[^"]+" class="(\w+)"', page.text)
    assert changes == ["regressed", "improved", "same", "same", "same", "same"]  # regressions first
    assert page.text.count("/compare/traces?a=tr-") == 6
    only = client.get(base + "&only=regressions").text
    assert re.findall(r'<tr data-id="[^"]+" class="(\w+)"', only) == ["regressed"] and "▼ regressed" in only
    bad = client.get(base + "&metric=nope/mean")
    assert bad.status_code == 400 and "exact/mean" in bad.text
