"""The module-level API end to end on a real SQLite file: experiments, runs, versions, metrics."""

from __future__ import annotations

import re
import time
from typing import Any

import pandas as pd
import pytest

import genver
from genver import LoggedModel, LoggedModelStatus, Metric
from genver.exceptions import AlreadyExistsError, InvalidArgumentError, NotFoundError

MODEL_COLUMNS = [
    "artifact_location",
    "creation_timestamp",
    "experiment_id",
    "last_updated_timestamp",
    "metrics",
    "model_id",
    "model_type",
    "name",
    "params",
    "source_run_id",
    "status",
    "status_message",
    "tags",
]


def _list(**kwargs: Any) -> list[LoggedModel]:
    found = genver.search_logged_models(output_format="list", **kwargs)
    assert isinstance(found, list)
    return found


# -- experiments ---------------------------------------------------------------------------------------


def test_default_experiment_exists() -> None:
    exp = genver.get_experiment("0")
    assert exp.name == "Default"
    assert exp.lifecycle_stage == "active"
    by_name = genver.get_experiment_by_name("Default")
    assert by_name is not None and by_name.experiment_id == "0"


def test_set_experiment_creates_then_reuses() -> None:
    assert genver.get_experiment_by_name("agents") is None

    created = genver.set_experiment("agents")
    again = genver.set_experiment(experiment_name="agents")

    assert created.name == "agents"
    assert again.experiment_id == created.experiment_id
    assert isinstance(created.experiment_id, str)
    assert genver.set_experiment(experiment_id=created.experiment_id).name == "agents"
    # versions and runs now go to it
    assert genver.create_external_model(name="agent-v1.0").experiment_id == created.experiment_id
    with genver.start_run() as run:
        assert run.info.experiment_id == created.experiment_id


def test_create_and_search_experiments() -> None:
    exp_id = genver.create_experiment("evals", tags={"team": "ml"})
    assert isinstance(exp_id, str)
    assert genver.get_experiment(exp_id).tags["team"] == "ml"
    with pytest.raises(AlreadyExistsError) as info:
        genver.create_experiment("evals")
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"

    names = sorted(e.name for e in genver.search_experiments())
    assert names == ["Default", "evals"]
    found = genver.search_experiments(filter_string="name = 'evals'")
    assert [e.experiment_id for e in found] == [exp_id]
    assert len(genver.search_experiments(max_results=1)) == 1


def test_deleted_experiment_cannot_be_set() -> None:
    exp_id = genver.create_experiment("old")
    genver.delete_experiment(exp_id)
    assert [e.name for e in genver.search_experiments()] == ["Default"]
    assert sorted(e.name for e in genver.search_experiments(view_type=genver.ViewType.ALL)) == [
        "Default",
        "old",
    ]
    with pytest.raises(InvalidArgumentError, match="'old'"):
        genver.set_experiment("old")


# -- runs ------------------------------------------------------------------------------------------------


def test_start_run_as_a_context_manager() -> None:
    assert genver.active_run() is None
    with genver.start_run(run_name="eval-1", tags={"team": "ml"}, description="first try") as run:
        active = genver.active_run()
        assert active is not None and active.info.run_id == run.info.run_id
        assert genver.last_active_run_id() == run.info.run_id
    assert genver.active_run() is None

    stored = genver.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.info.end_time is not None and stored.info.end_time >= stored.info.start_time
    assert stored.info.run_name == "eval-1"
    assert stored.data.tags["team"] == "ml"
    assert stored.data.tags["mlflow.note.content"] == "first try"
    assert stored.data.tags["mlflow.source.type"] == "LOCAL"


def test_nested_runs_record_the_parent() -> None:
    with genver.start_run() as parent:
        with pytest.raises(InvalidArgumentError, match=repr(parent.info.run_id)):
            genver.start_run()
        with genver.start_run(nested=True) as child:
            assert genver.last_active_run_id() == child.info.run_id
        assert genver.last_active_run_id() == parent.info.run_id
    child_run = genver.get_run(child.info.run_id)
    assert child_run.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert "mlflow.parentRunId" not in genver.get_run(parent.info.run_id).data.tags


def test_run_fails_when_the_block_raises() -> None:
    with pytest.raises(KeyError), genver.start_run() as run:
        raise KeyError("boom")
    assert genver.get_run(run.info.run_id).info.status == "FAILED"
    assert genver.active_run() is None


