"""Evaluation datasets: create, get, search, add records, delete, build from traces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from genver.data import digest_of
from genver.entities import Assessment, AssessmentSource, EvaluationDataset, Trace
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.fluent import Genver
from genver.genai import datasets
from genver.genai.datasets import (
    add_records,
    create_dataset,
    dataset_from_traces,
    delete_dataset,
    get_dataset,
    record_id_for,
    search_datasets,
)
from tests.genai._eval_support import default_instance, instance

RECORDS = [
    {"inputs": {"question": "capital of France?"}, "expectations": {"expected_response": "Paris"}},
    {"inputs": {"question": "2+2?"}, "expectations": {"expected_response": "4"}, "tags": {"topic": "math"}},
]


@pytest.fixture
def gv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Genver]:
    with instance(tmp_path, monkeypatch) as g:
        yield g


def test_create_and_get(gv: Genver) -> None:
    ds = create_dataset("qa", records=RECORDS, tags={"owner": "me", "size": 2}, genver=gv)
    assert isinstance(ds, EvaluationDataset)
    assert ds.dataset_id.startswith("d-") and ds.name == "qa" and ds.experiment_id == "0"
    assert dict(ds.tags) == {"owner": "me", "size": "2"}
    assert [r.record_id for r in ds.records or []] == [record_id_for(r["inputs"]) for r in RECORDS]
    assert record_id_for({"question": "2+2?"}) == digest_of({"question": "2+2?"})
    got = get_dataset(ds.dataset_id, genver=gv)
    assert got.digest == ds.digest and got.records == ds.records
    assert dict(got.records[1].tags) == {"topic": "math"}  # type: ignore[index]
    assert get_dataset(name="qa", genver=gv).dataset_id == ds.dataset_id
    # the same records under another name: the same digest
    same = create_dataset("qa-copy", records=list(reversed(RECORDS)), genver=gv)
    assert same.digest == ds.digest and same.dataset_id != ds.dataset_id
    assert get_dataset(ds.dataset_id, genver=gv).to_df()["record_id"].tolist() == [
        r.record_id for r in ds.records or []
    ]


def test_create_from_a_dataframe_in_the_active_experiment(gv: Genver) -> None:
    exp = gv.set_experiment("evals")
    df = pd.DataFrame([RECORDS[0], {"inputs": {"question": "no expectation"}}])
    ds = create_dataset("from-df", records=df, genver=gv)
    assert ds.experiment_id == exp.experiment_id
    assert [dict(r.expectations) for r in ds.records or []] == [{"expected_response": "Paris"}, {}]
    other = gv.create_experiment("other")
    assert create_dataset("elsewhere", experiment_id=other, genver=gv).experiment_id == other


def test_records_with_the_same_inputs_are_merged(gv: Genver) -> None:
    ds = create_dataset(
        "merged",
        records=[
            {"inputs": {"q": 1}, "expectations": {"a": 1}},
            {"inputs": {"q": 1}, "expectations": {"b": 2}},
        ],
        genver=gv,
    )
    assert [dict(r.expectations) for r in ds.records or []] == [{"a": 1, "b": 2}]


def test_add_records_changes_the_digest(gv: Genver) -> None:
    ds = create_dataset("grow", records=RECORDS[:1], genver=gv)
    grown = add_records(ds.dataset_id, RECORDS[1:], genver=gv)
    assert grown.digest != ds.digest and len(grown.records or []) == 2
    assert grown.digest == create_dataset("full", records=RECORDS, genver=gv).digest
    replaced = add_records(
        ds.dataset_id,
        [{"inputs": {"question": "2+2?"}, "expectations": {"expected_response": "four"}}],
        genver=gv,
    )
    assert len(replaced.records or []) == 2
    assert dict((replaced.records or [])[1].expectations) == {"expected_response": "four"}


def test_search_and_delete(gv: Genver) -> None:
    a = create_dataset("alpha", records=RECORDS, tags={"team": "x"}, genver=gv)
    b = create_dataset("beta", records=RECORDS[:1], genver=gv)
    assert {d.dataset_id for d in search_datasets(genver=gv)} == {a.dataset_id, b.dataset_id}
    assert [d.name for d in search_datasets(filter_string="tags.team = 'x'", genver=gv)] == ["alpha"]
    assert [d.name for d in search_datasets(filter_string="name LIKE 'b%'", genver=gv)] == ["beta"]
    assert len(search_datasets(max_results=1, genver=gv)) == 1
    assert [d.name for d in search_datasets(order_by=["name DESC"], genver=gv)] == ["beta", "alpha"]
    assert search_datasets(experiment_ids="0", genver=gv) and not search_datasets(
        experiment_ids=["999"], genver=gv
    )
    delete_dataset(a.dataset_id, genver=gv)
    with pytest.raises(NotFoundError):
        get_dataset(a.dataset_id, genver=gv)
    with pytest.raises(NotFoundError, match="No evaluation dataset named 'alpha'"):
        get_dataset(name="alpha", genver=gv)
    assert [d.name for d in search_datasets(genver=gv)] == ["beta"]


def _app_traces(gv: Genver) -> dict[str, list[Trace]]:
    """Three traces of an app, by question (two ask "hello")."""

    @gv.trace
    def app(question: str, lang: str = "en") -> str:
        return question.upper()

    for q in ("hello", "bye", "hello"):
        app(q)
    gv.flush_trace_async_logging()
    traces = gv.search_traces(return_type="list")
    assert isinstance(traces, list)
    by_q: dict[str, list[Trace]] = {}
    for t in traces:
        assert t.data.root is not None
        by_q.setdefault(t.data.root.inputs["question"], []).append(t)
    return by_q


def test_dataset_from_traces(gv: Genver) -> None:
    by_q = _app_traces(gv)
    traces = [*by_q["hello"], *by_q["bye"]]
    ds = dataset_from_traces("from-prod", traces, genver=gv)
    records = {r.inputs["question"]: r for r in ds.records or []}
    assert len(ds.records or []) == 2  # the same inputs twice make one record
    assert dict(records["bye"].inputs) == {"question": "bye", "lang": "en"}
    assert records["bye"].record_id == record_id_for({"question": "bye", "lang": "en"})
    assert [dict(r.expectations) for r in ds.records or []] == [{}, {}]
    assert records["bye"].source_trace_id == by_q["bye"][0].info.trace_id
    pinned = dataset_from_traces("pinned", traces, expectations_from="outputs", genver=gv)
    assert {r.inputs["question"]: dict(r.expectations) for r in pinned.records or []} == {
        "hello": {"expected_response": "HELLO"},
        "bye": {"expected_response": "BYE"},
    }
    custom = dataset_from_traces(
        "custom", [t.info.trace_id for t in traces], expectations_from=lambda t: {"len": 5}, genver=gv
    )
    assert [dict(r.expectations) for r in custom.records or []] == [{"len": 5}, {"len": 5}]
    frame = gv.search_traces(include_spans=False)  # spans are loaded when missing
    assert len(dataset_from_traces("frame", frame, genver=gv).records or []) == 2


def test_dataset_from_traces_with_stored_expectations(gv: Genver) -> None:
    by_q = _app_traces(gv)
    gv.client.store.log_assessments(
        [
            Assessment(
                assessment_id="a-" + "1" * 32,
                trace_id=by_q["bye"][0].info.trace_id,
                name="expected_response",
                kind="expectation",
                value="BYE!",
                source=AssessmentSource("HUMAN", "reviewer"),
            )
        ]
    )
    traces = [*by_q["hello"], *by_q["bye"]]
    ds = dataset_from_traces("reviewed", traces, expectations_from="assessments", genver=gv)
    got = {r.inputs["question"]: dict(r.expectations) for r in ds.records or []}
    assert got == {"hello": {}, "bye": {"expected_response": "BYE!"}}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda gv: create_dataset("", genver=gv), "Invalid dataset name ''"),
        (lambda gv: create_dataset("x", records=[{"inputs": "q"}], genver=gv), "Invalid inputs 'q' in row 0"),
        (
            lambda gv: create_dataset("x", records=[{"input": {"q": 1}}], genver=gv),
            "Record 0 has unknown key 'input'",
        ),
        (lambda gv: create_dataset("x", records=["q"], genver=gv), "Record 0 is 'q'"),
        (lambda gv: create_dataset("x", records="q", genver=gv), "Invalid records 'q'"),
        (
            lambda gv: create_dataset("x", records=[{"inputs": {"q": 1}, "expectations": [1]}], genver=gv),
            r"Invalid expectations \[1\] in row 0",
        ),
        (lambda gv: create_dataset("x", tags=["t"], genver=gv), r"Invalid tags \['t'\]"),
        (lambda gv: get_dataset(genver=gv), "exactly one of dataset_id or name"),
        (lambda gv: get_dataset(42, genver=gv), "Invalid dataset id 42"),
        (lambda gv: search_datasets(max_results=0, genver=gv), "Invalid max_results 0"),
        (lambda gv: dataset_from_traces("x", "tr-1", genver=gv), "Invalid traces 'tr-1'"),
        (lambda gv: dataset_from_traces("x", [1], genver=gv), "Invalid trace 1"),
        (lambda gv: dataset_from_traces("x", [], expectations_from="labels", genver=gv), "'labels'"),
        (lambda gv: create_dataset("x", genver="gv"), "Invalid genver 'gv'"),
    ],
)
def test_bad_input_names_the_value(gv: Genver, call: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        call(gv)


def test_unknown_ids(gv: Genver) -> None:
    missing = "d-" + "0" * 32
    for call in (get_dataset, delete_dataset, lambda i, genver: add_records(i, RECORDS, genver=genver)):
        with pytest.raises(NotFoundError):
            call(missing, genver=gv)
    with pytest.raises(NotFoundError):
        dataset_from_traces("x", ["tr-" + "0" * 32], genver=gv)


def test_module_level_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with default_instance(tmp_path, monkeypatch) as mlflow:
        import genver.genai

        mlflow.set_experiment("datasets")
        ds = genver.genai.create_dataset("qa", records=RECORDS)
        assert genver.genai.get_dataset(ds.dataset_id).digest == ds.digest
        assert [d.name for d in genver.genai.search_datasets()] == ["qa"]
        assert datasets.add_records(ds.dataset_id, [{"inputs": {"q": 3}}]).records is not None
        genver.genai.delete_dataset(ds.dataset_id)
        assert genver.genai.search_datasets() == []
