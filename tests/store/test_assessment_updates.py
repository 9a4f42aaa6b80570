"""Changing assessments after they are logged, on SQLite and PostgreSQL (and over REST, see
tests/server/test_contract_over_rest.py): ``update_assessment`` in place as MLflow does it,
``delete_assessment`` (idempotent), overrides that keep the old feedback with ``valid=False``,
source types checked, and bad input that changes nothing."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from genver.entities import (
    Assessment,
    AssessmentError,
    AssessmentSource,
    AssessmentSourceType,
    Expectation,
    Feedback,
)
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.sql.store import SqlStore

from ._helpers import all_counts, clocked, ticking_clock
from .test_assessments import T0, feedback, logged_traces, new_assessment_id, new_trace_id

T1 = T0 + 60_000
SPAN = "0" * 15 + "1"


def expectation(
    trace_id: str, name: str = "expected_response", value: Any = "Paris", **kw: Any
) -> Assessment:
    kw.setdefault("assessment_id", new_assessment_id())
    kw.setdefault("create_time_ms", T0)
    kw.setdefault("source", AssessmentSource(AssessmentSourceType.HUMAN, "ana"))
    return Assessment(trace_id=trace_id, name=name, kind="expectation", value=value, **kw)


def one(store: SqlStore, trace_id: str, assessment_id: str) -> Assessment:
    (found,) = [a for a in store.get_assessments(trace_ids=[trace_id]) if a.assessment_id == assessment_id]
    return found


# -- update ----------------------------------------------------------------------------------------------
def test_update_feedback_in_place(store: SqlStore) -> None:
    s = clocked(store, ticking_clock(T1, 0))
    (tid,) = logged_traces(s, 1)
    judge = AssessmentSource(AssessmentSourceType.LLM_JUDGE, "gpt-4o")
    old = feedback(
        tid,
        "relevance",
        0.2,
        rationale="off topic",
        source=judge,
        span_id=SPAN,
        metadata={"a": "1", "b": "2"},
    )
    s.log_assessments([old])
    new = s.update_assessment(
        tid,
        old.assessment_id,
        Feedback(
            name="relevance_v2",
            value=0.9,
            source=AssessmentSource(AssessmentSourceType.HUMAN, "ignored"),
            metadata={"b": "two", "c": "3"},
            span_id="ignored",
        ),
    )
    expected = dataclasses.replace(
        old,
        name="relevance_v2",
        value=0.9,
        metadata={"a": "1", "b": "two", "c": "3"},
        last_update_time_ms=T1,
    )  # source, span, rationale (none given) and creation time kept
    assert new == expected
    assert s.get_assessments(trace_ids=[tid]) == [expected]
    assert all_counts(s)["assessments"] == 1


def test_update_sets_rationale_and_error_of_a_feedback(store: SqlStore) -> None:
    (tid,) = logged_traces(store, 1)
    old = feedback(tid, "exact", True, rationale="matched")
    store.log_assessments([old])
    failed = store.update_assessment(
        tid, old.assessment_id, Feedback(name="exact", error=AssessmentError("TIMEOUT", "judge timed out"))
    )
    assert (failed.value, failed.error, failed.rationale) == (
        None,
        AssessmentError("TIMEOUT", "judge timed out"),
        "matched",
    )
    fixed = store.update_assessment(
        tid, old.assessment_id, Feedback(name="exact", value=False, rationale="no")
    )
    assert (fixed.value, fixed.error, fixed.rationale) == (False, None, "no")
    assert one(store, tid, old.assessment_id) == fixed


def test_update_expectation(store: SqlStore) -> None:
    (tid,) = logged_traces(store, 1)
    old = expectation(tid, value=42, metadata={"k": "v"})
    store.log_assessments([old])
    new = store.update_assessment(tid, old.assessment_id, Expectation(name="expected_response", value=43))
    assert new.value == 43 and new.metadata == {"k": "v"} and new.kind == "expectation"
    assert new.source == old.source and new.last_update_time_ms >= new.create_time_ms
    assert one(store, tid, old.assessment_id) == new


@pytest.mark.parametrize(
    ("stored", "update", "message"),
    [
        ("feedback", Expectation(name="x", value=1), "Cannot update feedback .* with an Expectation"),
        ("expectation", Feedback(name="x", value=1), "Cannot update expectation .* with a Feedback"),
    ],
)
def test_update_of_the_other_kind_is_refused(
    store: SqlStore, stored: str, update: Feedback | Expectation, message: str
) -> None:
    (tid,) = logged_traces(store, 1)
    old = feedback(tid) if stored == "feedback" else expectation(tid)
    store.log_assessments([old])
    with pytest.raises(InvalidArgumentError, match=message):
        store.update_assessment(tid, old.assessment_id, update)
    assert store.get_assessments(trace_ids=[tid]) == [old]


def test_update_of_unknown_trace_or_assessment(store: SqlStore) -> None:
    (tid,) = logged_traces(store, 1)
    missing_trace, missing = new_trace_id(), new_assessment_id()
    with pytest.raises(NotFoundError, match=f"Trace with ID '{missing_trace}' not found"):
        store.update_assessment(missing_trace, missing, Feedback(value=1))
    with pytest.raises(NotFoundError, match=f"Assessment '{missing}' not found on trace '{tid}'"):
        store.update_assessment(tid, missing, Feedback(value=1))
    other = logged_traces(store, 1)[0]
    a = feedback(other)
    store.log_assessments([a])
    with pytest.raises(NotFoundError, match="not found on trace"):  # an assessment of another trace
        store.update_assessment(tid, a.assessment_id, Feedback(value=1))


class Unserializable:
    def __repr__(self) -> str:
        return "<Unserializable thing>"


@pytest.mark.parametrize(
    ("update", "named"),
    [
        (Feedback(name="", value=1), "''"),
        (Feedback(name="x" * 251, value=1), "'xxx"),
        (Feedback(name="x", value=Unserializable()), "<Unserializable thing>"),
        (Feedback(name="x", value=1, rationale="nul\x00"), "rationale"),
        (Feedback(name="x", value=1, metadata={"k": 5}), "5"),  # type: ignore[dict-item]
        (Feedback(name="x", value=1, metadata={"": "v"}), "''"),
        (Expectation(name="x", value={1, 2}), "{1, 2}"),
        ("not an update", "'not an update'"),
    ],
    ids=["empty-name", "long-name", "value", "rationale", "metadata-value", "metadata-key", "set", "str"],
)
def test_bad_updates_change_nothing(store: SqlStore, update: Any, named: str) -> None:
    (tid,) = logged_traces(store, 1)
    old = expectation(tid) if isinstance(update, Expectation) else feedback(tid)
    store.log_assessments([old])
    with pytest.raises(InvalidArgumentError) as info:
        store.update_assessment(tid, old.assessment_id, update)
    assert named in str(info.value)
    assert store.get_assessments(trace_ids=[tid]) == [old]


@pytest.mark.parametrize("bad", ["a-1", None, 5, "A-" + "0" * 32])
def test_bad_assessment_ids(store: SqlStore, bad: Any) -> None:
    (tid,) = logged_traces(store, 1)
    with pytest.raises(InvalidArgumentError, match="assessment id"):
        store.update_assessment(tid, bad, Feedback(value=1))
    with pytest.raises(InvalidArgumentError, match="assessment id"):
        store.delete_assessment(tid, bad)


# -- delete ----------------------------------------------------------------------------------------------
def test_delete_is_idempotent(store: SqlStore) -> None:
    (tid,) = logged_traces(store, 1)
    keep, gone = feedback(tid, "a"), feedback(tid, "b")
    store.log_assessments([keep, gone])
    store.delete_assessment(tid, gone.assessment_id)
    assert store.get_assessments(trace_ids=[tid]) == [keep]
    store.delete_assessment(tid, gone.assessment_id)  # already gone: nothing happens
    store.delete_assessment(tid, new_assessment_id())
    assert store.get_assessments(trace_ids=[tid]) == [keep]
    with pytest.raises(NotFoundError, match="Trace with ID"):
        store.delete_assessment(new_trace_id(), keep.assessment_id)


def test_delete_leaves_other_traces_alone(store: SqlStore) -> None:
    tids = logged_traces(store, 2)
    a = feedback(tids[0])
    store.log_assessments([a])
    store.delete_assessment(tids[1], a.assessment_id)  # not that trace's: nothing to delete
    assert store.get_assessments(trace_ids=tids) == [a]


# -- overrides -------------------------------------------------------------------------------------------
def test_an_override_keeps_the_old_feedback_invalid_until_it_is_deleted(store: SqlStore) -> None:
    (tid,) = logged_traces(store, 1)
    judged = feedback(tid, "relevance", 0.6, source=AssessmentSource(AssessmentSourceType.LLM_JUDGE, "gpt-4"))
    store.log_assessments([judged])
    human = feedback(
        tid,
        "relevance",
        0.9,
        source=AssessmentSource(AssessmentSourceType.HUMAN, "ana"),
        overrides=judged.assessment_id,
        create_time_ms=T0 + 1,
    )
    store.log_assessments([human])
    assert store.get_assessments(trace_ids=[tid]) == [dataclasses.replace(judged, valid=False), human]
    store.log_assessments([judged])  # logged again (a retried batch): it stays overridden
    assert one(store, tid, judged.assessment_id).valid is False
    store.update_assessment(tid, judged.assessment_id, Feedback(name="relevance", value=0.5))
    assert one(store, tid, judged.assessment_id).valid is False
    store.delete_assessment(tid, human.assessment_id)
    assert [(a.assessment_id, a.valid) for a in store.get_assessments(trace_ids=[tid])] == [
        (judged.assessment_id, True)
    ]


def test_override_of_an_assessment_in_the_same_batch(store: SqlStore) -> None:
    (tid,) = logged_traces(store, 1)
    first = feedback(tid, create_time_ms=T0)
    second = feedback(tid, overrides=first.assessment_id, create_time_ms=T0 + 1)
    store.log_assessments([first, second])
    assert [a.valid for a in store.get_assessments(trace_ids=[tid])] == [False, True]


def test_override_of_a_missing_assessment_writes_nothing(store: SqlStore) -> None:
    tids = logged_traces(store, 2)
    elsewhere = feedback(tids[1])
    store.log_assessments([elsewhere])
    before = all_counts(store)
    for target in (new_assessment_id(), elsewhere.assessment_id):  # unknown, or another trace's
        with pytest.raises(NotFoundError, match=f"Assessment '{target}' to override not found on trace"):
            store.log_assessments([feedback(tids[0]), feedback(tids[0], overrides=target)])
        assert all_counts(store) == before
    assert one(store, tids[1], elsewhere.assessment_id).valid is True


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"overrides": "a-1"}, "'a-1'"),
        ({"overrides": 5}, "5"),
        ({"valid": "yes"}, "'yes'"),
        ({"last_update_time_ms": -1}, "-1"),
    ],
)
def test_bad_override_fields(store: SqlStore, changes: dict[str, Any], named: str) -> None:
    (tid,) = logged_traces(store, 1)
    before = all_counts(store)
    with pytest.raises(InvalidArgumentError) as info:
        store.log_assessments([dataclasses.replace(feedback(tid), **changes)])
    assert named in str(info.value)
    assert all_counts(store) == before


def test_an_assessment_cannot_override_itself(store: SqlStore) -> None:
    (tid,) = logged_traces(store, 1)
    a = feedback(tid)
    with pytest.raises(InvalidArgumentError, match="cannot override itself"):
        store.log_assessments([dataclasses.replace(a, overrides=a.assessment_id)])


# -- source types ----------------------------------------------------------------------------------------
def test_source_types_in_any_case_and_mlflows_old_name(store: SqlStore) -> None:
    (tid,) = logged_traces(store, 1)
    items = [
        feedback(tid, "a", source=AssessmentSource("human", "x")),
        feedback(tid, "b", source=AssessmentSource("AI_JUDGE", "x")),
        feedback(tid, "c", source=AssessmentSource("source_type_unspecified", "x")),
    ]
    store.log_assessments(items)
    got = [a.source.source_type for a in store.get_assessments(trace_ids=[tid])]
    assert got == ["HUMAN", "LLM_JUDGE", "SOURCE_TYPE_UNSPECIFIED"]


def test_unknown_source_type_is_named(store: SqlStore) -> None:
    (tid,) = logged_traces(store, 1)
    with pytest.raises(InvalidArgumentError, match="'ROBOT'.*CODE, LLM_JUDGE, HUMAN"):
        store.log_assessments([feedback(tid, source=AssessmentSource("ROBOT", "x"))])
    assert store.get_assessments(trace_ids=[tid]) == []
