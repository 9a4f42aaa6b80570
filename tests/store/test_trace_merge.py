"""``merge_traces``: a trace's spans arriving over several calls (OTLP ingest), on SQLite and
PostgreSQL, including replicas merging into one trace at the same time."""

from __future__ import annotations

from typing import Any

import pytest

from genver.entities import (
    Span,
    SpanStatus,
    SpanStatusCode,
    TokenUsage,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from genver.entities.trace import MODEL_ID_KEY, TOKEN_USAGE_KEY
from genver.exceptions import InvalidArgumentError, NotFoundError, StoreError
from genver.store.base import Store
from genver.store.sql.store import SqlStore
from genver.store.sql.trace_merge import merge_trace
from genver.trace_summary import SPAN_COST_KEY, summarize
from tests.store._helpers import at_once, count_rows

TID = "tr-" + "ab" * 16
MS = 1_000_000


def span(span_id: str, parent: str | None, start_ms: int, end_ms: int, **attrs: Any) -> Span:
    return Span(
        trace_id=TID,
        span_id=span_id,
        parent_id=parent,
        name=f"s-{span_id}",
        start_time_ns=start_ms * MS,
        end_time_ns=end_ms * MS,
        status=SpanStatus(SpanStatusCode.ERROR if attrs.pop("error", False) else SpanStatusCode.OK),
        inputs={"q": span_id} if parent is None else None,
        attributes=attrs,
    )


def part(*spans: Span, metadata: dict[str, str] | None = None, experiment_id: str = "0") -> Trace:
    """What one OTLP request brings of the trace (info computed as the server does)."""
    root = next((s for s in spans if s.parent_id is None), None)
    usage, cost = summarize(spans)
    start = min(s.start_time_ns for s in spans)
    end = max(s.end_time_ns or 0 for s in spans)
    state = TraceState.IN_PROGRESS if root is None else TraceState.OK
    if root is not None and root.status.status_code is SpanStatusCode.ERROR:
        state = TraceState.ERROR
    info = TraceInfo(
        trace_id=TID,
        experiment_id=experiment_id,
        request_time=start // MS,
        execution_duration=(end - start) // MS,
        state=state,
        request_preview=None if root is None else f'{{"q": "{root.span_id}"}}',
        trace_metadata=dict(metadata or {}),
        token_usage=usage,
        cost=cost,
    )
    return Trace(info, TraceData(list(spans)))


def llm(span_id: str, start_ms: int, tokens: int) -> Span:
    attrs = {"gen_ai.usage.input_tokens": tokens, "gen_ai.usage.output_tokens": 1, SPAN_COST_KEY: 0.5}
    return span(span_id, "0000000000000001", start_ms, start_ms + 10, **attrs)


ROOT = "0000000000000001"


def test_children_first_then_the_root(store: SqlStore) -> None:
    store.merge_traces([part(llm("00000000000000a1", 1010, 5), llm("00000000000000a2", 1030, 7))])
    early = store.get_trace(TID)
    assert early.info.state is TraceState.IN_PROGRESS
    assert early.info.request_time == 1010 and early.info.execution_duration == 30
    assert early.info.request_preview is None

    store.merge_traces([part(span(ROOT, None, 1000, 1100), metadata={MODEL_ID_KEY: "m-1"})])
    got = store.get_trace(TID)
    assert sorted(s.span_id for s in got.data.spans) == [ROOT, "00000000000000a1", "00000000000000a2"]
    assert got.info.state is TraceState.OK
    assert got.info.request_time == 1000 and got.info.execution_duration == 100
    assert got.info.request_preview == '{"q": "0000000000000001"}'
    assert got.info.token_usage == TokenUsage(12, 2, 14)
    assert got.info.cost == pytest.approx(1.0)
    assert got.info.model_id == "m-1"
    assert '"input_tokens": 12' in got.info.trace_metadata[TOKEN_USAGE_KEY]


def test_a_resent_span_is_not_duplicated_nor_counted_twice(store: SqlStore) -> None:
    batch = part(span(ROOT, None, 1000, 1100), llm("00000000000000a1", 1010, 5))
    store.merge_traces([batch])
    store.merge_traces([batch])  # a retried export
    store.merge_traces([part(llm("00000000000000a1", 1010, 5))])  # the child alone, again
    got = store.get_trace(TID)
    assert len(got.data.spans) == 2
    assert count_rows(store, "spans") == 2
    assert got.info.token_usage == TokenUsage(5, 1, 6)
    assert got.info.state is TraceState.OK  # the resent child does not undo the root's state


def test_the_root_copy_wins_state_and_metadata_the_rest_is_kept(store: SqlStore) -> None:
    store.merge_traces([part(llm("00000000000000a1", 1010, 5), metadata={"k": "child", "only": "child"})])
    store.merge_traces([part(span(ROOT, None, 1000, 1100, error=True), metadata={"k": "root"})])
    store.merge_traces([part(llm("00000000000000a2", 1200, 1), metadata={"k": "late"})])
    info = store.get_trace(TID).info
    assert info.state is TraceState.ERROR
    assert info.trace_metadata["k"] == "root"
    assert info.trace_metadata["only"] == "child"
    assert info.execution_duration == 210  # the late child ends at 1210


def test_a_trace_stays_in_its_experiment_and_keeps_its_assessments_and_tags(store: SqlStore) -> None:
    exp = store.create_experiment("otlp")
    store.merge_traces([part(span(ROOT, None, 1000, 1100), experiment_id=exp)])
    store.set_trace_tags(TID, {"reviewed": "yes"})
    store.merge_traces([part(llm("00000000000000a1", 1010, 5))])  # experiment "0" by default
    got = store.get_trace(TID)
    assert got.info.experiment_id == exp
    assert got.info.tags == {"reviewed": "yes"}


def test_a_batch_with_one_id_twice_merges_both(store: SqlStore) -> None:
    store.merge_traces([part(llm("00000000000000a1", 1010, 5)), part(span(ROOT, None, 1000, 1100))])
    assert len(store.get_trace(TID).data.spans) == 2


def test_bad_input_writes_nothing(store: SqlStore) -> None:
    with pytest.raises(InvalidArgumentError, match="expected a list"):
        store.merge_traces(part(span(ROOT, None, 1, 2)))  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="'424242'"):
        store.merge_traces([part(span(ROOT, None, 1, 2), experiment_id="424242")])
    bad = Span(trace_id=TID, span_id="x" * 40, parent_id=None, name="n", start_time_ns=1, end_time_ns=2)
    with pytest.raises(InvalidArgumentError, match="span id"):
        store.merge_traces([part(bad)])
    assert count_rows(store, "traces") == 0


