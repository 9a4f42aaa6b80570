"""Evaluation datasets as MLflow 3 has them, in the store, on SQLite and PostgreSQL (and over REST,
see tests/server/test_contract_over_rest.py): records merged into stored ones (``merge=True``),
outputs and record times, dataset tags set and deleted, and searches over every experiment."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest

from genver.entities import DatasetRecord
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.sql.eval_datasets import compute_digest
from genver.store.sql.store import SqlStore

from ._helpers import T0, all_counts, clocked, ticking_clock

DATASET_TABLES = ("eval_datasets", "eval_dataset_tags", "eval_dataset_records")


def rec(record_id: str, question: str = "q", **kw: Any) -> DatasetRecord:
    return DatasetRecord(record_id=record_id, inputs={"question": question}, **kw)


def counts(store: SqlStore) -> dict[str, int]:
    found = all_counts(store)
    return {t: found[t] for t in DATASET_TABLES}


# -- merge ------------------------------------------------------------------------------------------------
def test_merge_merges_expectations_and_tags_and_keeps_place_and_creation(store: SqlStore) -> None:
    s = clocked(store, ticking_clock(T0, 1000))
    first = rec(
        "a",
        expectations={"expected_response": "Paris", "facts": ["capital"]},
        tags={"split": "dev", "owner": "ana"},
        outputs={"answer": "Lyon"},
        source_trace_id="tr-" + "1" * 32,
    )
    ds = s.create_eval_dataset(name="d", experiment_id="0", records=[first, rec("b", "other")])
    created = ds.records[0].created_time  # type: ignore[index]
    assert created is not None and ds.records[0].last_update_time == created  # type: ignore[index]
    merged = s.add_eval_dataset_records(
        ds.dataset_id,
        [
            rec("a", expectations={"expected_response": "Paris, France"}, tags={"split": "test"}),
            rec("c", "new"),
        ],
        merge=True,
    )
    assert [r.record_id for r in merged.records or []] == ["a", "b", "c"]  # merged in place, new appended
    a = (merged.records or [])[0]
    assert dict(a.expectations) == {"expected_response": "Paris, France", "facts": ["capital"]}
    assert dict(a.tags) == {"split": "test", "owner": "ana"}
    assert a.outputs == {"answer": "Lyon"}  # not given: kept
    assert a.source_trace_id == "tr-" + "1" * 32
    assert a.created_time == created and a.last_update_time is not None and a.last_update_time > created
    assert merged.last_update_time == a.last_update_time > ds.last_update_time
    assert s.get_eval_dataset(ds.dataset_id) == merged
    assert merged.digest == compute_digest(
        (r.record_id, r.inputs, r.expectations, r.outputs) for r in merged.records or []
    )
    assert counts(s) == {"eval_datasets": 1, "eval_dataset_tags": 0, "eval_dataset_records": 3}


def test_merge_replaces_outputs_when_given_and_replace_replaces_everything(store: SqlStore) -> None:
    ds = store.create_eval_dataset(
        name="d", experiment_id="0", records=[rec("a", expectations={"x": 1}, outputs="old", tags={"t": "1"})]
    )
    merged = store.add_eval_dataset_records(ds.dataset_id, [rec("a", outputs="new")], merge=True)
    (a,) = merged.records or []
    assert (a.outputs, dict(a.expectations), dict(a.tags)) == ("new", {"x": 1}, {"t": "1"})
    replaced = store.add_eval_dataset_records(ds.dataset_id, [rec("a", expectations={"y": 2})])
    (a,) = replaced.records or []
    assert (a.outputs, dict(a.expectations), dict(a.tags)) == (None, {"y": 2}, {})


def test_merging_the_same_records_again_changes_nothing_but_the_time(store: SqlStore) -> None:
    records = [rec("a", expectations={"e": 1}, outputs=[1, 2]), rec("b", "x")]
    ds = store.create_eval_dataset(name="d", experiment_id="0", records=records)
    again = store.add_eval_dataset_records(ds.dataset_id, records, merge=True)
    assert again.records == ds.records and again.digest == ds.digest


@pytest.mark.parametrize(
    "outputs",
    [
        "Paris",
        0,
        1.5,
        False,
        ["a", 1, None],
        {"answer": "Paris", "sources": [{"doc": 1}]},
        "ünïcödé ✓ 你好 🚀",
        math.inf,
    ],
    ids=repr,
)
def test_outputs_round_trip(store: SqlStore, outputs: Any) -> None:
    ds = store.create_eval_dataset(name="d", experiment_id="0", records=[rec("a", outputs=outputs)])
    (got,) = store.get_eval_dataset(ds.dataset_id).records or []
    assert got.outputs == outputs and type(got.outputs) is type(outputs)


def test_outputs_count_in_the_digest_only_when_there_are_some(store: SqlStore) -> None:
    plain = store.create_eval_dataset(name="a", experiment_id="0", records=[rec("a")])
    assert plain.digest == compute_digest([("a", {"question": "q"}, {})])  # as before outputs existed
    answered = store.create_eval_dataset(name="b", experiment_id="0", records=[rec("a", outputs="x")])
    assert answered.digest != plain.digest
    assert answered.digest == compute_digest([("a", {"question": "q"}, {}, "x")])


class Unserializable:
    def __repr__(self) -> str:
        return "<Unserializable thing>"


@pytest.mark.parametrize("merge", [True, False])
def test_bad_outputs_or_merge_flag_write_nothing(store: SqlStore, merge: bool) -> None:
    ds = store.create_eval_dataset(name="d", experiment_id="0", records=[rec("a")])
    before = counts(store)
    with pytest.raises(InvalidArgumentError, match="<Unserializable thing>"):
        store.add_eval_dataset_records(ds.dataset_id, [rec("b", outputs=Unserializable())], merge=merge)
    with pytest.raises(InvalidArgumentError, match="'yes'"):
        store.add_eval_dataset_records(ds.dataset_id, [rec("b")], merge="yes")  # type: ignore[arg-type]
    assert counts(store) == before
    assert store.get_eval_dataset(ds.dataset_id) == ds


def test_merge_into_an_unknown_dataset(store: SqlStore) -> None:
    missing = "d-" + uuid.uuid4().hex
    with pytest.raises(NotFoundError, match=missing):
        store.add_eval_dataset_records(missing, [rec("a")], merge=True)


# -- tags -------------------------------------------------------------------------------------------------
def test_set_and_delete_tags(store: SqlStore) -> None:
    ds = store.create_eval_dataset(name="d", experiment_id="0", tags={"team": "search", "draft": "yes"})
    store.set_eval_dataset_tags(
        ds.dataset_id, {"status": "validated", "team": "qa", "draft": None, "gone": None}
    )
    assert dict(store.get_eval_dataset(ds.dataset_id).tags) == {"status": "validated", "team": "qa"}
    store.delete_eval_dataset_tag(ds.dataset_id, "status")
    store.delete_eval_dataset_tag(ds.dataset_id, "status")  # not there: nothing happens, as in MLflow
    got = store.get_eval_dataset(ds.dataset_id)
    assert dict(got.tags) == {"team": "qa"}
    found = store.search_eval_datasets(experiment_ids=["0"], filter_string="tags.team = 'qa'")
    assert [d.dataset_id for d in found] == [ds.dataset_id]


def test_tags_of_an_unknown_dataset(store: SqlStore) -> None:
    missing = "d-" + uuid.uuid4().hex
    with pytest.raises(NotFoundError, match=missing):
        store.set_eval_dataset_tags(missing, {"a": "b"})
    with pytest.raises(NotFoundError, match=missing):
        store.delete_eval_dataset_tag(missing, "a")
    with pytest.raises(InvalidArgumentError, match="Invalid dataset id"):
        store.set_eval_dataset_tags("d-1", {"a": "b"})


@pytest.mark.parametrize(
    ("tags", "named"),
    [
        ({"": "v"}, "''"),
        ({"ok": "v", "bad\x00key": "v"}, "bad"),
        ({"k": "nul\x00"}, "nul"),
        ({"": None}, "''"),
        ("team=search", "'team=search'"),
    ],
    ids=["empty-key", "nul-key", "nul-value", "empty-key-deleted", "not-a-dict"],
)
def test_bad_tags_write_nothing(store: SqlStore, tags: Any, named: str) -> None:
    ds = store.create_eval_dataset(name="d", experiment_id="0", tags={"keep": "me"})
    with pytest.raises(InvalidArgumentError) as info:
        store.set_eval_dataset_tags(ds.dataset_id, tags)
    assert named in str(info.value)
    assert dict(store.get_eval_dataset(ds.dataset_id).tags) == {"keep": "me"}


# -- search -----------------------------------------------------------------------------------------------
def test_search_every_experiment(store: SqlStore) -> None:
    exp = store.create_experiment("other")
    a = store.create_eval_dataset(name="a", experiment_id="0")
    b = store.create_eval_dataset(name="b", experiment_id=exp)
    assert {d.dataset_id for d in store.search_eval_datasets(experiment_ids=None)} == {
        a.dataset_id,
        b.dataset_id,
    }
    assert [d.dataset_id for d in store.search_eval_datasets(experiment_ids=[exp])] == [b.dataset_id]
    found = store.search_eval_datasets(experiment_ids=None, filter_string="name = 'b'")
    assert [(d.dataset_id, d.experiment_id) for d in found] == [(b.dataset_id, exp)]
