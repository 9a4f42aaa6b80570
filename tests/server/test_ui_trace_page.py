"""The trace page reads the trace's outline and only the selected span in full: each span row
shows its tokens and cost, the facts show the trace's totals, and the side panel shows the
selected span's inputs, outputs and status message. A page never reads the whole trace."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from genver.entities import (
    Span,
    SpanStatus,
    SpanStatusCode,
    SpanType,
    TokenUsage,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from genver.store.sql.store import SqlStore
from genver.trace_summary import SPAN_COST_KEY

T0_NS = 1_700_000_000_000 * 1_000_000
TID = "tr-" + "cd" * 16


def _span(sid: str, parent: str | None, i: int, **kw: Any) -> Span:
    return Span(
        trace_id=TID,
        span_id=sid,
        parent_id=parent,
        name=sid,
        start_time_ns=T0_NS + i * 1_000_000,
        end_time_ns=T0_NS + i * 1_000_000 + 500_000,
        **kw,
    )


@pytest.fixture
def trace(sql_store: SqlStore) -> Trace:
    spans = [
        _span("root", None, 0, inputs={"question": "why?"}, outputs={"answer": "because"}),
        _span(
            "llm",
            "root",
            1,
            span_type=SpanType.CHAT_MODEL,
            inputs=[{"role": "user", "content": "hello <b>"}],
            outputs={"text": "llm says hi"},
            attributes={
                "gen_ai.usage.input_tokens": 1200,
                "gen_ai.usage.output_tokens": 34,
                SPAN_COST_KEY: 0.0123,
            },
        ),
        _span(
            "tool",
            "root",
            2,
            span_type=SpanType.TOOL,
            status=SpanStatus(SpanStatusCode.ERROR, "tool exploded"),
            outputs="tool output",
        ),
    ]
    info = TraceInfo(
        trace_id=TID,
        experiment_id="0",
        request_time=T0_NS // 1_000_000,
        execution_duration=3,
        state=TraceState.ERROR,
        token_usage=TokenUsage(1200, 34, 1234),
        cost=0.0123,
    )
    made = Trace(info, TraceData(spans))
    sql_store.log_traces([made])
    return made


def _row(html: str, sid: str) -> str:
    found = re.search(rf'<li role="treeitem" id="span-{sid}".*?</li>', html, re.S)
    assert found is not None, sid
    return found.group(0)


def test_span_rows_show_tokens_and_cost_and_the_facts_show_totals(client: TestClient, trace: Trace) -> None:
    html = client.get(f"/traces/{TID}").text
    llm = _row(html, "llm")
    assert '<span class="tok num" title="tokens: 1200 in · 34 out">1,234</span>' in llm
    assert "$0.0123" in llm
    assert '<span class="tok num"></span>' in _row(html, "tool")  # no tokens: an empty cell
    assert "✕ error" in _row(html, "tool") and "✕ error" not in llm  # not by colour alone
    assert re.search(r"<dt>Tokens</dt><dd>1,234 <small>\(1,200 in · 34 out\)</small></dd>", html)
    assert "<dt>Cost</dt><dd>$0.0123</dd>" in html


def test_the_panel_shows_the_selected_span_read_in_full(client: TestClient, trace: Trace) -> None:
    root = client.get(f"/traces/{TID}").text
    assert "why?" in root and "llm says hi" not in root  # the root is selected by default

    llm = client.get(f"/traces/{TID}?span=llm").text
    assert "llm says hi" in llm and "hello &lt;b&gt;" in llm and "why?" not in llm
    assert re.search(r'id="span-llm"[^>]*aria-selected="true"', llm)

    tool = client.get(f"/traces/{TID}?span=tool").text
    assert "tool exploded" in tool and "tool output" in tool


def test_the_page_reads_the_outline_and_one_span_never_the_whole_trace(
    client: TestClient, trace: Trace, sql_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def refuse(*args: Any, **kw: Any) -> Any:
        calls.append("get_trace")
        raise AssertionError("the trace page read the whole trace")

    monkeypatch.setattr(sql_store, "get_trace", refuse)
    spans_read: list[list[str]] = []
    real = sql_store.get_spans
    monkeypatch.setattr(sql_store, "get_spans", lambda t, ids: spans_read.append(list(ids)) or real(t, ids))

    assert client.get(f"/traces/{TID}?span=tool").status_code == 200
    assert client.get(f"/traces/{TID}/spans?parent=root&depth=1").status_code == 200
    assert client.get(f"/traces/{TID}/spans/llm/outputs").text == '{\n  "text": "llm says hi"\n}'
    assert client.get(f"/compare/traces?a={TID}&b={TID}").status_code == 200
    assert calls == []
    assert spans_read[:2] == [["tool"], ["llm"]]


def test_an_unknown_span_is_said_on_the_page(client: TestClient, trace: Trace) -> None:
    page = client.get(f"/traces/{TID}?span=nope")
    assert page.status_code == 200 and "No span &#39;nope&#39; in this trace." in page.text
    assert re.search(r'id="span-root"[^>]*aria-selected="true"', page.text)


def test_json_values_show_as_a_collapsible_tree_escaped(client: TestClient, sql_store: SqlStore) -> None:
    tid = "tr-" + "ef" * 16
    value = {"query": {"text": "<script>alert(1)</script>", "k": [1, 2.5, None, True]}, "<b>key": "v"}
    root = Span(
        trace_id=tid,
        span_id="root",
        parent_id=None,
        name="root",
        start_time_ns=T0_NS,
        end_time_ns=T0_NS + 1,
        inputs=value,
        outputs=list(range(3_000)),  # more nodes than the tree shows: indented text instead
    )
    info = TraceInfo(trace_id=tid, experiment_id="0", request_time=T0_NS // 1_000_000, execution_duration=0)
    sql_store.log_traces([Trace(info, TraceData([root]))])

    html = client.get(f"/traces/{tid}").text
    tree = re.search(r'<div class="json-tree" id="span-inputs">(.*?)</div>', html, re.S)
    assert tree is not None
    body = tree.group(1)
    assert '<summary><span class="jc">{2 keys}</span></summary>' in body
    assert '<span class="jk">query</span>: <span class="jc">{2 keys}</span>' in body
    assert '<span class="jk">k</span>: <span class="jc">[4 items]</span>' in body
    assert '<span class="jv">&#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;</span>' in body
    assert '<span class="jk">&lt;b&gt;key</span>' in body and "<script>" not in body
    assert '<span class="jv">null</span>' in body and '<span class="jv">2.5</span>' in body
    assert '<pre class="json" id="span-outputs">[\n  0,\n  1,' in html  # too big for a tree