def test_end_run_with_a_status_and_resume() -> None:
    run = genver.start_run()
    genver.end_run("KILLED")
    assert genver.get_run(run.info.run_id).info.status == "KILLED"
    genver.end_run()  # no active run: a no-op
    with genver.start_run(run_id=run.info.run_id) as resumed:
        assert resumed.info.run_id == run.info.run_id
        assert genver.get_run(run.info.run_id).info.status == "RUNNING"
    assert genver.get_run(run.info.run_id).info.status == "FINISHED"


def test_end_run_with_a_bad_status_keeps_the_run_active() -> None:
    with genver.start_run() as run:
        with pytest.raises(InvalidArgumentError, match="'DONE'"):
            genver.end_run("DONE")
        assert genver.last_active_run_id() == run.info.run_id
    assert genver.get_run(run.info.run_id).info.status == "FINISHED"


def test_logging_params_tags_and_metrics_on_a_run() -> None:
    with genver.start_run() as run:
        assert genver.log_param("llm", "gpt-4") == "gpt-4"
        genver.log_params({"temperature": 0.7, "k": 5})  # run params are stringified, as in MLflow
        genver.set_tag("stage", "dev")
        genver.set_tags({"owner": "ana", "priority": 1})
        genver.log_metric("accuracy", 0.5, step=0)
        genver.log_metric("accuracy", 0.75, step=1)
        genver.log_metrics({"latency_ms": 120.0, "cost": 3})

    data = genver.get_run(run.info.run_id).data
    assert data.params == {"llm": "gpt-4", "temperature": "0.7", "k": "5"}
    assert data.tags["stage"] == "dev"
    assert data.tags["owner"] == "ana"
    assert data.tags["priority"] == "1"
    assert data.metrics == {"accuracy": 0.75, "latency_ms": 120.0, "cost": 3.0}


def test_search_runs_as_list_and_pandas() -> None:
    with genver.start_run(run_name="a") as a:
        genver.log_metric("acc", 0.9)
        genver.log_param("llm", "gpt-4")
        genver.set_tag("team", "ml")
    with genver.start_run(run_name="b") as b:
        genver.log_metric("acc", 0.4)

    runs = genver.search_runs(output_format="list")
    assert isinstance(runs, list)
    assert {r.info.run_id for r in runs} == {a.info.run_id, b.info.run_id}
    good = genver.search_runs(filter_string="metrics.acc > 0.5", output_format="list")
    assert [r.info.run_id for r in good] == [a.info.run_id]
    ordered = genver.search_runs(order_by=["metrics.acc ASC"], output_format="list")
    assert [r.info.run_id for r in ordered] == [b.info.run_id, a.info.run_id]
    assert len(genver.search_runs(max_results=1, output_format="list")) == 1
    by_id = genver.search_runs(experiment_ids="0", output_format="list")
    assert len(by_id) == 2

    frame = genver.search_runs()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 2
    for column in ("run_id", "experiment_id", "status", "start_time", "end_time"):
        assert column in frame.columns
    row = frame[frame["run_id"] == a.info.run_id].iloc[0]
    assert row["metrics.acc"] == 0.9
    assert row["params.llm"] == "gpt-4"
    assert row["tags.team"] == "ml"
    assert row["status"] == "FINISHED"
    assert genver.search_runs(experiment_names=["nope"], output_format="list") == []


def test_search_runs_bad_output_format() -> None:
    with pytest.raises(InvalidArgumentError, match="'bogus'"):
        genver.search_runs(output_format="bogus")


# -- versions --------------------------------------------------------------------------------------------


def test_initialize_then_finalize() -> None:
    model = genver.initialize_logged_model(name="agent-v1.0", model_type="agent", params={"llm": "gpt-4"})
    assert model.status == LoggedModelStatus.PENDING
    assert "mlflow.model.isExternal" not in model.tags
    assert genver.last_logged_model() is not None
    assert genver.last_logged_model().model_id == model.model_id  # type: ignore[union-attr]

    ready = genver.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    assert ready.status == "READY"
    assert ready.last_updated_timestamp >= model.last_updated_timestamp
    failed = genver.finalize_logged_model(model.model_id, "FAILED", status_message="upload broke")
    assert failed.status == LoggedModelStatus.FAILED
    assert failed.status_message == "upload broke"
    assert genver.get_logged_model(model.model_id).status == "FAILED"


def test_logged_model_fields() -> None:
    model = genver.create_external_model(name="agent-v1.0", model_type="agent", params={"llm": "gpt-4"})

    assert re.fullmatch(r"m-[0-9a-f]{32}", model.model_id)
    assert model.model_uri == f"models:/{model.model_id}"
    assert model.metrics is None
    assert model.params == {"llm": "gpt-4"}
    assert model.experiment_id == "0"
    assert model.artifact_location.endswith(f"/models/{model.model_id}/artifacts")
    now = time.time() * 1000
    assert now - 60_000 < model.creation_timestamp <= now + 1000  # milliseconds since the epoch
    assert model.tags["mlflow.source.type"] == "LOCAL"


