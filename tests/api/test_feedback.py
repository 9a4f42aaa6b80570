"""Feedback, expectations and trace tags through the public API (``import genver as mlflow``):
MLflow's documentation snippets, errors that name the bad value, and the cases that differ from
a plain store call (a trace not stored yet, a trace still in progress)."""

from __future__ import annotations

import pytest

import genver as mlflow
from genver.entities import AssessmentSource, Expectation, Feedback
from genver.exceptions import InvalidArgumentError, NotFoundError

from .feedback_snippets import (
    log_feedback_and_expectations,
    trace_tags,
    traced_answer,
    update_override_and_delete,
)


def test_mlflow_feedback_snippets() -> None:
    log_feedback_and_expectations(mlflow)


def test_mlflow_update_override_delete_snippets() -> None:
    update_override_and_delete(mlflow)


def test_mlflow_trace_tag_snippets() -> None:
    trace_tags(mlflow)


def test_feedback_from_an_exception() -> None:
    trace_id = traced_answer(mlflow)
    try:
        raise TimeoutError("judge timed out")
    except TimeoutError as exc:
        fb = mlflow.log_feedback(trace_id=trace_id, name="judge", error=exc)
    assert fb.error is not None and fb.error.error_code == "TimeoutError"
    assert "judge timed out" in (fb.error.error_message or "")
    string = mlflow.log_feedback(trace_id=trace_id, name="judge2", error="no verdict")
    assert (string.error_code, string.error_message) == ("ASSESSMENT_ERROR", "no verdict")


def test_the_client_logs_feedback_objects_too() -> None:
    trace_id = traced_answer(mlflow)
    mlflow.flush_trace_async_logging()
    client = mlflow.MlflowClient()
    stored = client.log_assessment(trace_id, Feedback(name="helpful", value=True))
    assert client.get_assessment(trace_id, stored.assessment_id) == stored
    updated = client.update_assessment(trace_id, stored.assessment_id, Feedback(name="helpful", value=False))
    assert updated.value is False and updated.last_update_time_ms >= stored.create_time_ms
    # an Assessment read back can be passed as the update, as MLflow's entity can
    again = client.update_assessment(trace_id, stored.assessment_id, updated)
    assert again.value is False
    client.delete_assessment(trace_id, stored.assessment_id)
    with pytest.raises(NotFoundError, match=stored.assessment_id):
        client.get_assessment(trace_id, stored.assessment_id)


def test_bad_input_names_the_value_and_writes_nothing() -> None:
    trace_id = traced_answer(mlflow)
    with pytest.raises(InvalidArgumentError, match="Invalid value None of expectation 'expected'"):
        mlflow.log_expectation(trace_id=trace_id, name="expected", value=None)
    with pytest.raises(InvalidArgumentError, match="'ROBOT'"):
        mlflow.log_feedback(trace_id=trace_id, source=AssessmentSource("ROBOT", "x"), value=1)
    with pytest.raises(InvalidArgumentError, match="Invalid source 'HUMAN'"):
        mlflow.log_feedback(trace_id=trace_id, source="HUMAN", value=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"\{1, 2\}"):
        mlflow.log_feedback(trace_id=trace_id, name="x", value={1, 2})
    with pytest.raises(InvalidArgumentError, match="'nope'"):
        mlflow.log_feedback(trace_id="nope", value=1)
    with pytest.raises(InvalidArgumentError, match="expected a genver.entities.Feedback"):
        mlflow.log_assessment(trace_id, {"name": "x", "value": 1})  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="names trace"):
        mlflow.log_assessment(trace_id, Feedback(trace_id="tr-" + "0" * 32, value=1))
    mlflow.flush_trace_async_logging()
    assert not mlflow.get_trace(trace_id).info.assessments
    with pytest.raises(NotFoundError, match="tr-" + "1" * 32):
        mlflow.log_feedback(trace_id="tr-" + "1" * 32, value=1)


def test_update_with_the_wrong_kind_and_override_of_an_expectation() -> None:
    trace_id = traced_answer(mlflow)
    exp = mlflow.log_expectation(trace_id=trace_id, name="expected", value="Paris")
    with pytest.raises(InvalidArgumentError, match="Cannot update expectation"):
        mlflow.update_assessment(trace_id, exp.assessment_id, Feedback(name="expected", value=1))
    with pytest.raises(InvalidArgumentError, match="only feedback can be overridden"):
        mlflow.override_feedback(trace_id=trace_id, assessment_id=exp.assessment_id, value=1)
    with pytest.raises(InvalidArgumentError, match="expected a Feedback or an Expectation"):
        mlflow.update_assessment(trace_id, exp.assessment_id, "Lyon")  # type: ignore[arg-type]
    assert mlflow.get_assessment(trace_id, exp.assessment_id).value == "Paris"


def test_a_trace_in_progress_cannot_be_assessed_yet() -> None:
    with mlflow.start_span("root") as span:
        with pytest.raises(InvalidArgumentError, match="still in progress"):
            mlflow.log_feedback(trace_id=span.trace_id, name="early", value=1)
        with pytest.raises(NotFoundError, match="No tag 'missing'"):
            mlflow.delete_trace_tag(span.trace_id, "missing")
    mlflow.log_feedback(trace_id=span.trace_id, name="after", value=1)  # once it ended: fine
    assert [a.name for a in mlflow.get_trace(span.trace_id).info.assessments] == ["after"]


def test_expectation_objects_default_to_a_human_source() -> None:
    trace_id = traced_answer(mlflow)
    a = mlflow.log_assessment(trace_id, Expectation(name="expected_facts", value=["Paris"]))
    assert a.source == AssessmentSource("HUMAN", "default") and a.kind == "expectation"
