"""MLflow 3's documentation snippets for feedback, expectations and trace tags, written as
functions of ``mlflow`` (the ``genver`` module, or a ``Genver`` instance on another store), so
tests/api runs them on the default SQLite store and tests/server through a genver server."""

from __future__ import annotations

from typing import Any

from genver.entities import AssessmentError, AssessmentSource, AssessmentSourceType, Expectation, Feedback


def traced_answer(mlflow: Any) -> str:
    """One traced call; its trace id, as MLflow's examples get it (not flushed: the fluent calls
    wait for it themselves)."""

    @mlflow.trace
    def answer(question: str) -> str:
        return "Paris"

    answer("What is the capital of France?")
    trace_id: str = mlflow.get_last_active_trace_id()
    return trace_id


def log_feedback_and_expectations(mlflow: Any) -> None:
    trace_id = traced_answer(mlflow)
    # mlflow.log_feedback's docstring
    feedback = mlflow.log_feedback(
        trace_id=trace_id,
        name="relevance",
        value=0.9,
        source=AssessmentSource(source_type=AssessmentSourceType.LLM_JUDGE, source_id="gpt-4"),
        rationale="Response directly addresses the user's question",
    )
    mlflow.log_feedback(
        trace_id=trace_id,
        name="quality_metrics",
        value={"accuracy": 0.95, "completeness": 0.88, "clarity": 0.92, "overall": 0.92},
        source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="expert_evaluator"),
        rationale="High accuracy and clarity, slightly incomplete coverage",
    )
    # mlflow.log_expectation's docstring (a float in the metadata is stored as text, as MLflow sends it)
    expectation = mlflow.log_expectation(
        trace_id=trace_id,
        name="expected_answer",
        value="The capital of France is Paris.",
        source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="annotator@company.com"),
        metadata={"question_type": "factual", "difficulty": "easy"},
    )
    mlflow.log_expectation(
        trace_id=trace_id,
        name="expected_category",
        value="positive",
        source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="data_labeler_001"),
        metadata={"labeling_session": "batch_01", "confidence": 0.95},
    )
    # mlflow.log_assessment's docstring
    mlflow.log_assessment(
        trace_id=trace_id,
        assessment=Feedback(
            name="faithfulness",
            value=0.9,
            rationale="The model is faithful to the input.",
            metadata={"model": "gpt-4o-mini"},
        ),
    )
    error = AssessmentError(
        error_code="RATE_LIMIT_EXCEEDED", error_message="Rate limit for the judge exceeded."
    )
    mlflow.log_assessment(
        trace_id=trace_id, assessment=Feedback(trace_id=trace_id, name="judged", error=error)
    )

    assert feedback.assessment_id.startswith("a-") and feedback.kind == "feedback"
    assert feedback.source.source_type == "LLM_JUDGE" and feedback.valid is True
    assert mlflow.get_assessment(trace_id, feedback.assessment_id) == feedback
    assert mlflow.get_assessment(trace_id, expectation.assessment_id).expectation.value == (
        "The capital of France is Paris."
    )
    stored = {a.name: a for a in mlflow.get_trace(trace_id).info.assessments}
    assert sorted(stored) == [
        "expected_answer",
        "expected_category",
        "faithfulness",
        "judged",
        "quality_metrics",
        "relevance",
    ]
    assert stored["quality_metrics"].value["overall"] == 0.92
    assert stored["expected_category"].metadata == {"labeling_session": "batch_01", "confidence": "0.95"}
    assert stored["expected_answer"].source == AssessmentSource("HUMAN", "annotator@company.com")
    assert stored["faithfulness"].source.source_type == "CODE"  # the default source of a feedback
    assert stored["judged"].error == error and stored["judged"].value is None


def update_override_and_delete(mlflow: Any) -> None:
    trace_id = traced_answer(mlflow)
    # mlflow.update_assessment's docstring
    response = mlflow.log_assessment(
        trace_id=trace_id, assessment=Expectation(name="expected_answer", value=42)
    )
    updated = mlflow.update_assessment(
        trace_id=trace_id,
        assessment_id=response.assessment_id,
        assessment=Expectation(name="expected_answer", value=43),
    )
    assert updated.value == 43 and updated.assessment_id == response.assessment_id
    assert mlflow.get_assessment(trace_id, response.assessment_id).value == 43

    # mlflow.override_feedback's docstring
    llm_feedback = mlflow.log_feedback(
        trace_id=trace_id,
        name="relevance",
        value=0.6,
        source=AssessmentSource(source_type=AssessmentSourceType.LLM_JUDGE, source_id="gpt-4"),
        rationale="Response partially addresses the question",
    )
    corrected = mlflow.override_feedback(
        trace_id=trace_id,
        assessment_id=llm_feedback.assessment_id,
        value=0.9,
        rationale="Response fully addresses the question with good examples",
        source=AssessmentSource(
            source_type=AssessmentSourceType.HUMAN, source_id="expert_reviewer@company.com"
        ),
        metadata={"override_reason": "LLM underestimated relevance", "confidence": "high"},
    )
    assert corrected.overrides == llm_feedback.assessment_id and corrected.name == "relevance"
    old = mlflow.get_assessment(trace_id, llm_feedback.assessment_id)
    assert old.valid is False and old.value == 0.6  # kept, e.g. to tune the judge
    mlflow.delete_assessment(trace_id=trace_id, assessment_id=corrected.assessment_id)
    assert mlflow.get_assessment(trace_id, llm_feedback.assessment_id).valid is True
    mlflow.delete_assessment(trace_id=trace_id, assessment_id=corrected.assessment_id)  # gone: a no-op
    names = sorted(a.name for a in mlflow.get_trace(trace_id).info.assessments)
    assert names == ["expected_answer", "relevance"]


def trace_tags(mlflow: Any) -> None:
    # mlflow.set_trace_tag / delete_trace_tag docstrings: on the trace in progress
    with mlflow.start_span(name="span") as span:
        mlflow.set_trace_tag(span.trace_id, "key", "value")
        mlflow.set_trace_tag(span.trace_id, "gone", "soon")
        mlflow.delete_trace_tag(span.trace_id, "gone")
    trace_id = span.trace_id
    # ... and on a trace already ended (stored once the exporter has it)
    mlflow.set_trace_tag(trace_id, "reviewed", "yes")
    assert mlflow.get_trace(trace_id).info.tags == {"key": "value", "reviewed": "yes"}
    mlflow.delete_trace_tag(trace_id, "key")
    assert mlflow.get_trace(trace_id).info.tags == {"reviewed": "yes"}
