"""Traces in the SQL store, on SQLite and PostgreSQL (the ``store`` fixture of tests/conftest.py):
log/get round trips, the trace filter language, ordering and paging, deletes, tags, statistics
and bad input."""

from __future__ import annotations

import dataclasses
import itertools
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genver.entities import (
    Span,
    SpanEvent,
    SpanStatus,
    SpanStatusCode,
    SpanType,
    TokenUsage,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from genver.entities.trace import MODEL_ID_KEY, SESSION_KEY, SOURCE_RUN_KEY, USER_KEY
from genver.exceptions import GenverError, InvalidArgumentError, InvalidFilterError, NotFoundError
from genver.store.sql import trace_stats
from genver.store.sql.store import SqlStore
from tests.store._helpers import all_counts

T0 = 1_700_000_000_000  # ms
TRACE_TABLES = ("traces", "spans", "trace_metadata", "trace_tags")
_ids = itertools.count(1)


# -- building traces --------------------------------------------------------------------------------
def new_id() -> str:
    return "tr-" + uuid.uuid4().hex


def span(
    trace_id: str,
    name: str,
    *,
    span_id: str | None = None,
    parent: Span | None = None,
    span_type: str = SpanType.CHAIN,
    start: int = 0,
    duration_ns: int = 1_000_000,
    status: SpanStatusCode = SpanStatusCode.OK,
    message: str = "",
    inputs: Any = None,
    outputs: Any = None,
    attributes: Mapping[str, Any] | None = None,
    events: Sequence[SpanEvent] = (),
) -> Span:
    start_ns = T0 * 1_000_000 + start
    return Span(
        trace_id=trace_id,
        span_id=span_id or f"{next(_ids):016x}",
        parent_id=None if parent is None else parent.span_id,
        name=name,
        span_type=span_type,
        start_time_ns=start_ns,
        end_time_ns=start_ns + duration_ns,
        status=SpanStatus(status, message),
        inputs=inputs,
        outputs=outputs,
        attributes=dict(attributes or {}),
        events=tuple(events),
    )


def make_trace(
    *,
    trace_id: str | None = None,
    experiment_id: str = "0",
    request_time: int = T0,
    duration: int | None = 100,
    state: TraceState = TraceState.OK,
    name: str = "root",
    model_id: str | None = None,
    run_id: str | None = None,
    session: str | None = None,
    user: str | None = None,
    metadata: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    tokens: tuple[int, int] | None = None,
    cost: float | None = None,
    client_request_id: str | None = None,
    children: Sequence[tuple[str, str]] = (("retrieve", SpanType.RETRIEVER), ("generate", SpanType.LLM)),
    spans: Sequence[Span] | None = None,
) -> Trace:
    """A trace: a root span ``name`` with one child per ``(name, span_type)`` (or ``spans``)."""
    trace_id = trace_id or new_id()
    if spans is None:
        root = span(trace_id, name, inputs={"question": "why?"}, outputs={"answer": "because"})
        spans = [root] + [
            span(trace_id, n, parent=root, span_type=t, start=1000 * (i + 1), inputs=[i], outputs=str(i))
            for i, (n, t) in enumerate(children)
        ]
    meta = dict(metadata or {})
    for key, value in (
        (MODEL_ID_KEY, model_id),
        (SOURCE_RUN_KEY, run_id),
        (SESSION_KEY, session),
        (USER_KEY, user),
    ):
        if value is not None:
            meta[key] = value
    info = TraceInfo(
        trace_id=trace_id,
        experiment_id=experiment_id,
        request_time=request_time,
        execution_duration=duration,
        state=state,
        request_preview='{"question": "why?"}',
        response_preview='{"answer": "because"}',
        client_request_id=client_request_id,
        trace_metadata=meta,
        tags=dict(tags or {}),
        token_usage=None if tokens is None else TokenUsage(tokens[0], tokens[1], tokens[0] + tokens[1]),
        cost=cost,
    )
    return Trace(info, TraceData(list(spans)))


def sorted_spans(trace: Trace) -> list[Span]:
    return sorted(trace.data.spans, key=lambda s: (s.start_time_ns, s.span_id))


def assert_same(got: Trace, logged: Trace) -> None:
    assert got.info == logged.info
    assert got.data.spans == sorted_spans(logged)


def counts(store: SqlStore) -> dict[str, int]:
    found = all_counts(store)
    return {t: found[t] for t in TRACE_TABLES}


def search_ids(store: SqlStore, filter_string: str | None = None, **kw: Any) -> list[str]:
    kw.setdefault("experiment_ids", ["0"])
    kw.setdefault("max_results", 1000)
    return [t.info.trace_id for t in store.search_traces(filter_string=filter_string, **kw)]


# -- round trips ----------------------------------------------------------------------------------------
def test_round_trip_nested_spans_unicode_events_and_error(store: SqlStore) -> None:
    tid = new_id()
    root = span(
        tid,
        "agent ✓",
        span_type=SpanType.AGENT,
        duration_ns=9_000_000,
        status=SpanStatusCode.ERROR,
        message="ValueError: boom — 失敗",
        inputs={"question": "¿Qué? 你好 🚀", "n": [1, 2.5, None, True], "nested": {"a": {"b": []}}},
        outputs=None,
        attributes={"mlflow.spanType": "AGENT", "gen_ai.request.model": "gpt-4o", "temperature": 0.2},
        events=(SpanEvent("exception", T0 * 1_000_000 + 5, {"exception.message": "boom 💥", "n": 3}),),
    )
    tool = span(
        tid, "tool", parent=root, span_type=SpanType.TOOL, start=2000, inputs="plain string", outputs=42
    )
    leaf = span(tid, "leaf", parent=tool, span_type="MY_TYPE", start=3000, status=SpanStatusCode.UNSET)
    llm = span(tid, "llm", parent=root, span_type=SpanType.LLM, start=1000, outputs={"text": "é" * 100})
    trace = make_trace(
        trace_id=tid,
        state=TraceState.ERROR,
        duration=9,
        model_id="m-" + "a" * 32,
        run_id="r" * 32,
        session="sess-1",
        user="ünï",
        metadata={"mlflow.source.name": "app.py", "custom key": "välue"},
        tags={"env": "prod", "note": "日本"},
        tokens=(12, 30),
        cost=0.00123,
        client_request_id="req-1",
        spans=[leaf, tool, root, llm],  # any order: stored ordered by start time
    )
    store.log_traces([trace])
    got = store.get_trace(tid)
    assert_same(got, trace)
    assert [s.name for s in got.data.spans] == ["agent ✓", "llm", "tool", "leaf"]
    assert got.info.model_id == "m-" + "a" * 32 and got.info.run_id == "r" * 32
    assert got.data.root == root
    assert counts(store) == {"traces": 1, "spans": 4, "trace_metadata": 2, "trace_tags": 2}


def test_round_trip_minimal_trace(store: SqlStore) -> None:
    trace = make_trace(duration=None, state=TraceState.IN_PROGRESS, spans=[])
    trace = Trace(dataclasses.replace(trace.info, request_preview=None, response_preview=None), trace.data)
    store.log_traces([trace])
    got = store.get_trace(trace.info.trace_id)
    assert_same(got, trace)
    assert got.info.token_usage is None and got.info.cost is None and got.data.spans == []


def test_large_inputs_round_trip(store: SqlStore) -> None:
    big = "ü✓" * 500_000  # 1,000,000 characters
    tid = new_id()
    root = span(
        tid, "big", inputs={"document": big}, outputs=[big[:1000]] * 1000, attributes={"size": len(big)}
    )
    trace = make_trace(trace_id=tid, spans=[root])
    store.log_traces([trace])
    assert_same(store.get_trace(tid), trace)


def test_non_finite_attributes_are_stored_as_strings_and_searchable(store: SqlStore) -> None:
    tid = new_id()
    root = span(
        tid,
        "root",
        inputs={"x": math.inf},
        attributes={"nan": math.nan, "inf": -math.inf, "model": "gpt-4o", "list": [1.0, math.inf]},
    )
    store.log_traces([make_trace(trace_id=tid, spans=[root])])
    got = store.get_trace(tid).data.spans[0]
    assert got.attributes == {"nan": "NaN", "inf": "-Infinity", "model": "gpt-4o", "list": [1.0, "Infinity"]}
    assert got.inputs == {"x": math.inf}  # inputs are text: exact
    assert search_ids(store, "span.attributes.model = 'gpt-4o'") == [tid]
    assert search_ids(store, "span.attributes.nan = 'NaN'") == [tid]


def test_lone_surrogates_in_attributes_do_not_poison_searches(store: SqlStore) -> None:
    tid = new_id()
    root = span(tid, "root", inputs="bad \udc80 byte", attributes={"a": "x\ud800", "ok": "🚀 é", "\udfff": 1})
    store.log_traces([make_trace(trace_id=tid, spans=[root]), make_trace()])
    got = store.get_trace(tid).data.spans[0]
    assert got.attributes == {"a": "x\ufffd", "ok": "🚀 é", "\ufffd": 1}
    assert got.inputs == "bad \udc80 byte"  # inputs are text: exact
    assert search_ids(store, "span.attributes.ok = '🚀 é'") == [tid]
    assert search_ids(store, "span.attributes.a LIKE 'x%'") == [tid]


def test_relog_replaces_the_earlier_copy(store: SqlStore) -> None:
    first = make_trace(tags={"a": "1", "b": "2"}, metadata={"k": "v"}, model_id="m-1")
    store.log_traces([first])
    store.log_traces([first])  # a retried batch: no duplicates
    assert counts(store) == {"traces": 1, "spans": 3, "trace_metadata": 1, "trace_tags": 2}
    tid = first.info.trace_id
    second = make_trace(
        trace_id=tid, tags={"c": "3"}, children=[("only", SpanType.TOOL)], state=TraceState.ERROR
    )
    store.log_traces([second, make_trace()])
    assert_same(store.get_trace(tid), second)
    assert counts(store) == {"traces": 2, "spans": 5, "trace_metadata": 0, "trace_tags": 1}
    assert search_ids(store, "metadata.`mlflow.modelId` = 'm-1'") == []


def test_the_last_copy_of_an_id_in_one_batch_wins(store: SqlStore) -> None:
    a = make_trace(tags={"v": "1"})
    b = make_trace(trace_id=a.info.trace_id, tags={"v": "2"})
    store.log_traces([a, b])
    assert store.get_trace(a.info.trace_id).info.tags == {"v": "2"}
    store.log_traces([])  # nothing to do
    assert counts(store)["traces"] == 1


def test_traces_in_another_experiment(store: SqlStore) -> None:
    exp = store.create_experiment("other")
    trace = make_trace(experiment_id=exp)
    store.log_traces([trace, make_trace()])
    assert search_ids(store, experiment_ids=[exp]) == [trace.info.trace_id]
    assert len(search_ids(store, experiment_ids=["0", exp])) == 2
    assert search_ids(store, f"experiment_id = '{exp}'", experiment_ids=["0", exp]) == [trace.info.trace_id]


def test_get_unknown_trace(store: SqlStore) -> None:
    tid = new_id()
    with pytest.raises(NotFoundError, match=f"Trace with ID '{tid}' not found."):
        store.get_trace(tid)
    with pytest.raises(InvalidArgumentError):
        store.get_trace(None)  # type: ignore[arg-type]


# -- search filters ------------------------------------------------------------------------------------------
RUN = "c" * 32


@pytest.fixture
def corpus(store: SqlStore) -> dict[str, str]:
    """Six traces with distinct attributes; returns label -> trace id."""
    traces = {
        "a": make_trace(
            request_time=T0 + 1,
            duration=50,
            name="root_a",
            model_id="m-a",
            run_id=RUN,
            session="s1",
            user="alice",
            tags={"env": "prod", "team.name": "search"},
            metadata={"custom": "v1"},
            tokens=(10, 20),
            cost=0.01,
            client_request_id="req-a",
            children=[("retrieve", SpanType.RETRIEVER), ("generate", SpanType.LLM)],
        ),
        "b": make_trace(
            request_time=T0 + 2,
            duration=150,
            name="root_b",
            model_id="m-a",
            session="s2",
            user="bob",
            tags={"env": "dev"},
            tokens=(100, 200),
            cost=0.05,
            children=[("call_tool", SpanType.TOOL)],
        ),
        "c": make_trace(
            request_time=T0 + 3,
            duration=151,
            state=TraceState.ERROR,
            name="Other",
            model_id="m-b",
            metadata={"custom": "v2"},
            tokens=(5, 5),
            cost=0.02,
        ),
        "d": make_trace(request_time=T0 + 4, duration=None, state=TraceState.IN_PROGRESS, name="root_d"),
        "e": make_trace(
            request_time=T0 + 5, duration=1000, name="root_e", model_id="m-c", tags={"env": "prod"}
        ),
    }
    tid = new_id()
    root = span(tid, "root_f", attributes={"gen_ai.request.model": "gpt-4o", "n": 3, "temperature": 0.5})
    llm = span(
        tid,
        "llm",
        parent=root,
        span_type=SpanType.LLM,
        status=SpanStatusCode.ERROR,
        attributes={"gen_ai.request.model": "claude", "my key": "x y"},
    )
    traces["f"] = make_trace(trace_id=tid, request_time=T0 + 6, duration=75, spans=[root, llm], cost=0.0)
    store.log_traces(list(traces.values()))
    return {label: t.info.trace_id for label, t in traces.items()}


FILTERS: list[tuple[str, str]] = [
    # attributes
    ("state = 'ERROR'", "c"),
    ("status = 'OK'", "abef"),
    ("attributes.state = 'ok'", "abef"),
    ("state IN ('ERROR', 'IN_PROGRESS')", "cd"),
    ("state NOT IN ('OK')", "cd"),
    ("state != 'OK'", "cd"),
    ("execution_time > 150", "ce"),
    ("execution_time >= 150.5", "ce"),
    ("execution_time > 150.5", "ce"),
    ("execution_time < 150.5", "abf"),
    ("execution_time_ms <= 150", "abf"),
    ("execution_duration = 150", "b"),
    ("execution_time = 150.5", ""),
    ("execution_time != 150", "acef"),
    ("request_time > {t3}", "def"),
    ("timestamp_ms <= {t3}", "abc"),
    ("timestamp >= {t3} AND timestamp < {t5}", "cd"),
    ("cost > 0.015", "bc"),
    ("cost <= 0.01", "af"),
    ("cost = 0", "f"),
    ("total_tokens >= 300", "b"),
    ("input_tokens = 10", "a"),
    ("output_tokens != 20", "bc"),
    ("total_tokens < 1e3", "abc"),
    ("name = 'root_a'", "a"),
    ("trace_name LIKE 'root%'", "abdef"),
    ("name ILIKE 'ROOT_A'", "a"),
    ("name != 'Other'", "abdef"),
    ("client_request_id = 'req-a'", "a"),
    ("trace_id = '{a}'", "a"),
    ("request_id IN ('{a}', '{c}')", "ac"),
    ("model_id = 'm-a'", "ab"),
    ("run_id = '{run}'", "a"),
    ("session_id = 's2'", "b"),
    ("user = 'alice'", "a"),
    ("experiment_id = '0'", "abcdef"),
    # tags
    ("tags.env = 'prod'", "ae"),
    ("tag.env != 'prod'", "b"),
    ("tags.`team.name` = 'search'", "a"),
    ("tags.env IN ('dev', 'test')", "b"),
    ("tags.env LIKE 'p%'", "ae"),
    ("tags.missing = 'x'", ""),
    # metadata (the four copied keys use trace columns, the rest trace_metadata)
    ("metadata.`mlflow.modelId` = 'm-a'", "ab"),
    ("request_metadata.`mlflow.modelId` = 'm-b'", "c"),
    ("trace_metadata.`mlflow.modelId` IN ('m-b', 'm-c')", "ce"),
    ("metadata.`mlflow.modelId` != 'm-a'", "ce"),
    ("metadata.`mlflow.modelId` LIKE 'm-%'", "abce"),
    ("metadata.`mlflow.sourceRun` = '{run}'", "a"),
    ("metadata.`mlflow.trace.session` = 's1'", "a"),
    ("metadata.`mlflow.trace.user` ILIKE 'BOB'", "b"),
    ("metadata.custom = 'v2'", "c"),
    ("metadata.custom != 'v2'", "a"),
    # spans: a trace matches when any of its spans does
    ("span.name = 'retrieve'", "acde"),
    ("span.name = 'call_tool'", "b"),
    ("span.name LIKE 'root_%'", "abdef"),
    ("span.type = 'LLM'", "acdef"),
    ("span.type = 'TOOL'", "b"),
    ("spans.type IN ('TOOL', 'RETRIEVER')", "abcde"),
    ("span.status = 'ERROR'", "f"),
    ("span.status != 'OK'", "f"),
    ("span.attributes.`gen_ai.request.model` = 'gpt-4o'", "f"),
    ("span.attributes.gen_ai.request.model = 'claude'", "f"),
    ("span.attributes.`gen_ai.request.model` LIKE 'c%'", "f"),
    ("span.attributes.`my key` = 'x y'", "f"),
    ("span.attributes.n = '3'", "f"),
    ("span.attributes.temperature = '0.5'", "f"),
    ("span.attributes.missing = 'x'", ""),
    # boolean structure
    ("(tags.env = 'prod' OR span.type = 'TOOL') AND state = 'OK'", "abe"),
    ("tags.env = 'prod' OR (state = 'ERROR' AND cost > 0.01)", "ace"),
    ("model_id = 'm-a' AND (execution_time < 100 OR execution_time > 1000)", "a"),
    ("(((name = 'root_a')))", "a"),
    ("span.type = 'LLM' AND span.name = 'generate' AND metadata.`mlflow.modelId` = 'm-a'", "a"),
]


@pytest.mark.parametrize(("filter_string", "expected"), FILTERS, ids=[f for f, _ in FILTERS])
def test_filters(store: SqlStore, corpus: dict[str, str], filter_string: str, expected: str) -> None:
    values = {**corpus, "run": RUN, **{f"t{i}": str(T0 + i) for i in range(1, 7)}}
    got = search_ids(store, filter_string.format(**values))
    assert sorted(got) == sorted(corpus[c] for c in expected)


@pytest.mark.parametrize(
    ("filter_string", "named"),
    [
        ("span.foo = 'x'", "span.foo"),
        ("span.attributes = 'x'", "span.attributes"),
        ("span.attributes.`a\"b` = 'x'", 'a"b'),
        ("state = 'DONE'", "DONE"),
        ("status IN ('OK', 'nope')", "nope"),
        ("trace.name = 'x'", "trace.name"),
        ("execution_time > 'abc'", "execution_time"),
        ("name = 5", "name"),
        ("tags.env = 'a' AND", "end of input"),
    ],
)
def test_bad_filters_name_the_problem(store: SqlStore, filter_string: str, named: str) -> None:
    with pytest.raises(InvalidFilterError) as info:
        store.search_traces(experiment_ids=["0"], filter_string=filter_string)
    assert named in str(info.value)


def test_bad_search_arguments(store: SqlStore) -> None:
    with pytest.raises(InvalidArgumentError, match="'abc'"):
        store.search_traces(experiment_ids=["abc"])
    with pytest.raises(InvalidArgumentError, match="experiment_ids"):
        store.search_traces(experiment_ids="0")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="max_results"):
        store.search_traces(experiment_ids=["0"], max_results=0)
    with pytest.raises(InvalidArgumentError, match="page token"):
        store.search_traces(experiment_ids=["0"], page_token="nope")
    with pytest.raises(InvalidArgumentError, match="order_by"):
        store.search_traces(experiment_ids=["0"], order_by="request_time")  # type: ignore[arg-type]
    with pytest.raises(InvalidFilterError, match="tags.env"):
        store.search_traces(experiment_ids=["0"], order_by=["tags.env"])
    assert store.search_traces(experiment_ids=[]) == []