def test_to_dictionary() -> None:
    model = genver.create_external_model(name="agent-v1.0", params={"llm": "gpt-4"}, tags={"team": "ml"})

    d = model.to_dictionary()

    assert sorted(d) == MODEL_COLUMNS
    assert "model_uri" not in d
    assert d["status"] == 2
    assert genver.initialize_logged_model().to_dictionary()["status"] == 1
    assert d["params"] == {"llm": "gpt-4"}
    assert d["tags"]["team"] == "ml"
    assert d["metrics"] is None
    assert d["model_id"] == model.model_id


def test_repr_is_sorted_and_omits_tags_params_metrics() -> None:
    model = genver.create_external_model(name="agent-v1.0", params={"secret": "p"}, tags={"hidden": "t"})

    text = repr(model)

    assert text.startswith("LoggedModel(")
    keys = re.findall(r"(\w+)=", text)
    assert keys == sorted(keys)
    # MLflow's fields, and genver's aliases (a version's aliases are part of what it is)
    assert set(keys) == (set(MODEL_COLUMNS) | {"aliases"}) - {"tags", "params", "metrics"}
    assert "secret" not in text and "hidden" not in text
    assert f"model_id={model.model_id!r}" in text


def test_iterating_a_model_yields_property_value_pairs() -> None:
    model = genver.create_external_model(name="agent-v1.0")
    pairs = dict(model)
    assert pairs["model_id"] == model.model_id
    assert pairs["name"] == "agent-v1.0"
    assert pairs["model_uri"] == f"models:/{model.model_id}"
    assert pairs["status"] == LoggedModelStatus.READY
    assert set(pairs) == set(MODEL_COLUMNS) | {"model_uri", "aliases"}


def test_search_logged_models_list_and_pandas() -> None:
    a = genver.create_external_model(name="agent-v1.0", params={"llm": "gpt-4"}, tags={"env": "prod"})
    time.sleep(0.005)
    b = genver.create_external_model(name="agent-v2.0", params={"llm": "claude"})
    time.sleep(0.005)
    c = genver.initialize_logged_model(name="agent-v3.0")

    assert [m.model_id for m in _list()] == [c.model_id, b.model_id, a.model_id]  # newest first
    assert [m.model_id for m in _list(filter_string="params.llm = 'gpt-4'")] == [a.model_id]
    assert [m.model_id for m in _list(filter_string="tags.env = 'prod' AND status = 'READY'")] == [a.model_id]
    assert [m.name for m in _list(filter_string="name LIKE 'agent-v%' AND status != 'READY'")] == [
        "agent-v3.0"
    ]
    assert [m.model_id for m in _list(max_results=2)] == [c.model_id, b.model_id]
    ordered = _list(order_by=[{"field_name": "name", "ascending": True}])
    assert [m.name for m in ordered] == ["agent-v1.0", "agent-v2.0", "agent-v3.0"]
    assert [m.model_id for m in _list(experiment_ids=["0"])] == [c.model_id, b.model_id, a.model_id]
    assert len(_list(experiment_ids="0")) == 3  # one id, not its characters

    frame = genver.search_logged_models()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == MODEL_COLUMNS
    assert frame["status"].tolist() == ["PENDING", "READY", "READY"]
    assert frame["model_id"].tolist() == [c.model_id, b.model_id, a.model_id]
    assert frame["params"].tolist()[2] == {"llm": "gpt-4"}

    empty = genver.search_logged_models(filter_string="name = 'nope'")
    assert list(empty.columns) == MODEL_COLUMNS and len(empty) == 0


def test_search_logged_models_pages_through_everything() -> None:
    client = genver.GenverClient()
    try:
        ids = {client.create_logged_model("0", name=f"v{i}").model_id for i in range(105)}
    finally:
        client.close()
    assert {m.model_id for m in _list()} == ids
    assert len(_list(max_results=101)) == 101


