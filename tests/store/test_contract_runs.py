"""Store contract: runs, their params (write-once), tags (upsert), metrics and search."""

from __future__ import annotations

import pytest

from genver.entities import Dataset, LoggedModelInput, Metric, ViewType
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.sql.store import SqlStore

from ._helpers import T0, all_counts, clocked, count_rows


def test_create_and_get_run(store: SqlStore) -> None:
    run = store.create_run(experiment_id="0")
    assert len(run.info.run_id) == 32 and run.info.run_uuid == run.info.run_id
    assert run.info.experiment_id == "0"
    assert run.info.status == "RUNNING" and run.info.end_time is None
    assert run.info.run_name and run.data.tags["mlflow.runName"] == run.info.run_name
    assert run.info.run_id in run.info.artifact_uri
    assert (dict(run.data.params), dict(run.data.metrics)) == ({}, {})

    named = store.create_run(
        experiment_id="0", run_name="eval-1", start_time=T0, tags={"team": "ml"}, user_id="ana"
    )
    got = store.get_run(named.info.run_id)
    assert (got.info.run_name, got.info.start_time, got.info.user_id) == ("eval-1", T0, "ana")
    assert got.data.tags == {"team": "ml", "mlflow.runName": "eval-1"}
    from_tag = store.create_run(experiment_id="0", tags={"mlflow.runName": "tagged"})
    assert from_tag.info.run_name == "tagged"

    with pytest.raises(NotFoundError, match="'0123456789abcdef0123456789abcdef'") as info:
        store.get_run("0123456789abcdef0123456789abcdef")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(NotFoundError, match="'77'"):
        store.create_run(experiment_id="77")


def test_update_run(store: SqlStore) -> None:
    run_id = store.create_run(experiment_id="0", run_name="a").info.run_id
    done = store.update_run(run_id, status="finished", end_time=T0 + 5, run_name="b")
    assert (done.info.status, done.info.end_time, done.info.run_name) == ("FINISHED", T0 + 5, "b")
    assert done.data.tags["mlflow.runName"] == "b"
    with pytest.raises(InvalidArgumentError, match="'DONE'"):
        store.update_run(run_id, status="done")
    with pytest.raises(InvalidArgumentError, match="'gone'"):
        store.update_run(run_id, lifecycle_stage="gone")
    with pytest.raises(NotFoundError):
        store.update_run("f" * 32, status="FINISHED")
    assert store.get_run(run_id).info.status == "FINISHED"

    store.update_run(run_id, lifecycle_stage="deleted")
    assert store.get_run(run_id).info.lifecycle_stage == "deleted"
    assert store.search_runs(experiment_ids=["0"]) == []
    assert [r.info.run_id for r in store.search_runs(experiment_ids=["0"], view_type=ViewType.ALL)] == [
        run_id
    ]
    with pytest.raises(InvalidArgumentError, match="deleted"):
        store.log_batch(run_id, tags={"a": "b"})


def test_params_are_write_once(store: SqlStore) -> None:
    run_id = store.create_run(experiment_id="0").info.run_id
    store.log_batch(run_id, params={"lr": "0.1", "model": "gpt-4"})
    store.log_batch(run_id, params={"lr": "0.1"})  # same value again: fine
    store.log_batch(run_id, params={"new": "x"})
    before = all_counts(store)
    with pytest.raises(InvalidArgumentError, match=r"'lr' is '0\.1', not '0\.2'") as info:
        store.log_batch(
            run_id,
            params={"other": "y", "lr": "0.2"},
            tags={"t": "1"},
            metrics=[Metric("loss", 1.0, T0, 0)],
        )
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert all_counts(store) == before  # the whole batch was rolled back
    assert store.get_run(run_id).data.params == {"lr": "0.1", "model": "gpt-4", "new": "x"}


def test_tags_upsert(store: SqlStore) -> None:
    run_id = store.create_run(experiment_id="0", run_name="r").info.run_id
    store.log_batch(run_id, tags={"env": "dev", "team": "ml"})
    store.log_batch(run_id, tags={"env": "prod"})
    assert store.get_run(run_id).data.tags == {"env": "prod", "team": "ml", "mlflow.runName": "r"}


def test_metric_history_and_latest(store: SqlStore) -> None:
    run_id = store.create_run(experiment_id="0").info.run_id
    store.log_batch(run_id, metrics=[Metric("loss", 3.0, T0, 0), Metric("loss", 2.0, T0 + 1, 1)])
    store.log_batch(run_id, metrics=[Metric("loss", 1.0, T0 + 2, 2), Metric("acc", 0.5, T0, 0)])
    assert store.get_run(run_id).data.metrics == {"loss": 1.0, "acc": 0.5}
    store.log_batch(run_id, metrics=[Metric("loss", 9.0, T0 + 3, 1)])  # an older step: history only
    assert store.get_run(run_id).data.metrics["loss"] == 1.0
    store.log_batch(run_id, metrics=[Metric("loss", 0.5, T0 + 4, 2)])  # same step, later: latest
    assert store.get_run(run_id).data.metrics["loss"] == 0.5
    assert count_rows(store, "run_metrics") == 6
    assert count_rows(store, "logged_model_metrics") == 0