# -- ordering and paging ---------------------------------------------------------------------------------
def test_default_order_is_newest_first_then_trace_id(store: SqlStore) -> None:
    traces = [make_trace(request_time=T0 + i // 3) for i in range(9)]
    store.log_traces(traces)
    expected = sorted(traces, key=lambda t: (-t.info.request_time, t.info.trace_id))
    assert search_ids(store) == [t.info.trace_id for t in expected]


@pytest.mark.parametrize(
    ("order_by", "key"),
    [
        (["request_time DESC"], lambda t: (-t.info.request_time,)),
        (["timestamp_ms ASC"], lambda t: (t.info.request_time,)),
        (
            ["execution_time ASC"],
            lambda t: (t.info.execution_duration is None, t.info.execution_duration or 0),
        ),
        (
            ["execution_time DESC"],
            lambda t: (t.info.execution_duration is None, -(t.info.execution_duration or 0)),
        ),
        (["cost DESC"], lambda t: (t.info.cost is None, -(t.info.cost or 0))),
        (["state", "request_time DESC"], lambda t: (t.info.state.value, -t.info.request_time)),
        (["name DESC"], lambda t: (t.data.root is None, "" if t.data.root is None else t.data.root.name)),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_order_by_missing_values_last(store: SqlStore, order_by: list[str], key: Any) -> None:
    traces = [
        make_trace(
            request_time=T0 + i % 4,
            duration=None if i % 5 == 0 else (i * 37) % 11,
            cost=None if i % 3 == 0 else (i * 13) % 7 / 100,
            state=[TraceState.OK, TraceState.ERROR, TraceState.IN_PROGRESS][i % 3],
            name=f"n{i % 4}",
            spans=[] if i == 7 else None,
        )
        for i in range(20)
    ]
    store.log_traces(traces)
    if order_by == ["name DESC"]:  # descending text: compare the names themselves
        named = sorted((t for t in traces if t.data.root), key=lambda t: t.info.trace_id)
        named.sort(key=lambda t: t.data.root.name, reverse=True)  # type: ignore[union-attr]
        expected = named + [t for t in traces if not t.data.root]
    else:
        expected = sorted(traces, key=lambda t: (*key(t), t.info.trace_id))
    assert search_ids(store, order_by=order_by) == [t.info.trace_id for t in expected]


@pytest.mark.parametrize("order_by", [None, ["execution_time ASC"], ["cost DESC", "request_time ASC"]])
def test_paging_returns_each_trace_exactly_once(store: SqlStore, order_by: list[str] | None) -> None:
    traces = [
        make_trace(request_time=T0 + i % 5, duration=i % 4 or None, cost=i % 3 or None) for i in range(23)
    ]
    store.log_traces(traces)
    everything = search_ids(store, order_by=order_by)
    pages, token = [], None
    while True:
        page = store.search_traces(experiment_ids=["0"], max_results=5, order_by=order_by, page_token=token)
        pages.append([t.info.trace_id for t in page])
        token = page.token
        if token is None:
            break
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [i for p in pages for i in p] == everything
    assert sorted(everything) == sorted(t.info.trace_id for t in traces)


def test_include_spans_false(store: SqlStore) -> None:
    trace = make_trace(tags={"a": "b"}, model_id="m-x", tokens=(1, 2), cost=0.5)
    store.log_traces([trace])
    [found] = store.search_traces(experiment_ids=["0"], include_spans=False)
    assert found.info == trace.info
    assert found.data.spans == []
    [with_spans] = store.search_traces(experiment_ids=["0"])
    assert_same(with_spans, trace)


# -- deletes and tags ------------------------------------------------------------------------------------
def test_delete_by_ids(store: SqlStore) -> None:
    exp = store.create_experiment("other")
    a, b, c = make_trace(tags={"t": "1"}), make_trace(metadata={"k": "v"}), make_trace(experiment_id=exp)
    store.log_traces([a, b, c])
    ids = [a.info.trace_id, b.info.trace_id, c.info.trace_id, new_id()]
    assert store.delete_traces(experiment_id="0", trace_ids=ids) == 2  # c is in another experiment
    assert counts(store) == {"traces": 1, "spans": 3, "trace_metadata": 0, "trace_tags": 0}
    assert store.get_trace(c.info.trace_id).info == c.info
    with pytest.raises(NotFoundError):
        store.get_trace(a.info.trace_id)
    assert store.delete_traces(experiment_id="0", trace_ids=[]) == 0


def test_delete_by_age_oldest_first(store: SqlStore) -> None:
    traces = [make_trace(request_time=T0 + i, tags={"i": str(i)}) for i in range(10)]
    store.log_traces(traces)
    assert store.delete_traces(experiment_id="0", max_timestamp_millis=T0 + 5, max_traces=2) == 2
    assert sorted(search_ids(store)) == sorted(t.info.trace_id for t in traces[2:])
    assert store.delete_traces(experiment_id="0", max_timestamp_millis=T0 + 5) == 4  # at or before
    assert sorted(search_ids(store)) == sorted(t.info.trace_id for t in traces[6:])
    assert store.delete_traces(experiment_id="0", max_timestamp_millis=T0) == 0
    assert counts(store) == {"traces": 4, "spans": 12, "trace_metadata": 0, "trace_tags": 4}


@pytest.mark.parametrize(
    ("kwargs", "error", "named"),
    [
        ({}, InvalidArgumentError, "exactly one"),
        ({"trace_ids": ["x"], "max_timestamp_millis": 1}, InvalidArgumentError, "exactly one"),
        ({"trace_ids": [], "max_traces": 1}, InvalidArgumentError, "max_traces"),
        ({"max_timestamp_millis": 1, "max_traces": 0}, InvalidArgumentError, "0"),
        ({"max_timestamp_millis": "soon"}, InvalidArgumentError, "soon"),
        ({"trace_ids": ["tr-bad"]}, InvalidArgumentError, "tr-bad"),
        ({"trace_ids": "tr-" + "0" * 32}, InvalidArgumentError, "trace_ids"),
        ({"experiment_id": "999", "max_timestamp_millis": 1}, NotFoundError, "999"),
    ],
)
def test_delete_bad_arguments(
    store: SqlStore, kwargs: dict[str, Any], error: type[Exception], named: str
) -> None:
    store.log_traces([make_trace()])
    kwargs = {"experiment_id": "0", **kwargs}
    with pytest.raises(error) as info:
        store.delete_traces(**kwargs)
    assert named in str(info.value)
    assert counts(store)["traces"] == 1


def test_set_and_delete_trace_tags(store: SqlStore) -> None:
    trace = make_trace(tags={"env": "dev", "keep": "1"})
    tid = trace.info.trace_id
    store.log_traces([trace])
    store.set_trace_tags(tid, {"env": "prod", "new": "ü", "n": 5})  # type: ignore[dict-item]
    assert store.get_trace(tid).info.tags == {"env": "prod", "keep": "1", "new": "ü", "n": "5"}
    assert search_ids(store, "tags.env = 'prod'") == [tid]
    store.delete_trace_tag(tid, "keep")
    assert store.get_trace(tid).info.tags == {"env": "prod", "new": "ü", "n": "5"}
    with pytest.raises(NotFoundError, match="'keep'"):
        store.delete_trace_tag(tid, "keep")
    unknown = new_id()
    with pytest.raises(NotFoundError, match=unknown):
        store.set_trace_tags(unknown, {"a": "b"})
    with pytest.raises(NotFoundError, match=unknown):
        store.delete_trace_tag(unknown, "a")
    with pytest.raises(InvalidArgumentError, match="'nope'"):
        store.set_trace_tags("nope", {"a": "b"})
    with pytest.raises(InvalidArgumentError, match="None"):
        store.set_trace_tags(tid, {"a": None})  # type: ignore[dict-item]
    assert store.get_trace(tid).info.tags == {"env": "prod", "new": "ü", "n": "5"}


# -- statistics ------------------------------------------------------------------------------------------------
def nearest_rank(values: Sequence[int], p: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[math.ceil(p * len(ordered) / 100) - 1])


trace_specs = st.lists(
    st.tuples(
        st.sampled_from([None, "m-1", "m-2", "m-3"]),  # model
        st.one_of(st.none(), st.integers(0, 10_000)),  # duration
        st.sampled_from(list(TraceState)[:3]),  # state
        st.one_of(st.none(), st.tuples(st.integers(0, 1000), st.integers(0, 1000))),  # tokens
        st.one_of(st.none(), st.integers(0, 1000)),  # cost in thousandths
        st.integers(0, 99),  # request time offset
    ),
    max_size=60,
)


@pytest.mark.parametrize("window_max", [200, 2], ids=["few-windowed", "mixed"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=trace_specs,
    window=st.tuples(st.integers(0, 100), st.integers(0, 100)),
    bucket=st.integers(1, 40),
)
def test_stats_match_a_python_computation(
    store: SqlStore,
    specs: list[tuple[Any, ...]],
    window: tuple[int, int],
    bucket: int,
    window_max: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``window_max``: SQLite's percentiles of versions with at most that many durations come
    from one windowed statement, the others' from one statement each; at 2 one call mixes both."""
    monkeypatch.setattr(trace_stats, "WINDOW_MAX", window_max)
    exp = store.create_experiment(f"stats-{uuid.uuid4().hex}")  # one experiment per example
    traces = [
        make_trace(
            experiment_id=exp,
            model_id=model,
            duration=duration,
            state=state,
            tokens=tokens,
            cost=None if cost is None else cost / 1000,
            request_time=T0 + offset,
            spans=[],
        )
        for model, duration, state, tokens, cost, offset in specs
    ]
    store.log_traces(traces)
    start, end = T0 + min(window), T0 + max(window)
    in_window = [t for t in traces if start <= t.info.request_time < end]
    for kwargs, selected in (
        ({}, traces),
        ({"start_time": start, "end_time": end}, in_window),
        ({"start_time": start, "end_time": end, "bucket_ms": bucket}, in_window),
    ):
        stats = store.trace_stats(experiment_ids=[exp], **kwargs)
        groups: dict[tuple[str | None, int | None], list[Trace]] = {}
        for t in selected:
            bucket_start = (
                start + (t.info.request_time - start) // bucket * bucket if kwargs.get("bucket_ms") else None
            )
            groups.setdefault((t.info.model_id, bucket_start), []).append(t)
        assert [(s.model_id, s.bucket_start) for s in stats] == sorted(
            groups, key=lambda k: (k[0] is None, k[0] or "", k[1] or 0)
        )
        for s in stats:
            group = groups[s.model_id, s.bucket_start]
            durations = [t.info.execution_duration for t in group if t.info.execution_duration is not None]
            usages = [t.info.token_usage for t in group if t.info.token_usage]
            assert s.trace_count == len(group)
            assert s.error_count == sum(t.info.state == TraceState.ERROR for t in group)
            assert (s.latency_p50_ms, s.latency_p95_ms, s.latency_p99_ms) == tuple(
                nearest_rank(durations, p) for p in (50, 95, 99)
            )
            assert s.input_tokens == sum(u.input_tokens for u in usages)
            assert s.output_tokens == sum(u.output_tokens for u in usages)
            assert s.total_tokens == sum(u.total_tokens for u in usages)
            assert s.cost == pytest.approx(sum(t.info.cost or 0.0 for t in group))
            assert s.first_trace_time == min(t.info.request_time for t in group)
            assert s.last_trace_time == max(t.info.request_time for t in group)


def test_stats_percentiles_error_rate_and_sums(store: SqlStore) -> None:
    durations = list(range(1, 101))  # p50 = 50, p95 = 95, p99 = 99
    traces = [
        make_trace(
            model_id="m-1",
            duration=d,
            state=TraceState.ERROR if d % 10 == 0 else TraceState.OK,
            tokens=(d, 1),
            cost=0.5,
            request_time=T0 + d,
            spans=[],
        )
        for d in durations
    ]
    traces.append(make_trace(model_id="m-1", duration=None, state=TraceState.IN_PROGRESS, spans=[]))
    traces += [make_trace(duration=7, spans=[]), make_trace(duration=3, spans=[])]  # no version
    store.log_traces(traces)
    [m1, none] = store.trace_stats()
    assert (m1.model_id, m1.trace_count, m1.error_count) == ("m-1", 101, 10)
    assert (m1.latency_p50_ms, m1.latency_p95_ms, m1.latency_p99_ms) == (50.0, 95.0, 99.0)
    assert (m1.input_tokens, m1.output_tokens, m1.total_tokens) == (5050, 100, 5150)
    assert m1.cost == pytest.approx(50.0)
    assert m1.error_rate == pytest.approx(10 / 101)
    assert (m1.first_trace_time, m1.last_trace_time) == (T0, T0 + 100)
    assert (none.model_id, none.trace_count, none.latency_p50_ms, none.latency_p99_ms) == (None, 2, 3.0, 7.0)
    assert (none.total_tokens, none.cost) == (0, 0.0)


def test_stats_time_window_and_filters(store: SqlStore) -> None:
    exp = store.create_experiment("other")
    store.log_traces(
        [make_trace(model_id="m-1", duration=i, request_time=T0 + i, spans=[]) for i in range(10)]
        + [make_trace(model_id="m-2", duration=5, request_time=T0 + 5, experiment_id=exp, spans=[])]
    )
    [m1] = store.trace_stats(model_ids=["m-1"], start_time=T0 + 2, end_time=T0 + 6)  # [2, 6)
    assert (m1.trace_count, m1.first_trace_time, m1.last_trace_time) == (4, T0 + 2, T0 + 5)
    assert (m1.latency_p50_ms, m1.latency_p99_ms) == (3.0, 5.0)
    assert [s.model_id for s in store.trace_stats()] == ["m-1", "m-2"]
    assert [s.model_id for s in store.trace_stats(experiment_ids=[exp])] == ["m-2"]
    assert store.trace_stats(start_time=T0 + 100) == []
    # Every version asked for is reported, with zero traces when it has none in the window.
    both = store.trace_stats(model_ids=["m-2", "m-9"], experiment_ids=["0"])
    assert [(s.model_id, s.trace_count, s.latency_p50_ms, s.cost) for s in both] == [
        ("m-2", 0, None, 0.0),
        ("m-9", 0, None, 0.0),
    ]
    for bad in (
        {"model_ids": "m-1"},
        {"model_ids": [None]},
        {"start_time": "now"},
        {"experiment_ids": ["x"]},
        {"start_time": T0, "end_time": T0 + 10, "bucket_ms": 0},
        {"start_time": T0, "end_time": T0 + 10, "bucket_ms": "1h"},
        {"start_time": T0, "bucket_ms": 5},
    ):
        with pytest.raises(InvalidArgumentError):
            store.trace_stats(**bad)


def test_stats_per_time_bucket(store: SqlStore) -> None:
    # m-1: durations 0..9 at T0+0..9; buckets of 4 ms from T0+1: [1,5) [5,9) [9,13)
    store.log_traces(
        [make_trace(model_id="m-1", duration=i, request_time=T0 + i, spans=[]) for i in range(10)]
        + [make_trace(model_id="m-2", duration=7, request_time=T0 + 6, state=TraceState.ERROR, spans=[])]
    )
    found = store.trace_stats(
        model_ids=["m-1", "m-2", "m-9"], start_time=T0 + 1, end_time=T0 + 13, bucket_ms=4
    )
    assert [(s.model_id, s.bucket_start, s.trace_count, s.error_count) for s in found] == [
        ("m-1", T0 + 1, 4, 0),
        ("m-1", T0 + 5, 4, 0),
        ("m-1", T0 + 9, 1, 0),
        ("m-2", T0 + 5, 1, 1),  # buckets without traces (and m-9) are not listed
    ]
    assert [(s.latency_p50_ms, s.latency_p99_ms) for s in found] == [
        (2.0, 4.0),
        (6.0, 8.0),
        (9.0, 9.0),
        (7.0, 7.0),
    ]
    assert found[0].to_dict()["bucket_start"] == T0 + 1
    assert "bucket_start" not in store.trace_stats(model_ids=["m-1"])[0].to_dict()


# -- bad input: an error naming the value, and nothing written ---------------------------------------------
def _bad_span(**changes: Any) -> Trace:
    trace = make_trace()
    spans = list(trace.data.spans)
    spans[1] = dataclasses.replace(spans[1], **changes)
    return Trace(trace.info, TraceData(spans))


def _cyclic() -> list[Any]:
    loop: list[Any] = []
    loop.append(loop)
    return loop


def _bad_info(**changes: Any) -> Trace:
    trace = make_trace()
    return Trace(dataclasses.replace(trace.info, **changes), trace.data)


@pytest.mark.parametrize(
    ("bad", "error", "named"),
    [
        (lambda: _bad_info(trace_id="tr-123"), InvalidArgumentError, "'tr-123'"),
        (lambda: _bad_info(trace_id="tr-" + "A" * 32), InvalidArgumentError, "'tr-AAAA"),
        (lambda: _bad_info(trace_id=None), InvalidArgumentError, "None"),
        (lambda: _bad_info(experiment_id="999"), NotFoundError, "'999'"),
        (lambda: _bad_info(experiment_id="abc"), InvalidArgumentError, "'abc'"),
        (lambda: _bad_info(request_time="yesterday"), InvalidArgumentError, "'yesterday'"),
        (lambda: _bad_info(request_time=2**70), InvalidArgumentError, str(2**70)),
        (lambda: _bad_info(execution_duration=1.5), InvalidArgumentError, "1.5"),
        (lambda: _bad_info(state="DONE"), InvalidArgumentError, "'DONE'"),
        (lambda: _bad_info(cost=math.nan), InvalidArgumentError, "nan"),
        (lambda: _bad_info(tags={"": "x"}), InvalidArgumentError, "''"),
        (lambda: _bad_info(trace_metadata={"k": None}), InvalidArgumentError, "'k'"),
        (lambda: _bad_info(trace_metadata={MODEL_ID_KEY: "m" * 65}), InvalidArgumentError, "mlflow.modelId"),
        (lambda: _bad_info(request_preview="a\x00b"), InvalidArgumentError, "request_preview"),
        (lambda: _bad_info(token_usage=(1, 2, 3)), InvalidArgumentError, "(1, 2, 3)"),
        (lambda: _bad_span(span_id="x" * 33), InvalidArgumentError, "'xxxx"),
        (lambda: _bad_span(span_id=""), InvalidArgumentError, "''"),
        (lambda: _bad_span(trace_id=new_id()), InvalidArgumentError, "tr-"),
        (lambda: _bad_span(name="n" * 501), InvalidArgumentError, "'nnnn"),
        (lambda: _bad_span(name=None), InvalidArgumentError, "None"),
        (lambda: _bad_span(span_type=7), InvalidArgumentError, "7"),
        (lambda: _bad_span(start_time_ns=-(2**64)), InvalidArgumentError, str(-(2**64))),
        (lambda: _bad_span(status=SpanStatus("BROKEN")), InvalidArgumentError, "BROKEN"),  # type: ignore[arg-type]
        (
            lambda: _bad_span(status=SpanStatus(SpanStatusCode.ERROR, "a\x00")),
            InvalidArgumentError,
            "description",
        ),
        (lambda: _bad_span(inputs=_cyclic()), InvalidArgumentError, "JSON"),
    ],
)
def test_bad_traces_are_rejected_whole(store: SqlStore, bad: Any, error: type[Exception], named: str) -> None:
    store.log_traces([make_trace()])
    before = all_counts(store)
    with pytest.raises(error) as info:
        store.log_traces([make_trace(tags={"a": "b"}), bad(), make_trace()])  # the good ones too
    assert isinstance(info.value, GenverError)
    assert named in str(info.value)
    assert all_counts(store) == before


def test_duplicate_span_ids_and_bad_batches(store: SqlStore) -> None:
    trace = make_trace()
    spans = list(trace.data.spans)
    spans[2] = dataclasses.replace(spans[2], span_id=spans[1].span_id)
    before = all_counts(store)
    with pytest.raises(InvalidArgumentError, match=f"'{spans[1].span_id}' appears twice"):
        store.log_traces([Trace(trace.info, TraceData(spans))])
    with pytest.raises(InvalidArgumentError, match="'not a trace'"):
        store.log_traces(["not a trace"])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError, match="list of Trace"):
        store.log_traces(trace)  # type: ignore[arg-type]
    assert all_counts(store) == before


def test_deleted_experiment_is_refused(store: SqlStore) -> None:
    exp = store.create_experiment("gone")
    store.update_experiment(exp, lifecycle_stage="deleted")
    with pytest.raises(InvalidArgumentError, match=f"'{exp}' is deleted"):
        store.log_traces([make_trace(experiment_id=exp)])
    assert counts(store)["traces"] == 0


# -- schema ---------------------------------------------------------------------------------------------------
def test_tables_module_matches_the_migrated_schema(store: SqlStore) -> None:
    from genver.store.sql import tables

    inspector = sa.inspect(store.engine)
    for name in TRACE_TABLES:
        table = tables.metadata.tables[name]
        assert [c["name"] for c in inspector.get_columns(name)] == [c.name for c in table.columns]
        indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes(name)}
        if store.engine.dialect.name == "postgresql" and name == "traces":  # revision 0013, PostgreSQL only
            assert indexes.pop("ix_traces_time_brin") == ["request_time"]
        assert indexes == {i.name: [c.name for c in i.columns] for i in table.indexes}
        assert inspector.get_pk_constraint(name)["constrained_columns"] == [c.name for c in table.primary_key]
