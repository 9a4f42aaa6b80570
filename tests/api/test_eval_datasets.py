"""Evaluation datasets through the public API (``import genver as mlflow``): MLflow's
documentation snippets for ``mlflow.genai.datasets`` and ``MlflowClient``, and the errors that
name what is wrong."""

from __future__ import annotations

import pytest

import genver as mlflow
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.genai.datasets import EvaluationDataset

from .dataset_snippets import client_datasets, dataset_from_traces_and_evaluate, dataset_lifecycle


def test_the_issues_calls_verbatim() -> None:
    dataset = mlflow.genai.datasets.create_dataset(name="qa", experiment_id=["0"], tags={"team": "search"})
    assert isinstance(dataset, EvaluationDataset) and isinstance(dataset, mlflow.entities.EvaluationDataset)
    dataset.merge_records(
        [{"inputs": {"question": "Capital of France?"}, "expectations": {"answer": "Paris"}}]
    )
    assert dataset.to_df()["inputs"][0] == {"question": "Capital of France?"}
    client_dataset = mlflow.MlflowClient().create_dataset(name="from-client", experiment_id="0")
    assert client_dataset.experiment_id == "0" and dict(dataset.tags) == {"team": "search"}


def test_dataset_lifecycle() -> None:
    dataset_lifecycle(None)


def test_datasets_from_traces_and_evaluate() -> None:
    dataset_from_traces_and_evaluate(None)


def test_client_datasets() -> None:
    client_datasets(mlflow.MlflowClient())


def test_names_and_ids() -> None:
    exp = mlflow.create_experiment("other")
    a = mlflow.genai.datasets.create_dataset(name="golden")
    b = mlflow.genai.datasets.create_dataset(name="golden", experiment_id=exp)
    with pytest.raises(InvalidArgumentError, match="Several evaluation datasets are named 'golden'"):
        mlflow.genai.datasets.get_dataset(name="golden")
    assert mlflow.genai.datasets.get_dataset(name="golden", experiment_id=exp) == b
    assert mlflow.genai.datasets.get_dataset(a.dataset_id) == a  # an id where MLflow puts the name
    with pytest.raises(NotFoundError, match="No evaluation dataset named 'silver'"):
        mlflow.genai.datasets.get_dataset(name="silver")
    with pytest.raises(InvalidArgumentError, match="Pass exactly one of dataset_id or name"):
        mlflow.genai.datasets.get_dataset(name="golden", dataset_id=a.dataset_id)
    with pytest.raises(InvalidArgumentError, match="Databricks feature"):
        mlflow.genai.datasets.get_dataset(dataset_id=a.dataset_id, version=2)
    mlflow.genai.datasets.delete_dataset(dataset_id=b.dataset_id)
    mlflow.genai.datasets.delete_dataset(name="golden")  # now it names one dataset
    assert mlflow.genai.datasets.search_datasets() == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mlflow.genai.datasets.create_dataset(), "needs a name"),
        (
            lambda: mlflow.genai.datasets.create_dataset(name="x", experiment_id=["0", "1"]),
            r"Invalid experiment_id \['0', '1'\]: a genver dataset belongs to one experiment",
        ),
        (lambda: mlflow.genai.datasets.create_dataset(name="x").merge_records("q"), "Invalid records 'q'"),
        (
            lambda: mlflow.genai.datasets.create_dataset(name="x").merge_records([{"input": {"q": 1}}]),
            "Record 0 has unknown key 'input'",
        ),
        (
            lambda: mlflow.genai.datasets.create_dataset(name="x").merge_records([{"inputs": {}}]),
            r"Invalid inputs \{\} in row 0",
        ),
        (lambda: mlflow.genai.datasets.set_dataset_tags("d-" + "0" * 32, None), "needs tags"),  # type: ignore[arg-type]
        (lambda: mlflow.genai.datasets.search_datasets(max_results=0), "Invalid max_results 0"),
    ],
    ids=["no-name", "two-experiments", "string", "unknown-key", "empty-inputs", "no-tags", "max-results"],
)
def test_bad_input_is_named(call: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        call()  # type: ignore[operator]


def test_a_failed_merge_changes_nothing() -> None:
    dataset = mlflow.genai.datasets.create_dataset(name="x")
    dataset.merge_records([{"inputs": {"q": 1}}])
    digest = dataset.digest
    with pytest.raises(InvalidArgumentError, match=r"\{1, 2\}"):
        dataset.merge_records([{"inputs": {"q": 2}}, {"inputs": {"q": 3}, "expectations": {"e": {1, 2}}}])
    assert dataset.digest == digest and len(dataset.records) == 1
    assert mlflow.genai.datasets.get_dataset(dataset_id=dataset.dataset_id).digest == digest


def test_unknown_datasets() -> None:
    missing = "d-" + "0" * 32
    with pytest.raises(NotFoundError, match=missing):
        mlflow.genai.datasets.set_dataset_tags(missing, {"a": "b"})
    with pytest.raises(NotFoundError, match=missing):
        mlflow.genai.datasets.delete_dataset_tag(missing, "a")
    with pytest.raises(NotFoundError, match=missing):
        mlflow.genai.datasets.delete_dataset(dataset_id=missing)


def test_the_issues_trace_search_by_time() -> None:
    @mlflow.trace
    def answer(question: str) -> str:
        return question

    answer("hi")
    mlflow.flush_trace_async_logging()
    assert len(mlflow.search_traces(filter_string="timestamp >= '2999-12-06T00:57:06'")) == 0
    assert len(mlflow.search_traces(filter_string="timestamp >= '2000-01-01T00:00:00'")) == 1
    with pytest.raises(InvalidArgumentError, match="got 'last week'"):
        mlflow.search_traces(filter_string="timestamp >= 'last week'")


def test_stored_outputs_are_scored_through_to_df() -> None:
    """What the compatibility record says: a dataset's stored answers are scored by passing its
    DataFrame without predict_fn."""
    dataset = mlflow.genai.datasets.create_dataset(name="answered")
    dataset.merge_records(
        [
            {"inputs": {"q": "2+2?"}, "outputs": "4", "expectations": {"expected_response": "4"}},
            {"inputs": {"q": "3+3?"}, "outputs": "7", "expectations": {"expected_response": "6"}},
        ]
    )
    from genver.genai.scorers import ExactMatch

    data = dataset.to_df()[["inputs", "outputs", "expectations"]]
    result = mlflow.genai.evaluate(data=data, scorers=[ExactMatch()])
    assert result.metrics["exact_match/mean"] == 0.5
