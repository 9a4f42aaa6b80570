"""Span alignment of two traces (genver.compare.traces): keys are name paths with the index among
same-named siblings; unmatched spans are added/removed with their subtrees; tokens and cost are
read as trace_summary reads them; the work stops at max_rows with a note."""

from __future__ import annotations

from typing import Any

import pytest

from genver.compare.traces import MAX_DIFF_CHARS, align_traces, page_rows
from genver.entities import Span, SpanStatus, SpanStatusCode, Trace, TraceData, TraceInfo, TraceState
from genver.exceptions import InvalidArgumentError
from genver.trace_summary import SPAN_COST_KEY

T0 = 1_700_000_000_000_000_000

# (span_id, parent_id, name, start offset µs, duration µs, extras)
SpanSpec = tuple[str, str | None, str, int, int, dict[str, Any]]


def make_trace(trace_id: str, specs: list[SpanSpec]) -> Trace:
    spans = [
        Span(
            trace_id=trace_id,
            span_id=sid,
            parent_id=parent,
            name=name,
            start_time_ns=T0 + start * 1000,
            end_time_ns=T0 + (start + dur) * 1000,
            **extra,
        )
        for sid, parent, name, start, dur, extra in specs
    ]
    info = TraceInfo(trace_id=trace_id, experiment_id="0", request_time=T0 // 1_000_000, execution_duration=1)
    return Trace(info, TraceData(spans))


def agent(trace_id: str, *, searches: int = 2, answer: str = "42", tokens: int = 10) -> Trace:
    specs: list[SpanSpec] = [("root", None, "agent", 0, 1000, {"inputs": {"q": "why?"}})]
    for i in range(searches):
        specs.append((f"s{i}", "root", "search", 10 + i * 100, 50, {"inputs": {"query": f"q{i}"}}))
    specs.append(
        (
            "llm",
            "root",
            "chat",
            500,
            300,
            {
                "outputs": {"answer": answer},
                "attributes": {
                    "gen_ai.usage.input_tokens": tokens,
                    "gen_ai.usage.output_tokens": 5,
                    "gen_ai.request.model": "gpt-4o",
                },
            },
        )
    )
    return make_trace(trace_id, specs)


def test_identical_traces_align_row_by_row_and_are_all_same() -> None:
    cmp = align_traces(agent("tr-a"), agent("tr-b"))
    assert [r.key for r in cmp.rows] == ["agent", "agent / search", "agent / search[1]", "agent / chat"]
    assert [r.depth for r in cmp.rows] == [0, 1, 1, 1]
    assert {r.change for r in cmp.rows} == {"same"}
    assert cmp.select(diff_only=True) == ()
    assert cmp.counts == {"same": 4, "changed": 0, "added": 0, "removed": 0}


def test_a_removed_tool_span_is_one_removed_row_and_a_changed_output_has_a_diff() -> None:
    cmp = align_traces(agent("tr-a", searches=2), agent("tr-b", searches=1, answer="43"))
    changes = {r.key: r.change for r in cmp.rows}
    assert changes == {
        "agent": "same",
        "agent / search": "same",
        "agent / search[1]": "removed",
        "agent / chat": "changed",
    }
    removed = next(r for r in cmp.rows if r.change == "removed")
    assert removed.a is not None and removed.b is None and removed.inputs_diff() == ""
    chat = next(r for r in cmp.rows if r.key == "agent / chat")
    assert chat.differs == ("outputs",)
    diff = chat.outputs_diff()
    assert '-  "answer": "42"' in diff and '+  "answer": "43"' in diff and diff.startswith("--- a/outputs")
    assert chat.inputs_diff() == ""
    assert [r.key for r in cmp.select(diff_only=True)] == ["agent / search[1]", "agent / chat"]
    swapped = align_traces(agent("tr-b", searches=1), agent("tr-a", searches=2))
    assert [r.change for r in swapped.rows if r.key == "agent / search[1]"] == ["added"]


def test_a_span_only_one_trace_has_brings_its_subtree_and_keeps_b_order() -> None:
    a = make_trace("tr-a", [("r", None, "app", 0, 100, {}), ("x", "r", "first", 1, 1, {})])
    b = make_trace(
        "tr-b",
        [
            ("r", None, "app", 0, 100, {}),
            ("n", "r", "new", 0, 5, {}),
            ("nn", "n", "inner", 1, 1, {}),
            ("x", "r", "first", 6, 1, {}),
            ("z", "r", "later", 8, 1, {}),
        ],
    )
    cmp = align_traces(a, b)
    assert [(r.key, r.change) for r in cmp.rows] == [
        ("app", "same"),
        ("app / new", "added"),
        ("app / new / inner", "added"),
        ("app / first", "same"),
        ("app / later", "added"),
    ]


def test_tokens_cost_and_deltas_come_from_span_attributes() -> None:
    cmp = align_traces(agent("tr-a", tokens=100), agent("tr-b", tokens=300))
    chat = next(r for r in cmp.rows if r.name == "chat")
    assert chat.a is not None and chat.b is not None
    assert (chat.a.input_tokens, chat.a.output_tokens, chat.a.tokens) == (100, 5, 105)
    assert chat.tokens_delta == 200 and chat.differs == ("tokens",)
    # gpt-4o: $2.50 / 1M input, $10 / 1M output
    assert chat.a.cost == pytest.approx((100 * 2.5 + 5 * 10) / 1e6)
    assert chat.cost_delta == pytest.approx(200 * 2.5 / 1e6)
    assert chat.duration_delta_ms == 0.0
    root = cmp.rows[0]
    assert root.a is not None and root.a.tokens is None and root.a.cost is None and root.tokens_delta is None
    priced = make_trace("tr-c", [("r", None, "app", 0, 1, {"attributes": {SPAN_COST_KEY: 0.25}})])
    assert align_traces(priced, priced).rows[0].cost_delta == 0.0


def test_status_and_type_count_as_changes_durations_do_not() -> None:
    a = make_trace("tr-a", [("r", None, "app", 0, 100, {})])
    slow = make_trace("tr-b", [("r", None, "app", 0, 900, {})])
    failed = make_trace(
        "tr-c",
        [
            (
                "r",
                None,
                "app",
                0,
                100,
                {"status": SpanStatus(SpanStatusCode.ERROR, "boom"), "span_type": "TOOL"},
            )
        ],
    )
    assert align_traces(a, slow).rows[0].change == "same"
    assert align_traces(a, slow).rows[0].duration_delta_ms == pytest.approx(0.8)
    assert align_traces(a, failed).rows[0].differs == ("status", "span_type")


def test_orphans_are_roots_and_equal_json_in_another_key_order_is_same() -> None:
    a = make_trace("tr-a", [("r", "gone", "app", 0, 1, {"inputs": {"x": 1, "y": 2}})])
    b = make_trace("tr-b", [("r", None, "app", 0, 1, {"inputs": {"y": 2, "x": 1}})])
    assert [r.change for r in align_traces(a, b).rows] == ["same"]


def test_big_traces_stop_at_max_rows_with_a_note_and_deep_chains_do_not_recurse() -> None:
    specs: list[SpanSpec] = [("s0", None, "step", 0, 1, {})]
    specs += [(f"s{i}", f"s{i - 1}", "step", i, 1, {}) for i in range(1, 6000)]
    deep = make_trace("tr-a", specs)
    cmp = align_traces(deep, deep)
    assert len(cmp.rows) == 5000 and cmp.truncated
    assert cmp.notes and "first 5,000 rows" in cmp.notes[0] and "6,000" in cmp.notes[0]
    small = align_traces(deep, deep, max_rows=10)
    assert len(small.rows) == 10 and small.rows[-1].depth == 9
    assert not align_traces(agent("a"), agent("b")).truncated


def test_diffs_are_cut_at_max_diff_chars() -> None:
    a = make_trace("tr-a", [("r", None, "app", 0, 1, {"outputs": "x\n" * MAX_DIFF_CHARS})])
    b = make_trace("tr-b", [("r", None, "app", 0, 1, {"outputs": "y\n" * MAX_DIFF_CHARS})])
    diff = align_traces(a, b).rows[0].outputs_diff()
    assert diff.endswith(f"(compared the first {MAX_DIFF_CHARS:,} characters of each side)")
    assert diff.count("\n-x") == MAX_DIFF_CHARS // 2


def test_rows_are_paged_by_offset_tokens() -> None:
    rows = align_traces(agent("a", searches=5), agent("b", searches=5)).rows
    first, token = page_rows(rows, None, 4)
    assert len(first) == 4 and token == "4"
    rest, end = page_rows(rows, token, 4)
    assert [r.key for r in (*first, *rest)] == [r.key for r in rows] and end is None
    for bad in ("x", "-1", "1e3", "9" * 12):
        with pytest.raises(InvalidArgumentError, match="page_token"):
            page_rows(rows, bad, 4)


def test_to_dict_carries_rows_with_diffs_counts_and_totals() -> None:
    cmp = align_traces(agent("tr-a"), agent("tr-b", answer="no"))
    data = cmp.to_dict()
    assert data["a"]["trace_id"] == "tr-a" and data["b"]["span_count"] == 4
    assert [r["key"] for r in data["rows"]] == [r.key for r in cmp.rows]
    chat = data["rows"][-1]
    assert chat["change"] == "changed" and chat["outputs_diff"] and chat["inputs_diff"] is None
    assert chat["path"] == [["agent", 0], ["chat", 0]]
    assert data["counts"]["changed"] == 1 and data["truncated"] is False
    assert TraceState.OK.value == data["a"]["state"]
