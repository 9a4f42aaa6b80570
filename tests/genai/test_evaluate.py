"""``genai.evaluate`` on a real SQLite store with real tracing: data forms, predict_fn kinds,
linking to the version, assessments, metrics and failures."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from genver.data import digest_of
from genver.entities import Feedback, LoggedModel, TraceState
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.fluent import Genver
from genver.genai import datasets
from genver.genai.evaluation import EvaluationResult, evaluate
from genver.genai.scorers import Contains, ExactMatch, Latency, Scorer, scorer
from tests.genai._eval_support import default_instance, instance

QA = [
    {"inputs": {"question": "capital of France?"}, "expectations": {"expected_response": "Paris"}},
    {"inputs": {"question": "2+2?"}, "expectations": {"expected_response": "4"}},
    {"inputs": {"question": "color of the sky?"}, "expectations": {"expected_response": "blue"}},
    {"inputs": {"question": "largest planet?"}, "expectations": {"expected_response": "Jupiter"}},
]
ANSWERS = {
    "capital of France?": "Paris",
    "2+2?": "4",
    "color of the sky?": "green",
    "largest planet?": "Jupiter",
}


def answer(question: str) -> str:
    return ANSWERS[question]


@pytest.fixture
def gv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Genver]:
    with instance(tmp_path, monkeypatch) as g:
        yield g


@pytest.fixture
def model(gv: Genver) -> LoggedModel:
    return gv.create_external_model(name="qa-v1")


def _rid(inputs: dict[str, Any]) -> str:
    return digest_of(inputs)


def _digest(rows: list[dict[str, Any]]) -> str:
    return digest_of(
        [
            {"record_id": _rid(r["inputs"]), "inputs": r["inputs"], "expectations": r.get("expectations", {})}
            for r in rows
        ]
    )


# -- linking, metrics, assessments ---------------------------------------------------------------------------
def test_traces_are_linked_to_the_version_and_the_run(gv: Genver, model: LoggedModel) -> None:
    result = evaluate(QA, [ExactMatch()], predict_fn=answer, model_id=model.model_id, genver=gv)
    assert isinstance(result, EvaluationResult)
    traces = gv.search_traces(model_id=model.model_id, return_type="list")
    assert isinstance(traces, list) and len(traces) == 4
    by_record = {t.info.trace_metadata["genver.eval.record_id"]: t for t in traces}
    assert set(by_record) == {_rid(r["inputs"]) for r in QA}
    for t in traces:
        md = t.info.trace_metadata
        assert md["mlflow.modelId"] == model.model_id
        assert md["mlflow.sourceRun"] == result.run_id
        assert md["genver.eval.dataset_digest"] == _digest(QA)
        assert t.data.root is not None and t.data.root.name == "predict"
        assert t.info.state is TraceState.OK
    root = by_record[_rid({"question": "2+2?"})].data.root
    assert root is not None and root.inputs == {"question": "2+2?"} and root.outputs == "4"
    assert sorted(result.result_df["trace_id"]) == sorted(t.info.trace_id for t in traces)


def test_metrics_on_the_run_and_the_version_with_the_dataset(gv: Genver, model: LoggedModel) -> None:
    result = evaluate(
        QA, [ExactMatch(), Contains("a")], predict_fn=answer, model_id=model.model_id, genver=gv
    )
    assert result.metrics == {"exact_match/mean": 0.75, "contains/mean": 0.25}
    run = gv.get_run(result.run_id)
    assert run.data.metrics["exact_match/mean"] == 0.75
    assert run.data.tags["mlflow.runType"] == "genai_evaluate"
    assert run.info.status == "FINISHED"
    assert [(d.dataset.name, d.dataset.digest) for d in run.inputs.dataset_inputs] == [
        ("dataset", _digest(QA))
    ]
    assert [m.model_id for m in run.inputs.model_inputs] == [model.model_id]
    metrics = {m.key: m for m in gv.get_logged_model(model.model_id).metrics}
    em = metrics["exact_match/mean"]
    assert (em.value, em.run_id, em.dataset_name, em.dataset_digest) == (
        0.75,
        result.run_id,
        "dataset",
        _digest(QA),
    )


def test_search_logged_models_orders_by_the_mean(gv: Genver) -> None:
    good = gv.create_external_model(name="good")
    bad = gv.create_external_model(name="bad")
    evaluate(QA, [ExactMatch()], predict_fn=answer, model_id=good.model_id, genver=gv)
    evaluate(QA, [ExactMatch()], predict_fn=lambda question: "?", model_id=bad.model_id, genver=gv)
    ordered = gv.search_logged_models(
        order_by=[{"field_name": "metrics.exact_match/mean", "ascending": False}], output_format="list"
    )
    assert [m.name for m in ordered] == ["good", "bad"]  # type: ignore[union-attr]
    same_data = gv.search_logged_models(
        filter_string="metrics.`exact_match/mean` > 0.5",
        datasets=[{"dataset_name": "dataset", "dataset_digest": _digest(QA)}],
        output_format="list",
    )
    assert [m.name for m in same_data] == ["good"]  # type: ignore[union-attr]


def test_feedback_and_expectations_are_stored_on_the_traces(gv: Genver, model: LoggedModel) -> None:
    result = evaluate(QA, [ExactMatch()], predict_fn=answer, model_id=model.model_id, genver=gv)
    row = result.result_df.set_index("record_id").loc[_rid({"question": "color of the sky?"})]
    trace = gv.get_trace(row["trace_id"])
    assert trace is not None
    by_kind = {a.kind: a for a in trace.info.assessments}
    fb, ex = by_kind["feedback"], by_kind["expectation"]
    assert (fb.name, fb.value, fb.run_id) == ("exact_match", False, result.run_id)
    assert fb.rationale == "expected 'blue', got 'green'"
    assert (fb.source.source_type, fb.source.source_id) == ("CODE", "exact_match")
    assert fb.assessment_id.startswith("a-") and len(fb.assessment_id) == 34
    assert dict(fb.metadata) == {
        "genver.record_id": row.name,
        "genver.dataset_digest": _digest(QA),
        "genver.model_id": model.model_id,
    }
    assert (ex.name, ex.value, ex.run_id) == ("expected_response", "blue", result.run_id)
    assert len(gv.client.store.get_assessments(run_id=result.run_id)) == 8


def test_the_version_is_active_only_during_the_call(gv: Genver) -> None:
    previous = gv.set_active_model(name="previous")
    target = gv.create_external_model(name="target")
    seen: list[str | None] = []

    def predict(question: str) -> str:
        seen.append(gv.get_active_model_id())
        return "x"

    evaluate(QA[:2], [ExactMatch()], predict_fn=predict, model_id=target.model_id, genver=gv)
    assert seen == [target.model_id] * 2
    assert gv.get_active_model_id() == previous.model_id
    gv.clear_active_model()
    evaluate(QA[:1], [ExactMatch()], predict_fn=predict, model_id=target.model_id, genver=gv)
    assert gv.get_active_model_id() is None


class _Abort(BaseException):
    """Escapes evaluate (unlike an Exception, which only fails its row)."""


def test_previous_version_and_run_status_survive_an_abort(gv: Genver, model: LoggedModel) -> None:
    previous = gv.set_active_model(name="previous")

    def predict(question: str) -> str:
        raise _Abort

    with pytest.raises(_Abort):
        evaluate(QA[:1], [ExactMatch()], predict_fn=predict, model_id=model.model_id, genver=gv)
    assert gv.get_active_model_id() == previous.model_id
    assert gv.last_active_run_id() is None
    runs = gv.search_runs(filter_string="tags.`mlflow.runType` = 'genai_evaluate'", output_format="list")
    assert [r.info.status for r in runs] == ["FAILED"]  # type: ignore[union-attr]


def test_without_model_id_the_active_version_is_used(gv: Genver) -> None:
    active = gv.set_active_model(name="active")
    result = evaluate(QA, [ExactMatch()], predict_fn=answer, genver=gv)
    assert {m.key for m in gv.get_logged_model(active.model_id).metrics} == {"exact_match/mean"}
    trace = gv.get_trace(result.result_df["trace_id"][0])
    assert trace is not None and trace.info.model_id == active.model_id
    fb = next(a for a in trace.info.assessments if a.kind == "feedback")
    assert fb.metadata["genver.model_id"] == active.model_id


def test_no_version_at_all_logs_on_the_run_only(gv: Genver) -> None:
    result = evaluate(QA, [ExactMatch()], predict_fn=answer, genver=gv)
    assert gv.get_run(result.run_id).data.metrics == {"exact_match/mean": 0.75}
    trace = gv.get_trace(result.result_df["trace_id"][0])
    assert trace is not None and trace.info.model_id is None


def test_an_active_run_is_reused_and_stays_active(gv: Genver, model: LoggedModel) -> None:
    with gv.start_run() as run:
        result = evaluate(QA, [ExactMatch()], predict_fn=answer, model_id=model.model_id, genver=gv)
        assert result.run_id == run.info.run_id
        assert gv.last_active_run_id() == run.info.run_id
    stored = gv.get_run(run.info.run_id)
    assert stored.data.tags["mlflow.runType"] == "genai_evaluate"
    assert stored.data.metrics["exact_match/mean"] == 0.75


def test_context_reaches_the_worker_threads(gv: Genver, model: LoggedModel) -> None:
    seen: list[tuple[str, str | None, str | None]] = []
    lock = threading.Lock()

    def predict(question: str) -> str:
        with lock:
            seen.append((threading.current_thread().name, gv.last_active_run_id(), gv.get_active_model_id()))
        return "x"

    result = evaluate(
        QA, [ExactMatch()], predict_fn=predict, model_id=model.model_id, max_workers=4, genver=gv
    )
    assert {s[1:] for s in seen} == {(result.run_id, model.model_id)}
    assert all(name.startswith("genver-eval") for name, _, _ in seen)


def test_inside_a_span_each_row_still_gets_its_own_trace(gv: Genver, model: LoggedModel) -> None:
    with gv.start_span("notebook cell"):
        evaluate(QA, [ExactMatch()], predict_fn=answer, model_id=model.model_id, genver=gv)
    traces = gv.search_traces(model_id=model.model_id, return_type="list")
    assert isinstance(traces, list) and len(traces) == 4
    assert all(t.data.root is not None and t.data.root.name == "predict" for t in traces)


# -- data forms --------------------------------------------------------------------------------------------------
def test_dataframe_data(gv: Genver, model: LoggedModel) -> None:
    df = pd.DataFrame(QA)
    result = evaluate(df, [ExactMatch()], predict_fn=answer, model_id=model.model_id, genver=gv)
    assert result.metrics == {"exact_match/mean": 0.75}
    metric = gv.get_logged_model(model.model_id).metrics[0]
    assert (metric.dataset_name, metric.dataset_digest) == ("dataset", _digest(QA))


def test_dataframe_with_missing_expectations(gv: Genver) -> None:
    df = pd.DataFrame([QA[0], {"inputs": {"question": "2+2?"}}])
    result = evaluate(df, [ExactMatch()], predict_fn=answer, genver=gv)
    assert result.metrics == {"exact_match/mean": 1.0, "exact_match/error_count": 1.0}
    assert result.error_counts == {"exact_match": 1}
    assert "MissingExpectationError" in result.result_df["exact_match/error"][1]


def test_evaluation_dataset_data(gv: Genver, model: LoggedModel) -> None:
    ds = datasets.create_dataset("capitals", records=QA, genver=gv)
    result = evaluate(ds, [ExactMatch()], predict_fn=answer, model_id=model.model_id, genver=gv)
    assert result.metrics == {"exact_match/mean": 0.75}
    metric = gv.get_logged_model(model.model_id).metrics[0]
    assert (metric.dataset_name, metric.dataset_digest) == ("capitals", ds.digest)
    assert set(result.result_df["record_id"]) == {r.record_id for r in ds.records or []}
    again = evaluate(ds.dataset_id, [ExactMatch()], predict_fn=answer, model_id=model.model_id, genver=gv)
    assert again.metrics == result.metrics
    searched = datasets.search_datasets(genver=gv)[0]  # without records: they are loaded
    assert evaluate(searched, [ExactMatch()], predict_fn=answer, genver=gv).metrics == result.metrics


def test_outputs_given_without_predict_fn(gv: Genver, model: LoggedModel) -> None:
    rows = [{**r, "outputs": ANSWERS[r["inputs"]["question"]]} for r in QA]
    result = evaluate(rows, [ExactMatch()], model_id=model.model_id, genver=gv)
    assert result.metrics == {"exact_match/mean": 0.75}
    traces = gv.search_traces(model_id=model.model_id, return_type="list")
    assert len(traces) == 4 and all(t.data.root and t.data.root.outputs for t in traces)  # type: ignore[union-attr]


def test_existing_traces_are_scored_in_place(gv: Genver, model: LoggedModel) -> None:
    app = gv.trace(answer)
    with gv.set_active_model(model_id=model.model_id):
        for r in QA:
            app(**r["inputs"])
    gv.flush_trace_async_logging()
    traces = gv.search_traces(model_id=model.model_id, return_type="list")
    assert isinstance(traces, list)
    result = evaluate(traces, [ExactMatch(), Contains("i")], model_id=model.model_id, genver=gv)
    assert result.metrics["contains/mean"] == 0.5  # Paris, Jupiter
    assert result.error_counts == {"exact_match": 4}  # no expectations on these traces
    assert len(gv.search_traces(model_id=model.model_id, return_type="list")) == 4  # no new traces
    stored = gv.get_trace(traces[0].info.trace_id)
    assert stored is not None and {a.name for a in stored.info.assessments} == {"exact_match", "contains"}
    # a DataFrame with a trace column (as search_traces returns) and expectations of its own
    frame = gv.search_traces(model_id=model.model_id)
    assert isinstance(frame, pd.DataFrame)
    frame["expectations"] = [
        {"expected_response": ANSWERS[t.data.root.inputs["question"]]} for t in frame["trace"]
    ]
    scored = evaluate(frame[["trace", "expectations"]], [ExactMatch()], genver=gv)
    assert scored.metrics == {"exact_match/mean": 1.0}
    no_spans = gv.search_traces(model_id=model.model_id, include_spans=False)
    assert isinstance(no_spans, pd.DataFrame)
    assert evaluate(no_spans[["trace"]], [Contains("i")], genver=gv).metrics == {"contains/mean": 0.5}
    # the expectations are now stored on the traces: a later evaluation of the traces reads them
    again = gv.search_traces(model_id=model.model_id, return_type="list")
    assert evaluate(again, [ExactMatch()], genver=gv).metrics == {"exact_match/mean": 1.0}


def test_several_inputs_are_keyword_arguments(gv: Genver) -> None:
    calls: list[dict[str, Any]] = []

    def predict(question: str, context: str, *, temperature: float = 0.0) -> str:
        calls.append({"question": question, "context": context, "temperature": temperature})
        return context

    rows = [{"inputs": {"question": "q", "context": "ctx", "temperature": 0.5}}]
    result = evaluate(rows, [Contains("ctx")], predict_fn=predict, genver=gv)
    assert calls == [{"question": "q", "context": "ctx", "temperature": 0.5}]
    assert result.metrics == {"contains/mean": 1.0}


# -- predict_fn kinds ------------------------------------------------------------------------------------------------
def test_async_predict_fn(gv: Genver, model: LoggedModel) -> None:
    async def predict(question: str) -> str:
        await asyncio.sleep(0.001)
        return ANSWERS[question]

    result = evaluate(QA, [ExactMatch()], predict_fn=predict, model_id=model.model_id, genver=gv)
    assert result.metrics == {"exact_match/mean": 0.75}
    assert len(gv.search_traces(model_id=model.model_id, return_type="list")) == 4


def test_async_predict_fn_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def predict(question: str) -> str:
        await asyncio.sleep(5 if question == "2+2?" else 0)
        return ANSWERS[question]

    with instance(tmp_path, monkeypatch, GENVER_EVAL_ASYNC_TIMEOUT="0.2") as gv:
        result = evaluate(QA, [ExactMatch()], predict_fn=predict, genver=gv)
        assert result.failed_rows == 1
        slow = result.result_df.set_index("record_id").loc[_rid({"question": "2+2?"})]
        assert slow["error"].startswith("TimeoutError")
        trace = gv.get_trace(slow["trace_id"])
        assert trace is not None and trace.info.state is TraceState.ERROR


def test_traced_predict_fn_keeps_its_own_root_span(gv: Genver, model: LoggedModel) -> None:
    @gv.trace(span_type="AGENT")
    def agent(question: str) -> str:
        with gv.start_span("retrieve"):
            pass
        return ANSWERS[question]

    result = evaluate(QA, [ExactMatch()], predict_fn=agent, model_id=model.model_id, genver=gv)
    assert result.metrics == {"exact_match/mean": 0.75}
    traces = gv.search_traces(model_id=model.model_id, return_type="list")
    assert isinstance(traces, list) and len(traces) == 4
    for t in traces:
        assert t.data.root is not None and t.data.root.name == "agent"
        assert [s.name for s in t.data.spans] == ["agent", "retrieve"]
        assert t.info.trace_metadata["genver.eval.dataset_digest"] == _digest(QA)
        assert t.info.trace_metadata["mlflow.sourceRun"] == result.run_id
        assert len(t.info.assessments) == 2  # feedback + expectation, kept across the metadata update
    assert {t.info.trace_metadata["genver.eval.record_id"] for t in traces} == {_rid(r["inputs"]) for r in QA}


def test_traced_async_predict_fn_and_traced_method(gv: Genver) -> None:
    class App:
        @gv.trace
        async def ask(self, question: str) -> str:
            return ANSWERS[question]

    result = evaluate(QA[:2], [ExactMatch()], predict_fn=App().ask, genver=gv)
    assert result.metrics == {"exact_match/mean": 1.0}
    trace = gv.get_trace(result.result_df["trace_id"][0])
    assert trace is not None and trace.data.root is not None and trace.data.root.name == "ask"
    assert "genver.eval.record_id" in trace.info.trace_metadata


# -- failures ---------------------------------------------------------------------------------------------------------
def test_a_failing_row_is_recorded(gv: Genver, model: LoggedModel) -> None:
    seen: list[Any] = []

    def predict(question: str) -> str:
        if question == "2+2?":
            raise RuntimeError("model overloaded")
        return ANSWERS[question]

    @scorer
    def got_outputs(outputs: Any) -> bool:
        seen.append(outputs)
        return outputs is not None

    result = evaluate(QA, [ExactMatch(), got_outputs], predict_fn=predict, model_id=model.model_id, genver=gv)
    assert result.failed_rows == 1 and not result.passed
    assert result.metrics == {"exact_match/mean": 0.5, "got_outputs/mean": 0.75}
    assert None in seen and len(seen) == 4
    row = result.result_df.set_index("record_id").loc[_rid({"question": "2+2?"})]
    assert row["error"] == "RuntimeError: model overloaded"
    assert row["outputs"] is None
    trace = gv.get_trace(row["trace_id"])
    assert trace is not None and trace.info.state is TraceState.ERROR
    assert trace.info.model_id == model.model_id
    assert {a.name for a in trace.info.assessments} == {"exact_match", "got_outputs", "expected_response"}


def test_a_failing_scorer_is_recorded(gv: Genver, model: LoggedModel) -> None:
    @scorer
    def flaky(inputs: dict[str, Any]) -> float:
        if inputs["question"] == "2+2?":
            raise ZeroDivisionError("no")
        return 1.0

    result = evaluate(QA, [flaky, ExactMatch()], predict_fn=answer, model_id=model.model_id, genver=gv)
    assert result.metrics == {"flaky/mean": 1.0, "exact_match/mean": 0.75, "flaky/error_count": 1.0}
    assert result.error_counts == {"flaky": 1}
    row = result.result_df.set_index("record_id").loc[_rid({"question": "2+2?"})]
    assert row["flaky/value"] is None and row["flaky/error"] == "ZeroDivisionError: no"
    trace = gv.get_trace(row["trace_id"])
    assert trace is not None
    fb = next(a for a in trace.info.assessments if a.name == "flaky")
    assert fb.error is not None and fb.error.error_code == "ZeroDivisionError"
    assert fb.value is None


def test_result_df_columns(gv: Genver) -> None:
    @scorer
    def parts(outputs: Any) -> list[Feedback]:
        return [
            Feedback(name="short", value=len(outputs) < 5),
            Feedback(name="verdict", value="yes", rationale="ok"),
        ]

    result = evaluate(QA, [ExactMatch(), parts], predict_fn=answer, genver=gv)
    df = result.result_df
    assert list(df.columns) == [
        "trace_id",
        "record_id",
        "inputs",
        "outputs",
        "expectations",
        "error",
        "exact_match/value",
        "exact_match/rationale",
        "exact_match/error",
        "short/value",
        "short/rationale",
        "short/error",
        "verdict/value",
        "verdict/rationale",
        "verdict/error",
        "trace",
    ]
    assert list(df["record_id"]) == [_rid(r["inputs"]) for r in QA]  # in data order
    assert df["inputs"][0] == {"question": "capital of France?"}
    assert df["expectations"][1] == {"expected_response": "4"}
    assert df["trace"][0].info.trace_id == df["trace_id"][0]
    assert result.metrics == {"exact_match/mean": 0.75, "short/mean": 0.25, "verdict/mean": 1.0}


def test_non_numeric_values_are_not_aggregated_and_aggregations_are_chosen(gv: Genver) -> None:
    @scorer
    def label(outputs: Any) -> str:
        return "long" if len(outputs) > 3 else "short"

    @scorer(name="length", aggregations=["mean", "min", "max", "p90"])
    def size(outputs: Any) -> int:
        return len(outputs)

    result = evaluate(QA, [label, size], predict_fn=answer, genver=gv)
    # lengths 5, 1, 5, 7; p90 interpolates between 5 and 7
    assert result.metrics == pytest.approx(
        {"length/mean": 4.5, "length/min": 1.0, "length/max": 7.0, "length/p90": 6.4}
    )


def test_record_ids_pair_across_versions_and_duplicates_get_a_suffix(gv: Genver) -> None:
    rows = [*QA, QA[0]]
    a = evaluate(
        rows,
        [ExactMatch()],
        predict_fn=answer,
        model_id=gv.create_external_model(name="a").model_id,
        genver=gv,
    )
    b = evaluate(
        rows,
        [ExactMatch()],
        predict_fn=answer,
        model_id=gv.create_external_model(name="b").model_id,
        genver=gv,
    )
    assert list(a.result_df["record_id"]) == list(b.result_df["record_id"])
    first = _rid(QA[0]["inputs"])
    assert list(a.result_df["record_id"])[0] == first and list(a.result_df["record_id"])[-1] == f"{first}-2"


def test_tracing_disabled_still_scores_and_logs_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with instance(tmp_path, monkeypatch, GENVER_TRACING_ENABLED="false") as gv:
        model = gv.create_external_model(name="m")
        result = evaluate(QA, [ExactMatch()], predict_fn=answer, model_id=model.model_id, genver=gv)
        assert result.metrics == {"exact_match/mean": 0.75}
        assert result.result_df["trace_id"].isna().all()
        assert [m.key for m in gv.get_logged_model(model.model_id).metrics] == ["exact_match/mean"]


# -- bad input --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([{"inputs": "capital of France?"}], "Invalid inputs 'capital of France?' in row 0"),
        ([QA[0], {"question": "2+2?"}], "Invalid inputs None in row 1"),
        ([QA[0], "2+2?"], "Invalid data row 1: '2+2?'"),
        ([{"inputs": {"q": 1}, "expectations": "4"}], "Invalid expectations '4' in row 0"),
        ({"inputs": {"q": 1}}, "Invalid data {'inputs': {'q': 1}}"),
        ("not-a-dataset id", "Invalid dataset id 'not-a-dataset id'"),
        ([], "no rows"),
    ],
)
def test_bad_data_names_the_value(gv: Genver, data: Any, message: str) -> None:
    with pytest.raises((InvalidArgumentError, NotFoundError), match=re.escape(message)):
        evaluate(data, [ExactMatch()], predict_fn=lambda q: q, genver=gv)
    assert gv.last_active_run_id() is None


def test_bad_arguments_name_the_value(gv: Genver) -> None:
    with pytest.raises(InvalidArgumentError, match="Invalid scorer <function"):
        evaluate(QA, [lambda outputs: True], predict_fn=answer, genver=gv)  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError, match="Invalid scorers 'exact_match'"):
        evaluate(QA, "exact_match", predict_fn=answer, genver=gv)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="Two scorers are named 'exact_match'"):
        evaluate(QA, [ExactMatch(), ExactMatch()], predict_fn=answer, genver=gv)
    with pytest.raises(InvalidArgumentError, match="has outputs 'Paris', and predict_fn was given"):
        evaluate([{**QA[0], "outputs": "Paris"}], [ExactMatch()], predict_fn=answer, genver=gv)
    with pytest.raises(
        InvalidArgumentError, match=r"cannot take the inputs of row 0, \{'query': 'x'\}, as keyword"
    ):
        evaluate([{"inputs": {"query": "x"}}], [ExactMatch()], predict_fn=answer, genver=gv)
    with pytest.raises(InvalidArgumentError, match="Invalid predict_fn 'answer'"):
        evaluate(QA, [ExactMatch()], predict_fn="answer", genver=gv)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="Invalid max_workers 0"):
        evaluate(QA, [ExactMatch()], predict_fn=answer, max_workers=0, genver=gv)
    with pytest.raises(NotFoundError):
        evaluate(QA, [ExactMatch()], predict_fn=answer, model_id="m-" + "0" * 32, genver=gv)
    with pytest.raises(InvalidArgumentError, match="Invalid genver 'gv'"):
        evaluate(QA, [ExactMatch()], predict_fn=answer, genver="gv")  # type: ignore[arg-type]
    assert gv.last_active_run_id() is None
    assert gv.search_runs(output_format="list") == []


def test_max_workers_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: set[str] = set()
    barrier = threading.Barrier(2, timeout=5)

    def predict(question: str) -> str:
        threads.add(threading.current_thread().name)
        if question in ("2+2?", "capital of France?"):
            barrier.wait()  # two rows at once: needs two workers
        return "x"

    with instance(tmp_path, monkeypatch, MLFLOW_GENAI_EVAL_MAX_WORKERS="2") as gv:
        evaluate(QA, [ExactMatch()], predict_fn=predict, genver=gv)
        assert len(threads) == 2
    with (
        instance(tmp_path, monkeypatch, GENVER_EVAL_MAX_WORKERS="many") as gv,
        pytest.raises(InvalidArgumentError, match="Invalid value 'many' for GENVER_EVAL_MAX_WORKERS"),
    ):
        evaluate(QA, [ExactMatch()], predict_fn=predict, genver=gv)


# -- the module-level API ----------------------------------------------------------------------------------------------
def test_module_level_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with default_instance(tmp_path, monkeypatch) as mlflow:
        import genver.genai

        model = mlflow.create_external_model(name="agent")
        result = genver.genai.evaluate(
            data=QA,
            scorers=[genver.genai.scorers.ExactMatch(), Latency(max_ms=10_000)],
            predict_fn=answer,
            model_id=model.model_id,
        )
        assert result.metrics == {"exact_match/mean": 0.75, "latency/mean": 1.0}
        assert mlflow.get_active_model_id() is None
        traces = mlflow.search_traces(model_id=model.model_id, return_type="list")
        assert len(traces) == 4
        assert genver.genai.EvaluationResult is EvaluationResult
        assert callable(genver.genai.evaluate) and not isinstance(genver.genai.evaluate, type(genver))
        assert isinstance(genver.genai.Scorer, type) and issubclass(ExactMatch, Scorer)