@pytest.mark.parametrize("replicas", [4])
def test_replicas_merging_into_one_trace_keep_every_span(store: SqlStore, replicas: int) -> None:
    """Each thread has its own store (engine), as a replica would; all merge at once."""
    others = [SqlStore(store.uri, upgrade=False) for _ in range(replicas)]

    def replica(i: int) -> None:
        for j in range(5):
            spans = [llm(f"{i + 1:08x}{j:08x}", 1000 + i * 10 + j, 1)]
            if i == 0 and j == 2:
                spans.append(span(ROOT, None, 900, 2000))
            others[i].merge_traces([part(*spans)])

    errors = at_once(replicas, replica)
    for s in others:
        s.close()
    assert not errors, errors
    got = store.get_trace(TID)
    assert len(got.data.spans) == replicas * 5 + 1
    assert got.info.token_usage == TokenUsage(replicas * 5, replicas * 5, replicas * 10)
    assert got.info.state is TraceState.OK
    assert got.info.request_time == 900 and got.info.execution_duration == 1100


def test_merge_trace_is_pure_and_order_of_arrival_does_not_matter() -> None:
    a = part(llm("00000000000000a1", 1010, 5))
    b = part(span(ROOT, None, 1000, 1100), metadata={MODEL_ID_KEY: "m-1"})
    ab, ba = merge_trace(a, b), merge_trace(b, a)
    assert ab.info == ba.info
    assert [s.span_id for s in ab.data.spans] == [s.span_id for s in ba.data.spans]


def test_other_stores_say_they_cannot_merge() -> None:
    with pytest.raises(StoreError, match="cannot merge spans"):
        Store.merge_traces(object(), [])  # type: ignore[arg-type]  # the base's default