def test_search_logged_models_bad_output_format() -> None:
    with pytest.raises(InvalidArgumentError, match="'bogus'") as info:
        genver.search_logged_models(output_format="bogus")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_model_params_and_tags() -> None:
    model = genver.create_external_model(name="agent-v1.0", tags={"env": "dev"})

    genver.log_model_params({"llm": "gpt-4"}, model_id=model.model_id)
    genver.set_logged_model_tags(model.model_id, {"env": "prod", "owner": "ana"})
    genver.delete_logged_model_tag(model.model_id, "owner")

    stored = genver.get_logged_model(model.model_id)
    assert stored.params == {"llm": "gpt-4"}
    assert stored.tags["env"] == "prod"
    assert "owner" not in stored.tags
    with pytest.raises(NotFoundError, match="'owner'") as info:
        genver.delete_logged_model_tag(model.model_id, "owner")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_model_ops_default_to_the_active_model() -> None:
    with genver.set_active_model(name="agent-v1.0") as model:
        genver.log_model_params({"llm": "gpt-4"})
        genver.set_logged_model_tags(None, {"env": "prod"})
    stored = genver.get_logged_model(model.model_id)
    assert stored.params == {"llm": "gpt-4"}
    assert stored.tags["env"] == "prod"
    with pytest.raises(InvalidArgumentError, match="no active model"):
        genver.log_model_params({"llm": "gpt-4"})


def test_last_logged_model() -> None:
    assert genver.last_logged_model() is None
    genver.create_external_model(name="agent-v1.0")
    second = genver.initialize_logged_model(name="agent-v2.0")
    last = genver.last_logged_model()
    assert last is not None and last.model_id == second.model_id


# -- metrics on versions ----------------------------------------------------------------------------------


def test_log_metric_with_an_explicit_model_id() -> None:
    model = genver.create_external_model(name="agent-v1.0")
    with genver.start_run() as run:
        genver.log_metric("accuracy", 0.9, step=2, model_id=model.model_id)

    (metric,) = genver.get_logged_model(model.model_id).metrics or []
    assert isinstance(metric, Metric)
    assert (metric.key, metric.value, metric.step) == ("accuracy", 0.9, 2)
    assert metric.model_id == model.model_id
    assert metric.run_id == run.info.run_id
    assert metric.dataset_name is None and metric.dataset_digest is None
    assert genver.get_run(run.info.run_id).data.metrics == {"accuracy": 0.9}


def test_log_metric_defaults_to_the_active_model() -> None:
    other = genver.create_external_model(name="other")
    with genver.start_run(), genver.set_active_model(name="agent-v1.0") as model:
        genver.log_metric("accuracy", 0.8)
        genver.log_metrics({"latency": 1.5, "cost": 0.1})
    genver.log_metric("after", 1.0)  # no active model any more: the run only

    stored = genver.get_logged_model(model.model_id)
    assert sorted(m.key for m in stored.metrics or []) == ["accuracy", "cost", "latency"]
    assert genver.get_logged_model(other.model_id).metrics is None
    hits = _list(filter_string="metrics.accuracy > 0.5")
    assert [m.model_id for m in hits] == [model.model_id]


def test_log_metric_without_a_run_starts_one_that_stays_active() -> None:
    assert genver.active_run() is None
    genver.log_metric("accuracy", 0.5)
    run = genver.active_run()
    assert run is not None
    assert run.info.status == "RUNNING"
    genver.log_metric("accuracy", 0.6)
    assert genver.last_active_run_id() == run.info.run_id
    genver.end_run()
    assert genver.get_run(run.info.run_id).data.metrics == {"accuracy": 0.6}


def test_log_metric_on_a_dataset_and_search_by_dataset() -> None:
    eval_set = genver.data.from_dict(
        {"q": ["2+2", "capital of France"], "a": ["4", "Paris"]}, name="eval-set"
    )
    other_set = genver.data.from_dict([{"q": "hi", "a": "hello"}], name="smoke")
    assert eval_set.name == "eval-set" and re.fullmatch(r"[0-9a-f]+", eval_set.digest)
    low = genver.create_external_model(name="agent-v1.0")
    high = genver.create_external_model(name="agent-v2.0")
    none = genver.create_external_model(name="agent-v3.0")
    smoke_only = genver.create_external_model(name="agent-v4.0")

    with genver.start_run() as run:
        genver.log_metric("accuracy", 0.5, model_id=low.model_id, dataset=eval_set)
        genver.log_metric("accuracy", 0.9, model_id=high.model_id, dataset=eval_set)
        genver.log_metric("accuracy", 0.99, model_id=smoke_only.model_id, dataset=other_set)

    (metric,) = genver.get_logged_model(high.model_id).metrics or []
    assert (metric.dataset_name, metric.dataset_digest) == ("eval-set", eval_set.digest)
    assert metric.run_id == run.info.run_id
    inputs = genver.get_run(run.info.run_id).inputs
    assert {d.dataset.name for d in inputs.dataset_inputs} == {"eval-set", "smoke"}

    on_eval = _list(datasets=[{"dataset_name": "eval-set"}])
    assert {m.model_id for m in on_eval} == {low.model_id, high.model_id}
    with_digest = _list(datasets=[{"dataset_name": "eval-set", "dataset_digest": eval_set.digest}])
    assert {m.model_id for m in with_digest} == {low.model_id, high.model_id}
    assert _list(datasets=[{"dataset_name": "eval-set", "dataset_digest": "0" * 16}]) == []
    good = _list(filter_string="metrics.accuracy > 0.6", datasets=[{"dataset_name": "eval-set"}])
    assert [m.model_id for m in good] == [high.model_id]

    ranked = _list(
        order_by=[{"field_name": "metrics.accuracy", "ascending": False, "dataset_name": "eval-set"}]
    )
    assert [m.model_id for m in ranked][:2] == [high.model_id, low.model_id]
    assert {m.model_id for m in ranked[2:]} == {none.model_id, smoke_only.model_id}  # no value: last
    ascending = _list(
        order_by=[{"field_name": "metrics.accuracy", "ascending": True, "dataset_name": "eval-set"}]
    )
    assert [m.model_id for m in ascending][:2] == [low.model_id, high.model_id]


