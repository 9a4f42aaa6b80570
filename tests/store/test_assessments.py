"""Assessments (feedback and expectations on traces) in the SQL store, on SQLite and PostgreSQL:
round trips of every value type, idempotent logging, reads by trace, run and name, assessments on
traces read back, deletes with their traces, and bad input rejected whole."""

from __future__ import annotations

import dataclasses
import math
import threading
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from genver.entities import (
    Assessment,
    AssessmentError,
    AssessmentSource,
    AssessmentSourceType,
    Span,
    Trace,
    TraceData,
    TraceInfo,
)
from genver.entities.trace import SOURCE_RUN_KEY
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.sql.store import SqlStore

from ._helpers import all_counts, clocked, ticking_clock

T0 = 1_700_000_000_000
RUN = "e" * 32


def new_trace_id() -> str:
    return "tr-" + uuid.uuid4().hex


def new_assessment_id() -> str:
    return "a-" + uuid.uuid4().hex


def make_trace(trace_id: str | None = None, *, request_time: int = T0, experiment_id: str = "0") -> Trace:
    """A trace with one root span (enough to hang assessments on)."""
    tid = trace_id or new_trace_id()
    root = Span(
        trace_id=tid,
        span_id="0" * 15 + "1",
        parent_id=None,
        name="root",
        start_time_ns=request_time * 1_000_000,
        end_time_ns=request_time * 1_000_000 + 5_000_000,
        inputs={"question": "why?"},
        outputs={"answer": "because"},
    )
    info = TraceInfo(
        trace_id=tid,
        experiment_id=experiment_id,
        request_time=request_time,
        execution_duration=5,
        trace_metadata={SOURCE_RUN_KEY: RUN},
    )
    return Trace(info, TraceData([root]))


def logged_traces(store: SqlStore, n: int) -> list[str]:
    traces = [make_trace(request_time=T0 + i) for i in range(n)]
    store.log_traces(traces)
    return [t.info.trace_id for t in traces]


def feedback(trace_id: str, name: str = "exact", value: Any = True, **kw: Any) -> Assessment:
    kw.setdefault("assessment_id", new_assessment_id())
    kw.setdefault("create_time_ms", T0)
    return Assessment(trace_id=trace_id, name=name, kind="feedback", value=value, **kw)


def table_counts(store: SqlStore) -> int:
    return all_counts(store)["assessments"]


