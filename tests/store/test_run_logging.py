"""Logging metrics to runs and versions: the run's latest value (one conditional upsert), the
run's input list (a version is listed once), and the checks made before anything is written."""

from __future__ import annotations

import math

import pytest

from genver.entities import LoggedModelInput, Metric
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.sql.store import SqlStore

from ._helpers import T0, all_counts, count_rows


def _latest(store: SqlStore, run_id: str) -> dict[str, float]:
    return dict(store.get_run(run_id).data.metrics)


@pytest.mark.parametrize(
    ("logged", "expected"),
    [
        # (value, timestamp, step), logged one call each, in this order
        ([(1.0, T0, 5), (2.0, T0 + 10, 3)], 1.0),  # a lower step never replaces, even if later
        ([(1.0, T0 + 10, 3), (2.0, T0, 3)], 1.0),  # same step, older timestamp: kept
        ([(1.0, T0, 3), (2.0, T0, 3)], 2.0),  # same step and timestamp: the later call wins
        ([(1.0, T0, 3), (2.0, T0 + 1, 3)], 2.0),  # same step, newer timestamp
        ([(1.0, T0 + 10, 3), (2.0, T0, 4)], 2.0),  # a higher step wins, whatever its timestamp
        ([(1.0, T0, 0), (math.nan, T0, 1)], math.nan),  # NaN is stored and returned as NaN
        ([(math.nan, T0, 1), (3.0, T0, 1)], 3.0),
        ([(math.nan, T0, 2), (3.0, T0, 1)], math.nan),
    ],
)
def test_latest_value_is_the_highest_step_then_timestamp(
    store: SqlStore, logged: list[tuple[float, int, int]], expected: float
) -> None:
    run_id = store.create_run(experiment_id="0").info.run_id
    for value, ts, step in logged:
        store.log_batch(run_id, metrics=[Metric("m", value, ts, step)])
    got = _latest(store, run_id)["m"]
    assert (math.isnan(got) and math.isnan(expected)) or got == expected
    assert count_rows(store, "run_metrics") == len(logged)  # the history keeps every value


def test_latest_value_from_one_unordered_batch(store: SqlStore) -> None:
    run_id = store.create_run(experiment_id="0").info.run_id
    store.log_batch(run_id, metrics=[Metric("a", 9.0, T0 + 5, 7)])
    batch = [
        Metric("a", 1.0, T0, 8),
        Metric("a", 2.0, T0 + 9, 2),
        Metric("a", 3.0, T0 + 1, 8),  # the latest: step 8, newest timestamp
        Metric("b", 4.0, T0, 1),
        Metric("b", 5.0, T0, 1),  # a tie inside the batch: the later one wins
        Metric("a", 6.0, T0 + 1, 8),  # ... here too
    ]
    store.log_batch(run_id, metrics=batch)
    assert _latest(store, run_id) == {"a": 6.0, "b": 5.0}
    assert count_rows(store, "latest_metrics") == 2


def test_a_version_is_listed_once_among_the_run_s_inputs(store: SqlStore) -> None:
    run_id = store.create_run(experiment_id="0").info.run_id
    one = store.create_logged_model(experiment_id="0", name="one").model_id
    two = store.create_logged_model(experiment_id="0", name="two").model_id
    for step in range(3):
        store.log_batch(run_id, metrics=[Metric("acc", 0.5, T0, step, model_id=one)])
    store.log_batch(
        run_id, metrics=[Metric("acc", 0.5, T0, 9, model_id=one), Metric("f1", 0.1, T0, 9, model_id=two)]
    )
    store.log_inputs(run_id, model_ids=[two])
    inputs = store.get_run(run_id).inputs.model_inputs
    assert sorted(inputs, key=lambda i: i.model_id) == sorted(
        [LoggedModelInput(one), LoggedModelInput(two)], key=lambda i: i.model_id
    )
    assert count_rows(store, "run_inputs") == 2
    assert count_rows(store, "logged_model_metrics") == 5
    metrics = store.get_logged_model(one).metrics
    assert metrics is not None and [m.step for m in metrics] == [0, 1, 2, 9]
    assert all(m.run_id == run_id for m in metrics)


def test_nothing_is_written_for_a_missing_or_deleted_run_or_version(store: SqlStore) -> None:
    run_id = store.create_run(experiment_id="0").info.run_id
    model_id = store.create_logged_model(experiment_id="0", name="v").model_id
    gone = store.create_logged_model(experiment_id="0", name="gone").model_id
    store.update_logged_model(gone, deleted=True)
    deleted_run = store.create_run(experiment_id="0").info.run_id
    store.update_run(deleted_run, lifecycle_stage="deleted")
    before = all_counts(store)
    missing_run = "0123456789abcdef0123456789abcdef"
    missing_model = "m-" + "0" * 32
    cases = [
        (missing_run, [Metric("m", 1.0, T0, 0, model_id=model_id)], NotFoundError, missing_run),
        (deleted_run, [Metric("m", 1.0, T0, 0, model_id=model_id)], InvalidArgumentError, "deleted"),
        (run_id, [Metric("m", 1.0, T0, 0, model_id=gone)], NotFoundError, gone),
        (run_id, [Metric("m", 1.0, T0, 0, model_id=missing_model)], NotFoundError, missing_model),
        # several versions in one batch (the general path)
        (
            run_id,
            [Metric("m", 1.0, T0, 0, model_id=model_id), Metric("m", 1.0, T0, 0, model_id=gone)],
            NotFoundError,
            gone,
        ),
        (None, [Metric("m", 1.0, T0, 0, model_id=gone)], NotFoundError, gone),
    ]
    for run, metrics, error, text in cases:
        with pytest.raises(error, match=text):
            store.log_batch(run, metrics=metrics)
    assert all_counts(store) == before
