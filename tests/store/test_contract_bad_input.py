"""Bad input: a ``GenverError`` subclass that names the value, and nothing partially written.

Every case runs on every backend, so a value SQLite would quietly accept but PostgreSQL would
refuse (too long for its column, a NUL byte) is rejected the same way on both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pytest

from genver.entities import Dataset, Metric
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.sql.store import SqlStore

from ._helpers import T0, all_counts

BAD_NAMES = ["", "   ", "\t", "a\nb", "tab\there", "nul\x00", "del\x7f", "x" * 257]


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_bad_version_names(store: SqlStore, name: str) -> None:
    before = all_counts(store)
    with pytest.raises(InvalidArgumentError, match="version name") as info:
        store.create_logged_model(experiment_id="0", name=name, params={"a": "b"}, tags={"c": "d"})
    assert repr(name[:40]) in str(info.value)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert all_counts(store) == before


def test_longest_name_is_fine(store: SqlStore) -> None:
    assert store.create_logged_model(experiment_id="0", name="x" * 256).name == "x" * 256


@pytest.mark.parametrize("name", [*BAD_NAMES, None, 7], ids=repr)
def test_bad_experiment_names(store: SqlStore, name: Any) -> None:
    exp_id = store.create_experiment("fine")
    before = all_counts(store)
    with pytest.raises(InvalidArgumentError, match="experiment name") as info:
        store.create_experiment(name)
    assert repr(name)[:20] in str(info.value)
    if name is not None:  # new_name=None means "keep the name"
        with pytest.raises(InvalidArgumentError, match="experiment name"):
            store.update_experiment(exp_id, new_name=name)
    assert all_counts(store) == before
    assert store.get_experiment(exp_id).name == "fine"


BAD_EXPERIMENT_IDS: list[Any] = ["abc", "", " ", "-1", "1.5", "1e3", "0x1", "²", None, 1.0, True, [0]]


@pytest.mark.parametrize("exp_id", BAD_EXPERIMENT_IDS, ids=repr)
def test_bad_experiment_ids(store: SqlStore, exp_id: Any) -> None:
    before = all_counts(store)
    calls: list[Callable[[], object]] = [
        lambda: store.create_logged_model(experiment_id=exp_id, name="v1"),
        lambda: store.create_run(experiment_id=exp_id),
        lambda: store.get_experiment(exp_id),
        lambda: store.update_experiment(exp_id, new_name="x"),
        lambda: store.search_logged_models(experiment_ids=[exp_id]),
        lambda: store.search_runs(experiment_ids=[exp_id]),
        lambda: store.find_logged_model(experiment_id=exp_id, name="v1"),
    ]
    for call in calls:
        with pytest.raises(InvalidArgumentError, match="experiment id") as info:
            call()
        assert repr(exp_id) in str(info.value)
    assert all_counts(store) == before


@pytest.mark.parametrize("exp_id", ["2147483648", "99999999999999999999", "9" * 40])
def test_out_of_range_experiment_ids(store: SqlStore, exp_id: str) -> None:
    """Ids no experiment can have (the column is 32-bit): never a raw database or overflow error."""
    for call in (
        lambda: store.get_experiment(exp_id),
        lambda: store.create_logged_model(experiment_id=exp_id),
        lambda: store.search_logged_models(experiment_ids=[exp_id]),
    ):
        with pytest.raises(InvalidArgumentError, match=exp_id):
            call()


def test_experiment_ids_must_be_a_list(store: SqlStore) -> None:
    exp = store.create_experiment("e")  # id "1"
    store.create_logged_model(experiment_id="0")
    with pytest.raises(InvalidArgumentError, match="'10'"):
        store.search_logged_models(experiment_ids="10")  # a string is not a list of ids
    with pytest.raises(InvalidArgumentError, match="'10'"):
        store.search_runs(experiment_ids="10")
    assert store.search_logged_models(experiment_ids=(exp,)) == []


def test_unknown_experiment(store: SqlStore) -> None:
    with pytest.raises(NotFoundError, match="'42'"):
        store.create_logged_model(experiment_id="42")
    assert store.search_logged_models(experiment_ids=["42"]) == []


@pytest.mark.parametrize("max_results", [0, -1, 50_001, "10", 1.5, True, None])
def test_bad_max_results(store: SqlStore, max_results: Any) -> None:
    for call in (
        lambda: store.search_logged_models(experiment_ids=["0"], max_results=max_results),
        lambda: store.search_runs(experiment_ids=["0"], max_results=max_results),
        lambda: store.search_experiments(max_results=max_results),
    ):
        with pytest.raises(InvalidArgumentError, match="max_results") as info:
            call()
        assert repr(max_results) in str(info.value)


def test_one_bad_param_among_good_ones_stores_nothing(store: SqlStore) -> None:
    before = all_counts(store)
    with pytest.raises(InvalidArgumentError) as info:
        store.create_logged_model(
            experiment_id="0",
            name="recommendation-engine-v2.1",
            params={"llm_model": "gpt-4", "temperature": 0.7, "max_tokens": 1000, "k": "5"},
            tags={"team": "ml"},
        )
    message = str(info.value)
    assert "must be strings" in message
    assert "'temperature': 0.7 (float)" in message and "'max_tokens': 1000 (int)" in message
    assert "'llm_model'" not in message
    assert "{'temperature': '0.7', 'max_tokens': '1000'}" in message  # the fix, spelled out
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert all_counts(store) == before


@pytest.mark.parametrize(
    ("params", "tags", "needle"),
    [
        ({"good": "1", "": "x"}, None, "''"),
        ({"good": "1", "a\nb": "x"}, None, "'a\\nb'"),
        ({"good": "1", "k" * 251: "x"}, None, "kkkk"),
        ({"good": "1", "big": "v" * 6001}, None, "'big'"),
        ({"good": "1", "nul": "a\x00b"}, None, "'nul'"),
        (None, {"good": "1", " ": "x"}, "' '"),
        (None, {"good": "1", "none": None}, "'none'"),
        (None, {"good": "1", "big": "v" * 8001}, "'big'"),
        (None, {"good": "1", "nul": "\x00"}, "'nul'"),
        ("not-a-dict", None, "'not-a-dict'"),
        (None, ["a", "b"], "['a', 'b']"),
    ],
)
def test_bad_params_or_tags_store_nothing(store: SqlStore, params: Any, tags: Any, needle: str) -> None:
    model_id = store.create_logged_model(experiment_id="0", name="existing").model_id
    run_id = store.create_run(experiment_id="0").info.run_id
    before = all_counts(store)
    calls: list[Callable[[], object]] = [
        lambda: store.create_logged_model(experiment_id="0", name="v1", params=params, tags=tags),
        lambda: store.log_batch(run_id, params=params, tags=tags, metrics=[Metric("m", 1.0, T0, 0)]),
    ]
    if params is not None:
        calls.append(lambda: store.log_logged_model_params(model_id, params))
    if tags is not None:
        calls.append(lambda: store.set_logged_model_tags(model_id, tags))
        calls.append(lambda: store.create_run(experiment_id="0", tags=tags))
    for call in calls:
        with pytest.raises(InvalidArgumentError) as info:
            call()
        assert needle in str(info.value)
    assert all_counts(store) == before


BAD_METRICS: list[tuple[Metric, str]] = [
    (Metric("acc", "high", T0, 0), "'high'"),  # type: ignore[arg-type]
    (Metric("acc", None, T0, 0), "None"),  # type: ignore[arg-type]
    (Metric("acc", True, T0, 0), "True"),
    (Metric("", 1.0, T0, 0), "''"),
    (Metric("a\x00", 1.0, T0, 0), "'a\\x00'"),
    (Metric("acc", 1.0, 1.5, 0), "1.5"),  # type: ignore[arg-type]
    (Metric("acc", 1.0, T0, "1"), "'1'"),  # type: ignore[arg-type]
    (Metric("acc", 1.0, T0, 0, model_id=""), "''"),
    (Metric("acc", 1.0, T0, 0, dataset_name="d" * 501), "ddd"),
    (Metric("acc", 1.0, T0, 0, dataset_name="eval", dataset_digest="x" * 65), "xxx"),
    (Metric("acc", 1.0, T0, 0, dataset_name=7), "7"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("bad", "needle"), BAD_METRICS, ids=[n for _, n in BAD_METRICS])
def test_log_batch_with_one_bad_metric_writes_none(store: SqlStore, bad: Metric, needle: str) -> None:
    run_id = store.create_run(experiment_id="0").info.run_id
    model_id = store.create_logged_model(experiment_id="0").model_id
    good = [
        Metric("loss", 0.1, T0, 0),
        Metric("acc", 0.9, T0, 0, model_id=model_id, dataset_name="eval", dataset_digest="d"),
    ]
    before = all_counts(store)
    with pytest.raises(InvalidArgumentError) as info:
        store.log_batch(run_id, metrics=[*good, bad, *good], params={"p": "1"}, tags={"t": "1"})
    assert needle in str(info.value)
    assert all_counts(store) == before


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0.0, -1e308, 5])
def test_special_metric_values_round_trip(store: SqlStore, value: float) -> None:
    run_id = store.create_run(experiment_id="0").info.run_id
    model_id = store.create_logged_model(experiment_id="0").model_id
    store.log_batch(run_id, metrics=[Metric("m", value, T0, 0, model_id=model_id)])
    got = store.get_run(run_id).data.metrics["m"]
    metrics = store.get_logged_model(model_id).metrics
    assert metrics is not None
    for v in (got, metrics[0].value):
        assert isinstance(v, float)
        assert (math.isnan(v) and math.isnan(value)) or v == value
    hits = store.search_logged_models(
        experiment_ids=["0"], filter_string="metrics.m >= -1e309", order_by=[{"field_name": "metrics.m"}]
    )
    assert [m.model_id for m in hits] == [model_id]  # -1e309 is -inf; NaN counts as the largest


def test_nan_metrics_sort_and_filter_the_same_on_every_backend(store: SqlStore) -> None:
    ids = {}
    for name, value in [("low", 0.1), ("nan", math.nan), ("high", 0.9)]:
        ids[name] = store.create_logged_model(experiment_id="0", name=name).model_id
        store.log_batch(None, metrics=[Metric("m", value, T0, 0, model_id=ids[name])])
    store.create_logged_model(experiment_id="0", name="none")

    def names(filter_string: str | None = None, ascending: bool = True) -> list[str]:
        found = store.search_logged_models(
            experiment_ids=["0"],
            filter_string=filter_string,
            order_by=[{"field_name": "metrics.m", "ascending": ascending}],
        )
        return [m.name for m in found]

    # NaN is the largest value (PostgreSQL's rule); a missing value still sorts last.
    assert names() == ["low", "high", "nan", "none"]
    assert names(ascending=False) == ["nan", "high", "low", "none"]
    assert names("metrics.m < 0.5") == ["low"]
    assert names("metrics.m > 0.5") == ["high", "nan"]


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda s, r: s.create_logged_model(experiment_id="0", model_type="t" * 501), "model_type"),
        (lambda s, r: s.create_logged_model(experiment_id="0", model_type=5), "model_type"),
        (lambda s, r: s.create_logged_model(experiment_id="0", source_run_id="r" * 33), "source run id"),
        (lambda s, r: s.create_logged_model(experiment_id="0", source_run_id=""), "source run id"),
        (lambda s, r: s.create_logged_model(experiment_id="0", source_run_id="\x00"), "source run id"),
        (lambda s, r: s.create_run(experiment_id="0", run_name="n" * 257), "run name"),
        (lambda s, r: s.create_run(experiment_id="0", tags={"mlflow.runName": "n" * 257}), "run name"),
        (lambda s, r: s.create_run(experiment_id="0", user_id="u" * 257), "user"),
        (lambda s, r: s.create_experiment("e", artifact_location="a" * 1001), "artifact location"),
        (lambda s, r: s.create_experiment("e", tags={"k": "\x00"}), "'k'"),
        (lambda s, r: s.update_logged_model("m-" + "0" * 32, status_message="\x00"), "status_message"),
        (lambda s, r: s.log_inputs(r, datasets=[Dataset(name="d" * 501, digest="x")]), "dataset name"),
        (lambda s, r: s.log_inputs(r, datasets=[Dataset(name="d", digest="x" * 65)]), "dataset digest"),
        (lambda s, r: s.log_inputs(r, datasets=[Dataset(name="d\x00", digest="x")]), "dataset name"),
    ],
)
def test_values_too_long_or_unstorable(
    store: SqlStore, call: Callable[[SqlStore, str], object], needle: str
) -> None:
    run_id = store.create_run(experiment_id="0").info.run_id
    before = all_counts(store)
    with pytest.raises(InvalidArgumentError, match=re.escape(needle)):
        call(store, run_id)
    assert all_counts(store) == before


def test_update_run_with_bad_name(store: SqlStore) -> None:
    run_id = store.create_run(experiment_id="0", run_name="ok").info.run_id
    for bad in ("n" * 257, 5):
        with pytest.raises(InvalidArgumentError, match="run name"):
            store.update_run(run_id, run_name=bad)  # type: ignore[arg-type]
    assert store.get_run(run_id).info.run_name == "ok"


@pytest.mark.parametrize("bad_id", ["", " ", None, 7, "m-\x00", "\x00"], ids=repr)
def test_bad_ids_on_lookups(store: SqlStore, bad_id: Any) -> None:
    """Malformed ids are an argument error (or simply not found), never a database error."""
    for call in (
        lambda: store.get_logged_model(bad_id),
        lambda: store.get_run(bad_id),
        lambda: store.update_logged_model(bad_id, status="READY"),
        lambda: store.set_logged_model_tags(bad_id, {"a": "b"}),
        lambda: store.delete_logged_model_tag(bad_id, "a"),
        lambda: store.log_logged_model_params(bad_id, {"a": "b"}),
        lambda: store.log_batch(bad_id, tags={"a": "b"}),
        lambda: store.log_inputs(bad_id),
    ):
        with pytest.raises((InvalidArgumentError, NotFoundError)) as info:
            call()
        assert repr(bad_id) in str(info.value) or "needs a run id" in str(info.value)


@pytest.mark.parametrize(
    "lookup",
    [
        lambda s: s.get_experiment_by_name("a\x00"),
        lambda s: s.find_logged_model(experiment_id="0", name="a\x00"),
        lambda s: s.search_logged_models(experiment_ids=["0"], filter_string="name = 'a\x00'"),
        lambda s: s.search_logged_models(experiment_ids=["0"], filter_string="params.`k\x00` = 'a'"),
        lambda s: s.search_logged_models(experiment_ids=["0"], filter_string="tags.k IN ('a', '\x00')"),
        lambda s: s.search_logged_models(experiment_ids=["0"], datasets=[{"dataset_name": "\x00"}]),
        lambda s: s.search_runs(experiment_ids=["0"], filter_string="params.k = '\x00'"),
        lambda s: s.search_experiments(filter_string="name = '\x00'"),
    ],
)
def test_nul_in_lookups_finds_nothing_or_is_rejected(
    store: SqlStore, lookup: Callable[[SqlStore], Any]
) -> None:
    """No stored text can contain NUL, so a lookup with one matches nothing (or is rejected)."""
    try:
        result = lookup(store)
    except InvalidArgumentError as exc:
        assert "\\x00" in str(exc)
    else:
        assert not result
