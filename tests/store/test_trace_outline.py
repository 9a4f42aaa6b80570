"""Trace outlines and spans by id (``Store.get_trace_outline``, ``Store.get_spans``): the light
reads the UI's span tree and trace comparison use instead of the whole trace. On SQLite and
PostgreSQL here, and over REST in tests/server/test_contract_over_rest.py."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genver.entities import SpanOutline, SpanStatusCode, SpanType, Trace
from genver.exceptions import InvalidArgumentError, NotFoundError, StoreError
from genver.store.base import Store
from genver.store.outlines import outline_of
from genver.store.sql.store import SqlStore
from genver.trace_summary import SPAN_COST_KEY
from tests.store.test_traces import make_trace, new_id, span


def _trace() -> Trace:
    """A root, an LLM child with tokens in three spellings across its siblings, an error span,
    a span whose parent is not in the trace, and payloads the outline must leave out."""
    tid = new_id()
    root = span(tid, "agent", inputs={"question": "q" * 5_000}, outputs={"answer": "a"})
    spans = [
        root,
        span(
            tid,
            "llm",
            parent=root,
            span_type=SpanType.CHAT_MODEL,
            start=3_000,
            attributes={
                "gen_ai.usage.input_tokens": 12,
                "gen_ai.usage.output_tokens": 5,
                SPAN_COST_KEY: 0.25,
            },
            inputs=[{"role": "user", "content": "hi"}],
        ),
        span(
            tid,
            "legacy",
            parent=root,
            span_type=SpanType.LLM,
            start=1_000,
            attributes={"mlflow.chat.tokenUsage": json.dumps({"input_tokens": 3, "output_tokens": 4})},
        ),
        span(
            tid,
            "tool",
            parent=root,
            span_type=SpanType.TOOL,
            start=2_000,
            status=SpanStatusCode.ERROR,
            message="boom",
            attributes={"note": "no tokens here", "token_count_label": "not a usage key"},
        ),
        # its parent id points outside the trace
        dataclasses.replace(
            span(tid, "orphan ✓", start=4_000, attributes={"x": [1, 2]}), parent_id="00000000deadbeef"
        ),
    ]
    return make_trace(trace_id=tid, spans=spans, tokens=(15, 9), cost=0.25)


def test_outline_is_the_trace_without_payloads_in_start_order(store: Store) -> None:
    trace = _trace()
    store.log_traces([trace])
    full = store.get_trace(trace.info.trace_id)

    got = store.get_trace_outline(trace.info.trace_id)

    assert got.info == full.info
    assert [s.span_id for s in got.spans] == [s.span_id for s in full.data.spans]  # start order
    assert list(got.spans) == [outline_of(s) for s in full.data.spans]
    by_name = {s.name: s for s in got.spans}
    assert (by_name["llm"].input_tokens, by_name["llm"].output_tokens, by_name["llm"].cost) == (12, 5, 0.25)
    assert (by_name["legacy"].input_tokens, by_name["legacy"].output_tokens) == (3, 4)
    assert by_name["legacy"].cost is None and by_name["legacy"].total_tokens == 7
    assert by_name["tool"].status == SpanStatusCode.ERROR and by_name["tool"].total_tokens is None
    assert by_name["orphan ✓"].parent_id == "00000000deadbeef"
    assert by_name["agent"].duration_ms == pytest.approx(1.0)


def test_the_default_outline_agrees_with_the_stores_own(store: Store) -> None:
    """``Store.get_trace_outline`` (the base class's, from the whole trace) and the store's
    lighter read give the same outline."""
    trace = _trace()
    store.log_traces([trace])
    tid = trace.info.trace_id
    assert Store.get_trace_outline(store, tid) == store.get_trace_outline(tid)
    ids = [s.span_id for s in trace.data.spans]
    assert Store.get_spans(store, tid, ids[::-1]) == store.get_spans(tid, ids[::-1])


def test_get_spans_returns_full_spans_in_the_order_asked(store: Store) -> None:
    trace = _trace()
    store.log_traces([trace])
    tid = trace.info.trace_id
    full = {s.span_id: s for s in store.get_trace(tid).data.spans}
    llm, root = (next(s.span_id for s in trace.data.spans if s.name == n) for n in ("llm", "agent"))

    got = store.get_spans(tid, [llm, "0000000000000bad", root, llm])

    assert got == [full[llm], full[root]]  # unknown ids left out, repeats once
    assert got[1].inputs == {"question": "q" * 5_000}
    assert store.get_spans(tid, []) == []


def test_unknown_trace_is_not_found(store: Store) -> None:
    missing = new_id()
    with pytest.raises(NotFoundError, match=missing):
        store.get_trace_outline(missing)
    with pytest.raises(NotFoundError, match=missing):
        store.get_spans(missing, ["0000000000000001"])


@pytest.mark.parametrize("bad", ["0000000000000001", [1, 2], ["ok", None]])
def test_span_ids_must_be_a_list_of_strings(store: Store, bad: Any) -> None:
    trace = _trace()
    store.log_traces([trace])
    with pytest.raises(InvalidArgumentError, match="span_ids"):
        store.get_spans(trace.info.trace_id, bad)


@pytest.mark.parametrize("bad", ["", None, 7])
def test_a_bad_trace_id_is_named(store: Store, bad: Any) -> None:
    with pytest.raises((InvalidArgumentError, NotFoundError)):
        store.get_trace_outline(bad)


usage_values = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=2**40),
    st.text(max_size=5),
    st.floats(allow_nan=True),
    st.booleans(),
)
attributes = st.dictionaries(
    st.sampled_from(
        [
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.prompt_tokens",
            "gen_ai.usage.completion_tokens",
            "mlflow.chat.tokenUsage",
            SPAN_COST_KEY,
            "tokens",
            "other",
        ]
    ),
    st.one_of(
        usage_values,
        st.fixed_dictionaries({"input_tokens": usage_values, "output_tokens": usage_values}),
    ),
    max_size=5,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attrs=attributes)
def test_any_attributes_outline_as_the_full_span_reads(store: Store, attrs: dict[str, Any]) -> None:
    """Whatever a span's attributes hold, its outline's tokens and cost are what the full span
    gives (the store's pre-filter never hides a usage key, nor invents one)."""
    tid = new_id()
    root = span(tid, "root", attributes={k: v for k, v in attrs.items() if _finite(v)})
    store.log_traces([make_trace(trace_id=tid, spans=[root])])
    (full,) = store.get_trace(tid).data.spans
    (got,) = store.get_trace_outline(tid).spans
    assert got == outline_of(full)
    assert isinstance(got, SpanOutline)


def _finite(value: Any) -> bool:
    """NaN and infinities are refused by the store's JSON: such values are left out."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


def test_a_driver_error_in_the_outline_read_comes_out_as_any_reads(db_uri: str) -> None:
    """The outline reads through the driver's cursor (``driver_rows``); its errors come out as
    any other read's do (``get_trace`` on the same broken table), never as a raw sqlite3/psycopg
    exception. On a database of its own (``db_uri``): it breaks the schema."""
    store = SqlStore(db_uri)
    try:
        trace = _trace()
        store.log_traces([trace])
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE spans RENAME COLUMN span_type TO kind")
        with pytest.raises(Exception) as expected:
            store.get_trace(trace.info.trace_id)
        with pytest.raises(Exception, match="span_type") as got:
            store.get_trace_outline(trace.info.trace_id)
        assert type(got.value) is type(expected.value)
        assert isinstance(got.value, (StoreError, sa.exc.DBAPIError))
    finally:
        store.close()