# -- round trips ----------------------------------------------------------------------------------------
VALUES = [
    True,
    False,
    0,
    1,
    -7,
    2**62,
    0.5,
    1e-300,
    -0.0,
    "yes",
    "",
    "ünïcödé ✓ 你好 🚀",
    "nul \x00 and \ud800 lone surrogate",
    [1, "two", 3.0, None, [True]],
    {"score": 4, "labels": ["a", "b"], "nested": {"ok": False}, "ü": None},
    {},
    [],
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_values_round_trip_with_their_types(store: SqlStore, value: Any) -> None:
    (tid,) = logged_traces(store, 1)
    a = feedback(tid, value=value)
    store.log_assessments([a])
    (got,) = store.get_assessments(trace_ids=[tid])
    assert got == a
    assert type(got.value) is type(value)
    if isinstance(value, float):
        assert math.copysign(1, got.value) == math.copysign(1, value)


def test_non_finite_floats_round_trip(store: SqlStore) -> None:
    (tid,) = logged_traces(store, 1)
    values = [math.inf, -math.inf, math.nan]
    store.log_assessments([feedback(tid, name=f"v{i}", value=v) for i, v in enumerate(values)])
    got = [a.value for a in store.get_assessments(trace_ids=[tid])]
    assert got[:2] == values[:2] and math.isnan(got[2])


def test_every_field_round_trips(store: SqlStore) -> None:
    (tid,) = logged_traces(store, 1)
    full = Assessment(
        assessment_id=new_assessment_id(),
        trace_id=tid,
        name="correctness ✓",
        kind="feedback",
        value=None,
        rationale="The judge timed out — 失敗",
        source=AssessmentSource(AssessmentSourceType.LLM_JUDGE, "openai:/gpt-4o-mini"),
        error=AssessmentError("TIMEOUT", "no answer in 30 s"),
        metadata={"judge": "v2", "ünï": "cödé"},
        span_id="0" * 15 + "1",
        run_id=RUN,
        create_time_ms=T0 + 5,
    )
    expectation = Assessment(
        assessment_id=new_assessment_id(),
        trace_id=tid,
        name="expected_response",
        kind="expectation",
        value={"answer": "42"},
        source=AssessmentSource(AssessmentSourceType.HUMAN, "ana@example.com"),
        create_time_ms=T0,
    )
    error_without_message = feedback(
        tid, name="z", value=None, error=AssessmentError("E"), source=AssessmentSource("CODE", "")
    )
    store.log_assessments([full, expectation, error_without_message])
    got = store.get_assessments(trace_ids=[tid])
    assert got == [full, expectation, error_without_message]  # by name
    assert got[0].feedback is not None and got[0].feedback.error == AssessmentError(
        "TIMEOUT", "no answer in 30 s"
    )
    assert got[1].expectation is not None and got[1].expectation.value == {"answer": "42"}


def test_unset_create_time_takes_the_store_clock(store: SqlStore) -> None:
    s = clocked(store, ticking_clock(T0 + 123, 0))
    (tid,) = logged_traces(s, 1)
    s.log_assessments([feedback(tid, create_time_ms=0)])
    assert [a.create_time_ms for a in s.get_assessments(trace_ids=[tid])] == [T0 + 123]


# -- idempotence --------------------------------------------------------------------------------------------
def test_logging_again_is_idempotent_and_updates(store: SqlStore) -> None:
    tids = logged_traces(store, 2)
    a = feedback(tids[0], value=0.5)
    store.log_assessments([a])
    store.log_assessments([a])
    assert store.get_assessments(trace_ids=tids) == [a]
    changed = dataclasses.replace(a, value="new", rationale="why", trace_id=tids[1], run_id=RUN)
    store.log_assessments([changed])
    assert store.get_assessments(trace_ids=tids) == [changed]
    assert table_counts(store) == 1


def test_the_last_copy_of_an_id_in_one_batch_wins(store: SqlStore) -> None:
    (tid,) = logged_traces(store, 1)
    a = feedback(tid, value=1)
    store.log_assessments([a, dataclasses.replace(a, value=2), dataclasses.replace(a, value=3)])
    assert [x.value for x in store.get_assessments(trace_ids=[tid])] == [3]


def test_empty_batch_is_a_no_op(store: SqlStore) -> None:
    before = all_counts(store)
    store.log_assessments([])
    assert all_counts(store) == before


def test_large_batch(store: SqlStore) -> None:
    tids = logged_traces(store, 200)
    batch = [feedback(tid, name=f"s{k}", value=k / 2, run_id=RUN) for tid in tids for k in range(25)]
    store.log_assessments(batch)
    got = store.get_assessments(run_id=RUN)
    assert len(got) == 5000
    assert got == sorted(batch, key=lambda a: (a.trace_id, a.name, a.create_time_ms, a.assessment_id))


# -- missing traces and bad input ------------------------------------------------------------------------
def test_missing_trace_is_named_and_nothing_is_written(store: SqlStore) -> None:
    (tid,) = logged_traces(store, 1)
    missing, other = new_trace_id(), new_trace_id()
    before = all_counts(store)
    with pytest.raises(NotFoundError, match=f"Trace with ID '{missing}' not found."):
        store.log_assessments([feedback(tid), feedback(missing), feedback(other)])
    assert all_counts(store) == before


def _bad(**changes: Any) -> Assessment:
    base = feedback("tr-" + "0" * 32)
    return dataclasses.replace(base, **changes)


class Unserializable:
    def __repr__(self) -> str:
        return "<Unserializable thing>"


def _cyclic() -> list[Any]:
    x: list[Any] = []
    x.append(x)
    return x


BAD = [
    (_bad(assessment_id="a-123"), "'a-123'"),
    (_bad(assessment_id="A-" + "0" * 32), "'A-"),
    (_bad(assessment_id=None), "None"),
    (_bad(trace_id="123"), "'123'"),
    (_bad(trace_id=None), "None"),
    (_bad(name=""), "''"),
    (_bad(name="   "), "'   '"),
    (_bad(name="x" * 251), "'xxxx"),
    (_bad(name="nul\x00"), "nul"),
    (_bad(name=7), "7"),
    (_bad(kind="score"), "'score'"),
    (_bad(value=Unserializable()), "<Unserializable thing>"),
    (_bad(value={"a": {1, 2}}), "{1, 2}"),
    (_bad(value=b"bytes"), "b'bytes'"),
    (_bad(value=_cyclic()), "[[...]]"),
    (_bad(rationale=5), "5"),
    (_bad(rationale="nul\x00"), "rationale"),
    (_bad(metadata={"k": 1}), "1"),
    (_bad(metadata={"": "v"}), "''"),
    (_bad(metadata={"a\nb": "v"}), "'a\\nb'"),
    (_bad(metadata=["k"]), "['k']"),
    (_bad(source="CODE"), "'CODE'"),
    (_bad(source=AssessmentSource("", "x")), "''"),
    (_bad(source=AssessmentSource("X" * 33, "x")), "'XXX"),
    (_bad(source=AssessmentSource("CODE", None)), "None"),
    (_bad(error="boom"), "'boom'"),
    (_bad(error=AssessmentError("")), "error code ''"),
    (_bad(span_id="s" * 33), "'sss"),
    (_bad(span_id=""), "''"),
    (_bad(run_id="r" * 33), "'rrr"),
    (_bad(run_id=5), "5"),
    (_bad(create_time_ms=-1), "-1"),
    (_bad(create_time_ms=1.5), "1.5"),
    (_bad(create_time_ms=True), "True"),
]


@pytest.mark.parametrize(("bad", "named"), BAD, ids=[repr(n) for _, n in BAD])
def test_bad_assessments_are_rejected_whole(store: SqlStore, bad: Assessment, named: str) -> None:
    (tid,) = logged_traces(store, 1)
    bad = dataclasses.replace(bad, trace_id=tid) if bad.trace_id == "tr-" + "0" * 32 else bad
    before = all_counts(store)
    with pytest.raises(InvalidArgumentError) as info:
        store.log_assessments([feedback(tid), bad])
    assert named in str(info.value)
    assert all_counts(store) == before


@pytest.mark.parametrize(
    "batch",
    [None, "a", feedback(new_trace_id()), [{"name": "x"}]],
    ids=["none", "a-string", "one-assessment-not-a-list", "dicts"],  # stable ids (pytest -n)
)
def test_bad_batches(store: SqlStore, batch: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="Invalid assessment"):
        store.log_assessments(batch)


# -- reads ------------------------------------------------------------------------------------------------
@pytest.fixture
def scored(store: SqlStore) -> tuple[list[str], list[Assessment]]:
    """Three traces; the first two scored by run RUN (exact, relevance), the third by another run,
    and an expectation on the first without a run."""
    tids = logged_traces(store, 3)
    other = "f" * 32
    items = [
        feedback(tids[0], "relevance", 0.5, run_id=RUN, create_time_ms=T0 + 1),
        feedback(tids[0], "exact", True, run_id=RUN, create_time_ms=T0 + 2),
        feedback(tids[0], "exact", False, run_id=RUN, create_time_ms=T0 + 1),  # an earlier one
        feedback(tids[1], "exact", False, run_id=RUN),
        feedback(tids[1], "relevance", 1, run_id=RUN),
        feedback(tids[2], "exact", True, run_id=other),
        Assessment(
            assessment_id=new_assessment_id(),
            trace_id=tids[0],
            name="expected",
            kind="expectation",
            value="42",
            create_time_ms=T0,
        ),
    ]
    store.log_assessments(items)
    return tids, items


def _order(items: list[Assessment]) -> list[Assessment]:
    return sorted(items, key=lambda a: (a.trace_id, a.name, a.create_time_ms, a.assessment_id))


def test_get_by_trace_ids(store: SqlStore, scored: tuple[list[str], list[Assessment]]) -> None:
    tids, items = scored
    assert store.get_assessments(trace_ids=[tids[0]]) == _order([a for a in items if a.trace_id == tids[0]])
    assert store.get_assessments(trace_ids=[tids[2], tids[0], tids[0]]) == _order(
        [a for a in items if a.trace_id in (tids[0], tids[2])]
    )
    got = store.get_assessments(trace_ids=[tids[0]])
    assert [(a.name, a.create_time_ms) for a in got] == [
        ("exact", T0 + 1),
        ("exact", T0 + 2),
        ("expected", T0),
        ("relevance", T0 + 1),
    ]
    assert store.get_assessments(trace_ids=[]) == []
    assert store.get_assessments(trace_ids=[new_trace_id()]) == []


def test_get_by_run_and_name(store: SqlStore, scored: tuple[list[str], list[Assessment]]) -> None:
    tids, items = scored
    assert store.get_assessments(run_id=RUN) == _order([a for a in items if a.run_id == RUN])
    assert store.get_assessments(run_id=RUN, name="exact") == _order(
        [a for a in items if a.run_id == RUN and a.name == "exact"]
    )
    assert store.get_assessments(trace_ids=[tids[0]], name="expected") == [items[-1]]
    assert store.get_assessments(trace_ids=[tids[1], tids[2]], run_id=RUN) == _order(
        [a for a in items if a.trace_id == tids[1]]
    )
    assert store.get_assessments(run_id="0" * 32) == []
    assert store.get_assessments(run_id=RUN, name="missing") == []
    assert store.get_assessments(run_id=RUN, name="nul\x00") == []


def test_get_needs_trace_ids_or_run(store: SqlStore) -> None:
    with pytest.raises(InvalidArgumentError, match="trace_ids or run_id"):
        store.get_assessments()
    with pytest.raises(InvalidArgumentError, match="trace_ids or run_id"):
        store.get_assessments(name="exact")


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"trace_ids": "tr-" + "0" * 32}, "'tr-000"),
        ({"trace_ids": ["nope"]}, "'nope'"),
        ({"run_id": 5}, "5"),
        ({"run_id": ""}, "''"),
        ({"run_id": RUN, "name": 3}, "3"),
    ],
)
def test_bad_read_arguments(store: SqlStore, kwargs: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        store.get_assessments(**kwargs)
    assert named in str(info.value)


# -- on traces -----------------------------------------------------------------------------------------------
def test_assessments_appear_on_traces(store: SqlStore, scored: tuple[list[str], list[Assessment]]) -> None:
    tids, items = scored
    (bare,) = logged_traces(store, 1)
    trace = store.get_trace(tids[0])
    assert isinstance(trace.info.assessments, list)
    assert trace.info.assessments == _order([a for a in items if a.trace_id == tids[0]])
    assert store.get_trace(bare).info.assessments == ()
    for include_spans in (True, False):
        found = {
            t.info.trace_id: t.info.assessments
            for t in store.search_traces(experiment_ids=["0"], include_spans=include_spans)
        }
        assert found == {
            tids[0]: _order([a for a in items if a.trace_id == tids[0]]),
            tids[1]: _order([a for a in items if a.trace_id == tids[1]]),
            tids[2]: _order([a for a in items if a.trace_id == tids[2]]),
            bare: (),
        }


def test_many_traces_with_assessments_in_one_search(store: SqlStore) -> None:
    tids = logged_traces(store, 1200)  # more than one IN (...) chunk
    store.log_assessments([feedback(tid, value=i) for i, tid in enumerate(tids)])
    found = store.search_traces(experiment_ids=["0"], max_results=2000, include_spans=False)
    assert len(found) == 1200
    assert all(
        len(t.info.assessments) == 1 and t.info.assessments[0].trace_id == t.info.trace_id for t in found
    )


# -- deletes -----------------------------------------------------------------------------------------------
def test_deleting_traces_deletes_their_assessments(
    store: SqlStore, scored: tuple[list[str], list[Assessment]]
) -> None:
    tids, items = scored
    assert store.delete_traces(experiment_id="0", trace_ids=[tids[0]]) == 1
    assert store.get_assessments(trace_ids=tids) == _order([a for a in items if a.trace_id != tids[0]])
    assert store.delete_traces(experiment_id="0", max_timestamp_millis=T0 + 1) == 1  # tids[1]
    assert store.get_assessments(trace_ids=tids) == [a for a in items if a.trace_id == tids[2]]
    assert table_counts(store) == 1


def test_a_trace_stored_again_keeps_its_assessments(
    store: SqlStore, scored: tuple[list[str], list[Assessment]]
) -> None:
    """A retried or re-spooled batch re-logs the same trace: assessments logged since survive."""
    tids, items = scored
    before = store.get_assessments(trace_ids=tids)
    store.log_traces([make_trace(tids[0], request_time=T0 + 50), make_trace(request_time=T0 + 60)])
    assert store.get_assessments(trace_ids=tids) == before
    assert store.get_trace(tids[0]).info.request_time == T0 + 50
    assert table_counts(store) == len(items)


# -- schema ---------------------------------------------------------------------------------------------------
def test_tables_module_matches_the_migrated_schema(store: SqlStore) -> None:
    from genver.store.sql import tables

    inspector = sa.inspect(store.engine)
    for name in ("assessments", "eval_datasets", "eval_dataset_tags", "eval_dataset_records"):
        table = tables.metadata.tables[name]
        assert [c["name"] for c in inspector.get_columns(name)] == [c.name for c in table.columns]
        assert [c["nullable"] for c in inspector.get_columns(name)] == [c.nullable for c in table.columns]
        indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes(name)}
        assert indexes == {i.name: [c.name for c in i.columns] for i in table.indexes}
        assert inspector.get_pk_constraint(name)["constrained_columns"] == [c.name for c in table.primary_key]
        foreign = {
            (tuple(f["constrained_columns"]), f["referred_table"]) for f in inspector.get_foreign_keys(name)
        }
        assert foreign == {((f.parent.name,), f.column.table.name) for f in table.foreign_keys}


def test_logging_while_the_same_traces_are_stored_again(store: SqlStore) -> None:
    """The exporter re-delivering traces while an evaluation scores them: every assessment is
    stored, none is refused (the trace row is replaced in place, never missing)."""
    other = SqlStore(store.engine, upgrade=False)  # a second writer on its own connections
    traces = [make_trace(request_time=T0 + i) for i in range(10)]
    store.log_traces(traces)
    stop = threading.Event()

    def relog() -> None:
        while not stop.is_set():
            other.log_traces(traces)

    thread = threading.Thread(target=relog)
    thread.start()
    try:
        logged = [feedback(traces[i % 10].info.trace_id, name=f"n{i}") for i in range(100)]
        for a in logged:
            store.log_assessments([a])
    finally:
        stop.set()
        thread.join()
    assert store.get_assessments(trace_ids=[t.info.trace_id for t in traces]) == _order(logged)