def test_dataset_from_pandas_has_a_content_digest() -> None:
    frame = pd.DataFrame({"q": ["a", "b"], "a": ["x", "y"]})
    first = genver.data.from_pandas(frame, name="eval")
    second = genver.data.from_pandas(frame.copy(), name="eval")
    changed = genver.data.from_pandas(pd.DataFrame({"q": ["a", "c"], "a": ["x", "y"]}), name="eval")
    assert first.digest == second.digest != changed.digest
    assert first.name == "eval"
    assert genver.data.from_dict({"q": ["a"]}).digest == genver.data.from_dict({"q": ["a"]}).digest


# -- the explicit client -----------------------------------------------------------------------------------


def test_client_explicit_id_operations() -> None:
    assert genver.MlflowClient is genver.GenverClient
    client = genver.MlflowClient()
    try:
        exp_id = client.create_experiment("client-exp")
        model = client.create_logged_model(
            exp_id, name="agent-v1.0", params={"llm": "gpt-4"}, model_type="agent"
        )
        assert model.status == LoggedModelStatus.PENDING
        assert model.experiment_id == exp_id

        run = client.create_run(exp_id)
        client.log_metric(run.info.run_id, "accuracy", 0.7, model_id=model.model_id)
        client.log_model_params(model.model_id, {"k": "5"})
        client.set_logged_model_tags(model.model_id, {"env": "prod"})
        client.delete_logged_model_tag(model.model_id, "env")
        finalized = client.finalize_logged_model(model.model_id, "READY")
        assert finalized.status == LoggedModelStatus.READY
        client.set_terminated(run.info.run_id)

        stored = client.get_logged_model(model.model_id)
        assert stored.params == {"llm": "gpt-4", "k": "5"}
        assert "env" not in stored.tags
        assert [(m.key, m.value, m.run_id) for m in stored.metrics or []] == [
            ("accuracy", 0.7, run.info.run_id)
        ]
        page = client.search_logged_models([exp_id], filter_string="name = 'agent-v1.0'")
        assert [m.model_id for m in page] == [model.model_id]
        assert client.get_run(run.info.run_id).info.status == "FINISHED"

        client.delete_logged_model(model.model_id)
        with pytest.raises(NotFoundError) as info:
            client.get_logged_model(model.model_id)
        assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
        assert list(client.search_logged_models([exp_id])) == []
    finally:
        client.close()
    # the module-level API sees the same store
    assert genver.get_experiment_by_name("client-exp") is not None


def test_end_run_inside_the_block_then_exit_leaves_other_runs_alone() -> None:
    with genver.start_run() as parent:
        with genver.start_run(nested=True) as child:
            genver.end_run()  # ends the child early
        assert genver.last_active_run_id() == parent.info.run_id
        assert genver.get_run(parent.info.run_id).info.status == "RUNNING"
    assert genver.get_run(child.info.run_id).info.status == "FINISHED"
    assert genver.get_run(parent.info.run_id).info.status == "FINISHED"

    with genver.start_run() as first:
        genver.end_run("KILLED")
        second = genver.start_run()
    assert genver.last_active_run_id() == second.info.run_id  # not ended by first's exit
    assert genver.get_run(second.info.run_id).info.status == "RUNNING"
    assert genver.get_run(first.info.run_id).info.status == "KILLED"
    genver.end_run()
