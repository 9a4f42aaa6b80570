"""Evaluation datasets in the SQL store, on SQLite and PostgreSQL: create/get round trips, the
content digest, search (filters, order, paging), adding records (replace and append), delete,
and bad input rejected whole."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genver.entities import DatasetRecord
from genver.exceptions import InvalidArgumentError, InvalidFilterError, NotFoundError
from genver.store.sql.eval_datasets import compute_digest
from genver.store.sql.store import SqlStore

from ._helpers import T0, all_counts, clocked, ticking_clock

EMPTY_DIGEST = hashlib.sha256(b"[]").hexdigest()[:16]
DATASET_TABLES = ("eval_datasets", "eval_dataset_tags", "eval_dataset_records")


def rec(record_id: str, question: str = "q", answer: Any = "a", **kw: Any) -> DatasetRecord:
    return DatasetRecord(
        record_id=record_id,
        inputs={"question": question},
        expectations={} if answer is None else {"expected_response": answer},
        **kw,
    )


def counts(store: SqlStore) -> dict[str, int]:
    found = all_counts(store)
    return {t: found[t] for t in DATASET_TABLES}


# -- create and get ---------------------------------------------------------------------------------------
def test_create_and_get_round_trip(store: SqlStore) -> None:
    s = clocked(store, ticking_clock(T0, 1000))
    exp = s.create_experiment("evals")
    records = [
        DatasetRecord(
            record_id="r-2",
            inputs={"question": "¿Qué? 你好 🚀", "history": [{"role": "user", "content": "hi"}], "k": 3},
            expectations={"expected_response": "x", "score": 0.5, "ok": True, "facts": ["a", "b"]},
            tags={"split": "test"},
            source_trace_id="tr-" + "a" * 32,
        ),
        DatasetRecord(record_id="r-1", inputs={"question": "plain"}),
        DatasetRecord(record_id="r-3", inputs={"t": (1, 2)}, expectations={"none": None}),  # tuples → lists
    ]
    created = s.create_eval_dataset(
        name="golden ✓", experiment_id=exp, records=records, tags={"team": "search"}
    )
    assert created.dataset_id.startswith("d-") and len(created.dataset_id) == 34
    assert (created.name, created.experiment_id, created.tags) == ("golden ✓", exp, {"team": "search"})
    assert created.created_time == created.last_update_time
    assert len(created.digest) == 16
    got = s.get_eval_dataset(created.dataset_id)
    assert got == created
    assert got.records is not None
    assert [r.record_id for r in got.records] == ["r-2", "r-1", "r-3"]  # insertion order
    assert got.records[0] == records[0]
    assert got.records[1] == records[1]
    assert got.records[2].inputs == {"t": [1, 2]} and got.records[2].expectations == {"none": None}
    assert counts(s) == {"eval_datasets": 1, "eval_dataset_tags": 1, "eval_dataset_records": 3}
    df = got.to_df()
    assert list(df["record_id"]) == ["r-2", "r-1", "r-3"]


def test_empty_dataset(store: SqlStore) -> None:
    created = store.create_eval_dataset(name="empty", experiment_id="0")
    assert created.digest == EMPTY_DIGEST == compute_digest([])
    assert created.records == [] and created.tags == {}
    assert store.get_eval_dataset(created.dataset_id) == created


def test_a_record_id_twice_in_one_call_last_wins_in_the_first_place(store: SqlStore) -> None:
    created = store.create_eval_dataset(
        name="d", experiment_id="0", records=[rec("a", "first"), rec("b"), rec("a", "second")]
    )
    got = store.get_eval_dataset(created.dataset_id)
    assert got == created
    assert got.records is not None
    assert [(r.record_id, r.inputs["question"]) for r in got.records] == [("a", "second"), ("b", "q")]
    assert (
        got.digest
        == store.create_eval_dataset(
            name="e", experiment_id="0", records=[rec("b"), rec("a", "second")]
        ).digest
    )


def test_get_unknown_or_bad_id(store: SqlStore) -> None:
    missing = "d-" + uuid.uuid4().hex
    with pytest.raises(NotFoundError, match=f"'{missing}' not found"):
        store.get_eval_dataset(missing)
    for bad in ("d-123", "", None, "m-" + "0" * 32):
        with pytest.raises(InvalidArgumentError, match="Invalid dataset id"):
            store.get_eval_dataset(bad)  # type: ignore[arg-type]


# -- the digest ---------------------------------------------------------------------------------------------
def test_digest_depends_on_content_only(store: SqlStore) -> None:
    exp = store.create_experiment("other")
    a = store.create_eval_dataset(
        name="a", experiment_id="0", records=[rec("1"), rec("2", "q2")], tags={"x": "y"}
    )
    b = store.create_eval_dataset(name="b", experiment_id=exp, records=[rec("2", "q2"), rec("1")])
    assert a.digest == b.digest
    key_order = DatasetRecord(
        record_id="1", inputs={"question": "q"}, expectations={"expected_response": "a"}
    )
    c = store.create_eval_dataset(name="c", experiment_id="0", records=[rec("2", "q2"), key_order])
    assert c.digest == a.digest
    for changed in (
        [rec("1"), rec("2", "q3")],
        [rec("1"), rec("2", "q2", "b")],
        [rec("1")],
        [rec("1"), rec("2", "q2", None)],
    ):
        assert store.create_eval_dataset(name="a", experiment_id="0", records=changed).digest != a.digest


def test_digest_is_the_documented_formula() -> None:
    records = [("b", {"q": "2"}, {}), ("a", {"z": 1, "q": "1"}, {"e": "ü"})]
    text = '[[{"q":"1","z":1},{"e":"ü"}],[{"q":"2"},{}]]'
    assert compute_digest(records) == hashlib.sha256(text.encode()).hexdigest()[:16]


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
_records = st.dictionaries(
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs")), min_size=1, max_size=12),
    st.tuples(
        st.dictionaries(st.text(max_size=6), _json, min_size=1, max_size=3),
        st.dictionaries(st.text(max_size=6), _json, max_size=3),
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=_records, data=st.data())
def test_digest_depends_only_on_the_record_set(
    store: SqlStore, content: dict[str, Any], data: st.DataObject
) -> None:
    records = [DatasetRecord(record_id=k, inputs=i, expectations=e) for k, (i, e) in content.items()]
    shuffled = data.draw(st.permutations(records))
    split = data.draw(st.integers(0, len(records)))
    a = store.create_eval_dataset(name="a", experiment_id="0", records=records, tags={"v": "1"})
    b = store.create_eval_dataset(name="b ✓", experiment_id="0", records=shuffled[:split])
    b = store.add_eval_dataset_records(b.dataset_id, shuffled[split:])
    assert a.digest == b.digest == compute_digest((r.record_id, r.inputs, r.expectations) for r in records)
    if records:  # any change to the set changes the digest
        first = records[0]
        extra = DatasetRecord(
            record_id=first.record_id + "+", inputs=first.inputs, expectations=first.expectations
        )
        assert compute_digest((r.record_id, r.inputs, r.expectations) for r in [*records, extra]) != a.digest
        changed = DatasetRecord(
            record_id=first.record_id,
            inputs=first.inputs,
            expectations={**first.expectations, "_": "changed"},
        )
        c = store.add_eval_dataset_records(a.dataset_id, [changed])
        assert c.digest != a.digest


# -- bad input ------------------------------------------------------------------------------------------------
class Unserializable:
    def __repr__(self) -> str:
        return "<Unserializable thing>"


BAD_RECORDS = [
    ([DatasetRecord(record_id="", inputs={"q": 1})], "record_id ''"),
    ([DatasetRecord(record_id="x" * 65, inputs={"q": 1})], "'xxxx"),
    ([DatasetRecord(record_id="a\nb", inputs={"q": 1})], "'a\\nb'"),
    ([DatasetRecord(record_id=7, inputs={"q": 1})], "record_id 7"),  # type: ignore[arg-type]
    ([DatasetRecord(record_id="r", inputs={})], "inputs {}"),
    ([DatasetRecord(record_id="r", inputs="q")], "inputs 'q'"),  # type: ignore[arg-type]
    ([DatasetRecord(record_id="r", inputs={1: "q"})], "input name 1"),
    ([DatasetRecord(record_id="r", inputs={"q": Unserializable()})], "<Unserializable thing>"),
    ([DatasetRecord(record_id="r", inputs={"q": 1}, expectations=["a"])], "expectations ['a']"),  # type: ignore[arg-type]
    ([DatasetRecord(record_id="r", inputs={"q": 1}, expectations={"e": {1, 2}})], "{1, 2}"),
    ([DatasetRecord(record_id="r", inputs={"q": 1}, tags={"k": None})], "'k'"),  # type: ignore[dict-item]
    ([DatasetRecord(record_id="r", inputs={"q": 1}, source_trace_id="")], "source_trace_id ''"),
    ([rec("ok"), {"record_id": "r"}], "{'record_id': 'r'}"),
    (rec("r"), "Invalid records"),
    ("abc", "Invalid records"),
]


@pytest.mark.parametrize(("records", "named"), BAD_RECORDS, ids=[n for _, n in BAD_RECORDS])
def test_bad_records_are_rejected_whole(store: SqlStore, records: Any, named: str) -> None:
    existing = store.create_eval_dataset(name="d", experiment_id="0", records=[rec("keep")])
    before = all_counts(store)
    with pytest.raises(InvalidArgumentError) as info:
        store.create_eval_dataset(name="d", experiment_id="0", records=records)
    assert named in str(info.value)
    with pytest.raises(InvalidArgumentError) as info:
        store.add_eval_dataset_records(existing.dataset_id, records)
    assert named in str(info.value)
    assert all_counts(store) == before
    assert store.get_eval_dataset(existing.dataset_id) == existing


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "nul\x00", "x" * 501, None, 5], ids=repr)
def test_bad_names(store: SqlStore, name: Any) -> None:
    before = all_counts(store)
    with pytest.raises(InvalidArgumentError, match="Invalid dataset name"):
        store.create_eval_dataset(name=name, experiment_id="0", records=[rec("a")])
    assert all_counts(store) == before


def test_longest_name_is_fine(store: SqlStore) -> None:
    assert store.create_eval_dataset(name="x" * 500, experiment_id="0").name == "x" * 500


def test_experiment_must_exist_and_be_active(store: SqlStore) -> None:
    gone = store.create_experiment("gone")
    store.update_experiment(gone, lifecycle_stage="deleted")
    before = all_counts(store)
    with pytest.raises(NotFoundError, match="'12345'"):
        store.create_eval_dataset(name="d", experiment_id="12345", records=[rec("a")])
    with pytest.raises(InvalidArgumentError, match="is deleted"):
        store.create_eval_dataset(name="d", experiment_id=gone, records=[rec("a")])
    with pytest.raises(InvalidArgumentError, match="Invalid experiment id 'x'"):
        store.create_eval_dataset(name="d", experiment_id="x")
    with pytest.raises(InvalidArgumentError, match="Tag 'k'"):
        store.create_eval_dataset(name="d", experiment_id="0", tags={"k": None})  # type: ignore[dict-item]
    assert all_counts(store) == before


# -- search ---------------------------------------------------------------------------------------------------
@pytest.fixture
def corpus(store: SqlStore) -> dict[str, str]:
    """Five datasets created one second apart from T0 + 1000 (names → ids); one in another experiment."""
    s = clocked(store, ticking_clock(T0, 1000))
    other = s.create_experiment("other")
    ids = {}
    for name, records, tags, exp in [
        ("golden", [rec("1")], {"team": "search", "split": "test"}, "0"),
        ("golden-v2", [rec("1"), rec("2")], {"team": "search"}, "0"),
        ("Regression", [rec("1")], {"team": "ads"}, "0"),
        ("empty", [], {}, "0"),
        ("elsewhere", [rec("1")], {"team": "search"}, other),
    ]:
        ids[name] = s.create_eval_dataset(name=name, experiment_id=exp, records=records, tags=tags).dataset_id
    ids["_other"] = other
    return ids


def names(store: SqlStore, filter_string: str | None = None, **kw: Any) -> list[str]:
    kw.setdefault("experiment_ids", ["0"])
    found = store.search_eval_datasets(filter_string=filter_string, **kw)
    assert all(d.records is None for d in found)
    return [d.name for d in found]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        (None, ["empty", "Regression", "golden-v2", "golden"]),
        ("name = 'golden'", ["golden"]),
        ("name LIKE 'golden%'", ["golden-v2", "golden"]),
        ("name ILIKE 'REG%'", ["Regression"]),
        ("name != 'golden' AND name != 'empty'", ["Regression", "golden-v2"]),
        ("name IN ('golden', 'empty', 'nope')", ["empty", "golden"]),
        ("tags.team = 'search'", ["golden-v2", "golden"]),
        ("tags.`team` != 'search'", ["Regression"]),
        ("tags.split = 'test' OR tags.team = 'ads'", ["Regression", "golden"]),
        (f"created_time > {T0 + 2000}", ["empty", "Regression"]),
        (f"created_time <= {T0 + 2000}", ["golden-v2", "golden"]),
        (f"attributes.last_update_time = {T0 + 2000}", ["golden-v2"]),
        ("name = 'nope'", []),
    ],
)
def test_filters(
    store: SqlStore, corpus: dict[str, str], filter_string: str | None, expected: list[str]
) -> None:
    assert names(store, filter_string) == expected


def test_filters_on_ids_and_digests(store: SqlStore, corpus: dict[str, str]) -> None:
    golden = store.get_eval_dataset(corpus["golden"])
    assert names(store, f"dataset_id = '{corpus['golden']}'") == ["golden"]
    # "golden" and "Regression" hold the same records: the same digest
    assert names(store, f"digest = '{golden.digest}'") == ["Regression", "golden"]
    assert names(store, f"digest = '{golden.digest}'", experiment_ids=["0", corpus["_other"]]) == [
        "elsewhere",
        "Regression",
        "golden",
    ]
    assert names(store, f"digest = '{EMPTY_DIGEST}'") == ["empty"]


def test_experiments_order_and_paging(store: SqlStore, corpus: dict[str, str]) -> None:
    assert names(store, experiment_ids=[corpus["_other"]]) == ["elsewhere"]
    assert names(store, experiment_ids=[]) == []
    both = ["0", corpus["_other"]]
    lower = "name LIKE 'e%' OR name LIKE 'g%'"  # lowercase only: the same order in any collation
    assert names(store, lower, experiment_ids=both, order_by=["name"]) == [
        "elsewhere",
        "empty",
        "golden",
        "golden-v2",
    ]
    assert names(store, order_by=["created_time ASC"]) == ["golden", "golden-v2", "Regression", "empty"]
    assert names(store, order_by=["last_update_time DESC"]) == ["empty", "Regression", "golden-v2", "golden"]
    assert names(store, order_by=["name DESC"], filter_string="name LIKE 'g%'") == ["golden-v2", "golden"]
    pages, token = [], None
    while True:
        page = store.search_eval_datasets(experiment_ids=both, max_results=2, page_token=token)
        pages.append([d.name for d in page])
        token = page.token
        if token is None:
            break
    assert pages == [["elsewhere", "empty"], ["Regression", "golden-v2"], ["golden"]]


def test_same_created_time_orders_by_id(store: SqlStore) -> None:
    s = clocked(store, ticking_clock(T0, 0))
    ids = [s.create_eval_dataset(name=f"d{i}", experiment_id="0").dataset_id for i in range(5)]
    found = s.search_eval_datasets(experiment_ids=["0"])
    assert [d.dataset_id for d in found] == sorted(ids)


@pytest.mark.parametrize(
    ("kwargs", "error", "named"),
    [
        ({"filter_string": "nope = 'x'"}, InvalidFilterError, "'nope'"),
        ({"filter_string": "params.x = 'y'"}, InvalidFilterError, "'params'"),
        ({"filter_string": "created_time > 'x'"}, InvalidFilterError, "created_time"),
        ({"order_by": ["tags.team"]}, InvalidFilterError, "tags.team"),
        ({"order_by": "name"}, InvalidArgumentError, "'name'"),
        ({"max_results": 0}, InvalidArgumentError, "max_results 0"),
        ({"page_token": "junk"}, InvalidArgumentError, "'junk'"),
        ({"experiment_ids": "0"}, InvalidArgumentError, "'0'"),
    ],
)
def test_bad_search_arguments(
    store: SqlStore, kwargs: dict[str, Any], error: type[Exception], named: str
) -> None:
    kwargs.setdefault("experiment_ids", ["0"])
    with pytest.raises(error) as info:
        store.search_eval_datasets(**kwargs)
    assert named in str(info.value)


# -- adding records -----------------------------------------------------------------------------------------------
def test_add_replaces_and_appends(store: SqlStore) -> None:
    s = clocked(store, ticking_clock(T0, 1000))
    created = s.create_eval_dataset(
        name="d", experiment_id="0", records=[rec("a"), rec("b"), rec("c")], tags={"t": "1"}
    )
    updated = s.add_eval_dataset_records(
        created.dataset_id, [rec("d", "new"), rec("b", "changed", "B"), rec("e")]
    )
    assert updated.records is not None
    assert [(r.record_id, r.inputs["question"]) for r in updated.records] == [
        ("a", "q"),
        ("b", "changed"),
        ("c", "q"),
        ("d", "new"),
        ("e", "q"),
    ]
    assert updated.records[1].expectations == {"expected_response": "B"}
    assert updated.digest != created.digest
    assert updated.last_update_time > created.last_update_time
    assert (updated.created_time, updated.name, updated.tags) == (created.created_time, "d", {"t": "1"})
    assert s.get_eval_dataset(created.dataset_id) == updated
    fresh = s.create_eval_dataset(
        name="fresh",
        experiment_id="0",
        records=[rec("e"), rec("d", "new"), rec("c"), rec("b", "changed", "B"), rec("a")],
    )
    assert fresh.digest == updated.digest
    again = s.add_eval_dataset_records(created.dataset_id, [rec("a")])  # same content: same digest
    assert again.digest == updated.digest and again.records == updated.records
    assert s.add_eval_dataset_records(created.dataset_id, []).digest == updated.digest
    assert counts(s)["eval_dataset_records"] == 10


def test_add_to_an_empty_dataset_and_unknown_ones(store: SqlStore) -> None:
    empty = store.create_eval_dataset(name="e", experiment_id="0")
    added = store.add_eval_dataset_records(empty.dataset_id, [rec("b"), rec("a")])
    assert added.records is not None and [r.record_id for r in added.records] == ["b", "a"]
    missing = "d-" + "0" * 32
    before = all_counts(store)
    with pytest.raises(NotFoundError, match=f"'{missing}' not found"):
        store.add_eval_dataset_records(missing, [rec("a")])
    with pytest.raises(InvalidArgumentError, match="Invalid dataset id"):
        store.add_eval_dataset_records("nope", [rec("a")])
    assert all_counts(store) == before


# -- delete ------------------------------------------------------------------------------------------------------
def test_delete_removes_the_dataset_its_tags_and_records(store: SqlStore) -> None:
    keep = store.create_eval_dataset(name="keep", experiment_id="0", records=[rec("a")], tags={"k": "v"})
    gone = store.create_eval_dataset(
        name="gone", experiment_id="0", records=[rec("a"), rec("b")], tags={"k": "v"}
    )
    store.delete_eval_dataset(gone.dataset_id)
    assert counts(store) == {"eval_datasets": 1, "eval_dataset_tags": 1, "eval_dataset_records": 1}
    with pytest.raises(NotFoundError):
        store.get_eval_dataset(gone.dataset_id)
    with pytest.raises(NotFoundError, match=f"'{gone.dataset_id}' not found"):
        store.delete_eval_dataset(gone.dataset_id)
    with pytest.raises(InvalidArgumentError, match="Invalid dataset id"):
        store.delete_eval_dataset("d-x")
    assert store.get_eval_dataset(keep.dataset_id) == keep
    assert names(store) == ["keep"]
