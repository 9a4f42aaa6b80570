"""MLflow 3's evaluation-dataset documentation, as functions of a genver instance (``None``: the
default one behind ``import genver as mlflow``), so tests/api runs them on SQLite and
tests/server through a genver server."""

from __future__ import annotations

from typing import Any

import genver
from genver.entities import AssessmentSource, Expectation
from genver.fluent import Genver
from genver.genai import datasets
from genver.genai.scorers import ExactMatch

TEST_CASES = [
    {
        "inputs": {"question": "What is MLflow?"},
        "expectations": {"expected_response": "An open source platform", "key_topics": ["tracking"]},
    },
    {
        "inputs": {"question": "How do I log a metric?"},
        "expectations": {"expected_response": "mlflow.log_metric"},
        "tags": {"topic": "tracking"},
    },
]


def _gv(gv: Genver | None) -> Genver:
    return gv if gv is not None else genver._default


def dataset_lifecycle(gv: Genver | None) -> None:
    """create_dataset with a list of experiment ids and tags, merge_records (dicts, a DataFrame,
    again to merge), to_df, schema, digest; get by name and id; tags; search; delete."""
    import pandas as pd

    dataset = datasets.create_dataset(
        name="customer_support_qa_v1",
        experiment_id=["0"],
        tags={"version": "1.0", "purpose": "regression_testing"},
        genver=gv,
    )
    empty_digest = dataset.digest
    assert dataset.records == [] and dataset.schema is None and dataset.experiment_ids == ["0"]
    assert dataset.merge_records(TEST_CASES) is dataset  # returns itself, updated in place
    assert len(dataset.records) == 2 and dataset.digest != empty_digest
    df = dataset.to_df()
    assert list(df.columns)[:9] == [
        "inputs",
        "outputs",
        "expectations",
        "tags",
        "source_type",
        "source_id",
        "source",
        "created_time",
        "dataset_record_id",
    ]
    assert list(df["source_type"]) == ["HUMAN", "HUMAN"]
    assert df["expectations"][1] == {"expected_response": "mlflow.log_metric"}
    assert '"question": "string"' in (dataset.schema or "")

    # a DataFrame with the same question merges its expectations into the stored record
    more = pd.DataFrame(
        [
            {"inputs": {"question": "How do I log a metric?"}, "expectations": {"key_topics": ["metrics"]}},
            {"inputs": {"question": "What is a run?"}, "expectations": None},
        ]
    )
    dataset.merge_records(more)
    by_question = {r.inputs["question"]: r for r in dataset.records}
    assert len(by_question) == 3
    assert dict(by_question["How do I log a metric?"].expectations) == {
        "expected_response": "mlflow.log_metric",
        "key_topics": ["metrics"],
    }
    assert by_question["What is a run?"].source_type == "CODE"

    by_name = datasets.get_dataset(name="customer_support_qa_v1", genver=gv)
    assert by_name == dataset and by_name.digest == dataset.digest
    assert datasets.get_dataset(dataset_id=dataset.dataset_id, genver=gv).to_df().shape[0] == 3

    datasets.set_dataset_tags(
        dataset_id=dataset.dataset_id, tags={"environment": "production", "purpose": None}, genver=gv
    )
    datasets.delete_dataset_tag(dataset_id=dataset.dataset_id, key="version", genver=gv)
    assert dict(datasets.get_dataset(dataset_id=dataset.dataset_id, genver=gv).tags) == {
        "environment": "production"
    }

    found = datasets.search_datasets(filter_string="tags.environment = 'production'", genver=gv)
    assert [d.dataset_id for d in found] == [dataset.dataset_id]
    assert len(found[0].records) == 3  # a search result loads its records on first use
    assert [d.name for d in datasets.search_datasets(genver=gv)] == ["customer_support_qa_v1"]  # last 7 days
    assert datasets.search_datasets(experiment_ids="0", order_by=["name ASC"], max_results=5, genver=gv)

    datasets.delete_dataset(dataset_id=dataset.dataset_id, genver=gv)
    assert datasets.search_datasets(genver=gv) == []


def dataset_from_traces_and_evaluate(gv: Genver | None) -> None:
    """Records from production traces (search_traces' DataFrame and a list of traces), with
    their expectations, then genai.evaluate on the dataset and on a search result."""
    g = _gv(gv)

    @g.trace
    def answer(question: str) -> str:
        return {"What is MLflow?": "An open source platform"}.get(question, "I don't know")

    for q in ("What is MLflow?", "What is genver?"):
        answer(q)
    g.flush_trace_async_logging()
    traces = g.search_traces(filter_string="timestamp >= '2000-01-01T00:00:00'")
    listed: Any = g.search_traces(return_type="list")
    (first,) = [t for t in listed if t.data.root.inputs == {"question": "What is MLflow?"}]
    g.log_assessment(
        first.info.trace_id,
        Expectation(
            name="expected_response", value="An open source platform", source=AssessmentSource("HUMAN", "ana")
        ),
    )

    dataset = datasets.create_dataset(name="from_production", genver=gv)
    dataset.merge_records(traces)  # the DataFrame search_traces returns
    assert sorted(r.inputs["question"] for r in dataset.records) == ["What is MLflow?", "What is genver?"]
    assert {r.source_type for r in dataset.records} == {"TRACE"}
    assert {r.outputs for r in dataset.records} == {"An open source platform", "I don't know"}
    dataset.merge_records(g.search_traces(return_type="list", include_spans=False))  # spans loaded as needed
    labelled = [r for r in dataset.records if r.expectations]
    assert len(dataset.records) == 2 and [dict(r.expectations) for r in labelled] == [
        {"expected_response": "An open source platform"}
    ]

    result: Any = genver.genai.evaluate(data=dataset, predict_fn=answer, scorers=[ExactMatch()], genver=gv)
    assert result.metrics["exact_match/mean"] == 1.0  # the labelled record; the other has no expectation
    searched = datasets.search_datasets(filter_string="name = 'from_production'", genver=gv)[0]
    again: Any = genver.genai.evaluate(data=searched, predict_fn=answer, scorers=[ExactMatch()], genver=gv)
    assert again.metrics["exact_match/mean"] == 1.0


def client_datasets(client: Any) -> None:
    """``MlflowClient``'s dataset calls, MLflow's names and arguments."""
    dataset = client.create_dataset(name="client_qa", experiment_id="0", tags={"team": "ml"})
    dataset.merge_records([{"inputs": {"q": "2+2?"}, "expectations": {"expected_response": "4"}}])
    assert client.get_dataset(dataset.dataset_id).records == dataset.records
    client.set_dataset_tags(dataset.dataset_id, {"status": "validated", "team": None})
    client.delete_dataset_tag(dataset.dataset_id, "missing")  # not there: nothing happens
    page = client.search_datasets(experiment_ids=["0"], filter_string="name LIKE 'client_%'", max_results=10)
    assert [(d.name, dict(d.tags)) for d in page] == [("client_qa", {"status": "validated"})]
    assert page.token is None
    client.delete_dataset(dataset.dataset_id)
    assert list(client.search_datasets()) == []
