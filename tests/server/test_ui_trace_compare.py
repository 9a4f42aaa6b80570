"""The compare-traces page (/compare/traces?a=&b=) and its JSON twin, on traces stored in SQLite and
PostgreSQL: spans aligned by name path, a removed tool span is one "removed" row, a changed output
has a collapsed diff, "differences only" hides identical rows, user content is escaped, big traces
are bounded and paged, bad ids are 404 pages."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from genver.entities import Span, Trace, TraceData, TraceInfo, TraceState
from genver.server.ui.pages import CSP
from genver.store.sql.store import SqlStore

T0 = 1_700_000_000_000


def make_trace(trace_id: str, spans: list[tuple[str, str | None, str, dict[str, Any]]]) -> Trace:
    """Spans are (span_id, parent_id, name, extra fields); they start 1 µs apart."""
    start = T0 * 1_000_000
    made = [
        Span(
            trace_id=trace_id,
            span_id=sid,
            parent_id=parent,
            name=name,
            start_time_ns=start + i * 1000,
            end_time_ns=start + i * 1000 + 500,
            **extra,
        )
        for i, (sid, parent, name, extra) in enumerate(spans)
    ]
    info = TraceInfo(
        trace_id=trace_id, experiment_id="0", request_time=T0, execution_duration=1, state=TraceState.OK
    )
    return Trace(info, TraceData(made))


A = "tr-" + "a" * 32
B = "tr-" + "b" * 32
LLM = {"gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20, "gen_ai.request.model": "gpt-4o"}


def agent(trace_id: str, *, with_tool: bool, answer: str) -> Trace:
    spans = [
        ("root", None, "agent", {"inputs": {"question": "<script>alert(1)</script>"}}),
        ("plan", "root", "plan", {"outputs": {"steps": 2}}),
    ]
    if with_tool:
        spans.append(("tool", "root", "lookup", {"span_type": "TOOL", "inputs": {"q": "x"}}))
    spans.append(("llm", "root", "chat", {"outputs": {"answer": answer}, "attributes": LLM}))
    return make_trace(trace_id, spans)


@pytest.fixture
def seeded(sql_store: SqlStore) -> None:
    sql_store.log_traces(
        [agent(A, with_tool=True, answer="Paris"), agent(B, with_tool=False, answer="<b>Lyon</b>")]
    )


def table_rows(page: str) -> list[tuple[str, str]]:
    """(data-id, change) of each span row, in order."""
    found = re.search(r'<table[^>]*id="trace-rows".*?</table>', page, re.S)
    assert found is not None
    return [
        (html.unescape(k), c)
        for k, c in re.findall(r'<tr data-id="([^"]*)" class="change-(\w+)"', found.group(0))
    ]


def twin_of(page: str) -> str:
    found = re.search(r'<link rel="alternate" type="application/json" href="([^"]+)"', page)
    assert found is not None
    return html.unescape(found.group(1))


@pytest.mark.usefixtures("seeded")
def test_page_and_twin_align_the_same_rows_and_mark_one_removed_tool(client: TestClient) -> None:
    page = client.get(f"/compare/traces?a={A}&b={B}")
    assert page.status_code == 200 and page.headers["content-security-policy"] == CSP
    shown = table_rows(page.text)
    assert shown == [
        ("agent", "same"),
        ("agent / plan", "same"),
        ("agent / lookup", "removed"),
        ("agent / chat", "changed"),
    ]
    assert [c for _, c in shown].count("removed") == 1
    twin = client.get(twin_of(page.text)).json()
    assert [(r["key"], r["change"]) for r in twin["rows"]] == shown
    assert twin["counts"] == {"same": 2, "changed": 1, "added": 0, "removed": 1}
    chat = twin["rows"][-1]
    assert chat["differs"] == ["outputs"] and chat["a"]["tokens"] == 120 and chat["tokens_delta"] == 0
    assert chat["a"]["cost"] == pytest.approx((100 * 2.5 + 20 * 10) / 1e6)
    reversed_ = client.get(f"/api/v1/compare/traces?a={B}&b={A}").json()
    assert [r["change"] for r in reversed_["rows"]].count("added") == 1


@pytest.mark.usefixtures("seeded")
def test_a_changed_output_shows_a_collapsed_escaped_diff(client: TestClient) -> None:
    page = client.get(f"/compare/traces?a={A}&b={B}").text
    diffs = re.findall(
        r'<details class="diff"><summary>([^<]*)</summary><pre class="diff" data-diff="(\w+)">(.*?)</pre>',
        page,
        re.S,
    )
    assert [(s, w) for s, w, _ in diffs] == [("Outputs differ", "outputs")]
    text = html.unescape(diffs[0][2])
    assert '-  "answer": "Paris"' in text and '+  "answer": "<b>Lyon</b>"' in text
    assert "<b>Lyon</b>" not in page and "<script>alert(1)</script>" not in page
    twin = client.get(f"/api/v1/compare/traces?a={A}&b={B}").json()
    assert twin["rows"][-1]["outputs_diff"] == text and twin["rows"][-1]["inputs_diff"] is None


@pytest.mark.usefixtures("seeded")
def test_differences_only_hides_identical_rows(client: TestClient) -> None:
    everything = client.get(f"/compare/traces?a={A}&b={B}").text
    assert 'id="diff-only"' in everything
    page = client.get(f"/compare/traces?a={A}&b={B}&diff_only=1")
    shown = table_rows(page.text)
    assert shown == [("agent / lookup", "removed"), ("agent / chat", "changed")]
    twin = client.get(twin_of(page.text)).json()
    assert twin["diff_only"] is True and [(r["key"], r["change"]) for r in twin["rows"]] == shown
    same = client.get(f"/compare/traces?a={A}&b={A}&diff_only=1").text
    assert table_rows(same) == [] and "The traces have no differences." in same


def test_big_traces_compare_5000_rows_with_a_note_500_per_page(
    client: TestClient, sql_store: SqlStore
) -> None:
    spans: list[tuple[str, str | None, str, dict[str, Any]]] = [("root", None, "app", {})]
    spans += [(f"c{i}", "root", "step", {}) for i in range(5_100)]
    big_a, big_b = "tr-" + "c" * 32, "tr-" + "d" * 32
    sql_store.log_traces([make_trace(big_a, spans), make_trace(big_b, spans)])
    page = client.get(f"/compare/traces?a={big_a}&b={big_b}")
    assert page.status_code == 200
    assert "only the first 5,000 rows" in page.text
    shown = table_rows(page.text)
    assert len(shown) == 500 and shown[1] == ("app / step", "same") and shown[2] == ("app / step[1]", "same")
    more = re.search(r'<a class="more" href="([^"]+)"', page.text)
    assert more is not None
    second = client.get(html.unescape(more.group(1))).text
    assert table_rows(second)[0] == ("app / step[499]", "same")
    twin = client.get(twin_of(second)).json()
    assert [r["key"] for r in twin["rows"]] == [k for k, _ in table_rows(second)] and twin[
        "truncated"
    ] is True
    last = client.get(f"/api/v1/compare/traces?a={big_a}&b={big_b}&page_token=4500").json()
    assert len(last["rows"]) == 500 and last["next_page_token"] is None


@pytest.mark.usefixtures("seeded")
def test_bad_ids_are_404_pages_and_a_missing_id_asks_for_it(client: TestClient) -> None:
    for query in (f"a={A}&b=tr-{'0' * 32}", f"a=nope&b={B}", f"a={A}&b=%3Cscript%3E"):
        page = client.get(f"/compare/traces?{query}")
        assert page.status_code == 404, query
        assert page.headers["content-type"].startswith("text/html") and 'role="alert"' in page.text
        assert "<script>" not in page.text.split("</head>")[1]
        assert client.get(f"/api/v1/compare/traces?{query}").status_code == 404
    form = client.get(f"/compare/traces?a={A}")
    assert form.status_code == 200 and 'id="trace-b"' in form.text and 'id="trace-rows"' not in form.text
    bad = client.get(f"/compare/traces?a={A}&b={B}&page_token=x")
    api = client.get(f"/api/v1/compare/traces?a={A}&b={B}&page_token=x")
    assert bad.status_code == api.status_code == 400
    shown = re.search(r'id="compare-error">([^<]*)<', bad.text)
    assert shown is not None and html.unescape(shown.group(1)) == api.json()["message"]
    assert client.get(f"/api/v1/compare/traces?a={A}&b={B}&max_results=0").status_code == 400