def test_metrics_with_model_and_dataset(store: SqlStore) -> None:
    run_id = store.create_run(experiment_id="0").info.run_id
    model_id = store.create_logged_model(experiment_id="0", name="v1").model_id
    store.log_batch(
        run_id,
        metrics=[
            Metric("acc", 0.8, T0, 0, model_id=model_id, dataset_name="eval", dataset_digest="d1"),
            Metric("plain", 1.0, T0, 0),
        ],
    )
    run = store.get_run(run_id)
    assert run.data.metrics == {"acc": 0.8, "plain": 1.0}
    assert run.inputs.model_inputs == [LoggedModelInput(model_id)]
    model = store.get_logged_model(model_id)
    assert model.metrics is not None and len(model.metrics) == 1
    m = model.metrics[0]
    assert (m.key, m.value, m.timestamp, m.step, m.model_id, m.run_id) == (
        "acc",
        0.8,
        T0,
        0,
        model_id,
        run_id,
    )
    assert (m.dataset_name, m.dataset_digest) == ("eval", "d1")

    # Without a run: only the version gets the value.
    store.log_batch(None, metrics=[Metric("acc", 0.9, T0 + 1, 1, model_id=model_id)])
    model = store.get_logged_model(model_id)
    assert model.metrics is not None and [x.run_id for x in model.metrics] == [run_id, None]
    with pytest.raises(InvalidArgumentError, match="run id"):
        store.log_batch(None, metrics=[Metric("acc", 0.9, T0, 0)])

    # An unknown model: nothing at all is written.
    before = all_counts(store)
    with pytest.raises(NotFoundError, match="m-0000"):
        store.log_batch(run_id, metrics=[Metric("x", 1.0, T0, 0, model_id="m-" + "0" * 32)])
    assert all_counts(store) == before


def test_log_inputs_is_idempotent(store: SqlStore) -> None:
    run_id = store.create_run(experiment_id="0").info.run_id
    model_id = store.create_logged_model(experiment_id="0").model_id
    ds = Dataset(name="eval", digest="abc123", source="inline")
    for _ in range(2):
        store.log_inputs(run_id, datasets=[ds], model_ids=[model_id])
    run = store.get_run(run_id)
    assert [d.dataset for d in run.inputs.dataset_inputs] == [ds]
    assert run.inputs.model_inputs == [LoggedModelInput(model_id)]
    with pytest.raises(NotFoundError):
        store.log_inputs(run_id, model_ids=["m-" + "f" * 32])
    with pytest.raises(InvalidArgumentError):
        store.log_inputs(run_id, datasets=[{"name": "x"}])  # type: ignore[list-item]


def test_search_runs(store: SqlStore) -> None:
    s = clocked(store)
    exp = s.create_experiment("e")
    runs = {}
    for name, params, tags, metrics in [
        ("r1", {"llm": "gpt-4"}, {"env": "prod"}, {"acc": 0.9}),
        ("r2", {"llm": "gpt-3.5"}, {"env": "dev"}, {"acc": 0.7}),
        ("r3", {"llm": "GPT-4"}, {"env": "prod"}, {}),
        ("r4", {}, {}, {"acc": 0.8}),
    ]:
        run_id = s.create_run(experiment_id=exp, run_name=name).info.run_id
        s.log_batch(
            run_id,
            params=params,
            tags=tags,
            metrics=[Metric(k, v, T0, 0) for k, v in metrics.items()],
        )
        runs[name] = run_id
    s.update_run(runs["r2"], status="FINISHED")
    s.create_run(experiment_id="0", run_name="elsewhere")

    def names(filter_string: str | None = None, order_by: list[str] | None = None) -> list[str]:
        found = store.search_runs(experiment_ids=[exp], filter_string=filter_string, order_by=order_by)
        return [r.info.run_name for r in found]

    assert names() == ["r4", "r3", "r2", "r1"]  # newest first
    assert names("params.llm = 'gpt-4'") == ["r1"]
    assert names("params.llm ILIKE 'gpt-4'") == ["r3", "r1"]
    assert names("params.llm LIKE 'gpt%'") == ["r2", "r1"]
    assert names("tags.env = 'prod' AND metrics.acc > 0.5") == ["r1"]
    assert names("metrics.acc >= 0.8") == ["r4", "r1"]
    assert names("attributes.status = 'FINISHED'") == ["r2"]
    assert names("run_name IN ('r1', 'r3')") == ["r3", "r1"]
    assert names("params.llm != 'gpt-4'") == ["r3", "r2"]  # runs without the param never match
    assert names(order_by=["metrics.acc DESC"]) == ["r1", "r4", "r2", "r3"]  # missing value last
    assert names(order_by=["metrics.acc ASC"]) == ["r2", "r4", "r1", "r3"]
    # (mixed-case values are left out: their order depends on the PostgreSQL collation)
    assert names("params.llm LIKE 'gpt%'", order_by=["params.llm ASC"]) == ["r2", "r1"]
    assert names("params.llm LIKE 'gpt%'", order_by=["params.llm DESC"]) == ["r1", "r2"]
    assert names(order_by=["run_name"]) == ["r1", "r2", "r3", "r4"]
    assert len(store.search_runs(experiment_ids=[exp, "0"])) == 5

    seen: list[str] = []
    token = None
    while True:
        page = store.search_runs(experiment_ids=[exp, "0"], max_results=2, page_token=token)
        seen += [r.info.run_id for r in page]
        token = page.token
        if token is None:
            break
    assert len(seen) == len(set(seen)) == 5
    with pytest.raises(InvalidArgumentError, match="page token"):
        store.search_runs(experiment_ids=[exp], page_token="eyJvZmZzZXQiOiAtMX0=")  # offset -1
    with pytest.raises(InvalidArgumentError):
        store.search_runs(experiment_ids=[exp], filter_string="metrics.acc > 'high'")
