"""Compact spans (revision 0012): a span's inputs, outputs and events are deflated into one
``payload`` where that pays, and read back exactly; small or incompressible ones stay text; spans
written before 0012 read the same; span filters work through the one-column indexes."""

from __future__ import annotations

import json
import random
import string

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from genver.entities import SpanEvent, SpanType, Trace, TraceData, TraceInfo, TraceState
from genver.store.sql import migrate, trace_rows
from genver.store.sql.engine import create_engine
from genver.store.sql.store import SqlStore

from .test_traces import T0, assert_same, make_trace, new_id, span

_PRINTABLE = [c for c in string.printable if c.isprintable() and c not in '"\\']
PROSE = (
    "The retrieval step found three passages about the refund policy; the answer cites the second "
    "one and says that refunds are issued within fourteen days of the request. "
)


def _stored(store: SqlStore, trace_id: str) -> dict[str, tuple[bool, bool]]:
    """Per span name: (payload set, inputs text set), as the rows hold them."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT name, payload IS NOT NULL, inputs IS NOT NULL FROM spans WHERE trace_id = :t"),
            {"t": trace_id},
        ).all()
    return {r[0]: (bool(r[1]), bool(r[2])) for r in rows}


def test_big_payloads_are_packed_small_and_incompressible_ones_are_not(store: SqlStore) -> None:
    tid = new_id()
    root = span(
        tid,
        "prose",
        inputs={"messages": [{"role": "user", "content": PROSE * 3}]},
        outputs={"answer": PROSE},
        events=[SpanEvent("retry", T0 * 1_000_000, {"attempt": 2, "why": PROSE})],
    )
    small = span(tid, "small", parent=root, inputs={"q": "why?"}, outputs="because")
    rnd = random.Random(5)  # 92 symbols, 6.5 bits each: deflate cannot save a fifth
    noise = "".join(rnd.choice(_PRINTABLE) for _ in range(800))
    random_ = span(tid, "random", parent=root, inputs={"blob": noise}, outputs=None)
    empty = span(tid, "empty", parent=root, span_type=SpanType.TOOL)
    trace = make_trace(trace_id=tid, spans=[root, small, random_, empty])
    store.log_traces([trace])
    assert_same(store.get_trace(tid), trace)
    stored = _stored(store, tid)
    assert stored["prose"] == (True, False)
    assert stored["small"] == (False, True)
    assert stored["empty"] == (False, False)
    assert stored["random"][0] is False
    # Searches and the span reads of the UI decode them too.
    (found,) = store.search_traces(
        experiment_ids=["0"], filter_string="span.name = 'prose'", include_spans=True
    )
    assert_same(found, trace)
    (got,) = store.get_spans(tid, [root.span_id])
    assert (got.inputs, got.outputs, got.events) == (root.inputs, root.outputs, root.events)


def test_packed_prose_takes_a_fraction_of_its_text(store: SqlStore) -> None:
    tid = new_id()
    root = span(tid, "answer", inputs={"context": PROSE * 20}, outputs={"answer": PROSE * 2})
    store.log_traces([make_trace(trace_id=tid, spans=[root])])
    with store.engine.connect() as conn:
        size = conn.execute(
            sa.text("SELECT length(payload) FROM spans WHERE trace_id = :t"), {"t": tid}
        ).scalar_one()
    text = len(json.dumps(root.inputs)) + len(json.dumps(root.outputs))
    assert size < text / 5


def test_span_filters_use_the_one_column_indexes(store: SqlStore) -> None:
    ids = []
    for i in range(6):
        tid = new_id()
        kind = SpanType.TOOL if i % 3 == 0 else SpanType.LLM
        root = span(tid, f"step-{i % 2}", span_type=kind, inputs={"text": PROSE})
        store.log_traces([make_trace(trace_id=tid, request_time=T0 + i, spans=[root])])
        ids.append(tid)
    found = {
        t.info.trace_id
        for t in store.search_traces(experiment_ids=["0"], filter_string="span.name = 'step-1'")
    }
    assert found == {ids[1], ids[3], ids[5]}
    found = {
        t.info.trace_id for t in store.search_traces(experiment_ids=["0"], filter_string="span.type = 'TOOL'")
    }
    assert found == {ids[0], ids[3]}
    indexes = {i["name"]: i["column_names"] for i in sa.inspect(store.engine).get_indexes("spans")}
    assert indexes["ix_spans_name"] == ["name"]
    assert indexes["ix_spans_type"] == ["span_type"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(inputs=_json, outputs=_json, events=st.lists(_json, max_size=3), repeat=st.integers(1, 40))
def test_pack_then_unpack_gives_the_values_back(
    inputs: object, outputs: object, events: list[object], repeat: int
) -> None:
    inputs = [inputs] * repeat  # repetition makes some packable, and some stay too small
    texts = [json.dumps(v, ensure_ascii=True, separators=(",", ":")) for v in (inputs, outputs)]
    ev = json.dumps(events, ensure_ascii=True) if events else None
    packed = trace_rows.pack_payload(texts[0], texts[1], ev)
    size = len(texts[0]) + len(texts[1]) + (len(ev) if ev else 0)
    if packed is None:
        return
    assert len(packed) <= 0.8 * size
    assert trace_rows.unpack_payload(packed) == [inputs, outputs, events or None]


def test_an_unknown_payload_format_is_named() -> None:
    try:
        trace_rows.unpack_payload(b"\x07abc")
    except ValueError as exc:
        assert "format 7" in str(exc)
    else:
        raise AssertionError("format 7 was read")


def test_spans_written_before_0012_read_the_same_after_it(db_uri: str) -> None:
    engine = create_engine(db_uri)
    try:
        migrate.upgrade(engine, "0011")
        old = SqlStore(engine, upgrade=False)
        exp = old.create_experiment("legacy")
        tid = "tr-" + "a" * 32
        old.log_traces(
            [
                Trace(
                    TraceInfo(
                        trace_id=tid,
                        experiment_id=exp,
                        request_time=T0,
                        execution_duration=5,
                        state=TraceState.OK,
                    ),
                    TraceData([]),
                )
            ]
        )
        with engine.begin() as conn:  # a span as 0011 wrote it: JSON text, no payload column
            conn.execute(
                sa.text(
                    "INSERT INTO spans (trace_id, span_id, name, span_type, status, start_time_ns, "
                    "end_time_ns, inputs, outputs, events) VALUES (:t, 'b1', 'old', 'LLM', 'OK', 1, 2, "
                    ":i, :o, :e)"
                ),
                {
                    "t": tid,
                    "i": json.dumps({"q": PROSE * 4}),
                    "o": json.dumps("done"),
                    "e": json.dumps([{"name": "retry", "timestamp": 1, "attributes": {"n": 1}}]),
                },
            )
        migrate.upgrade(engine)
        store = SqlStore(engine)
        (got,) = store.get_trace(tid).data.spans
        assert (got.name, got.inputs, got.outputs) == ("old", {"q": PROSE * 4}, "done")
        assert got.events == (SpanEvent("retry", 1, {"n": 1}),)
        assert [
            t.info.trace_id
            for t in store.search_traces(experiment_ids=[exp], filter_string="span.name = 'old'")
        ] == [tid]
        # A trace written now, into the same store, is packed.
        new = new_id()
        store.log_traces(
            [make_trace(trace_id=new, experiment_id=exp, spans=[span(new, "new", inputs={"q": PROSE * 4})])]
        )
        assert _stored(store, new)["new"] == (True, False)
        assert _stored(store, tid)["old"] == (False, True)
    finally:
        engine.dispose()
