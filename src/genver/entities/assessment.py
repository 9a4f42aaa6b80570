"""Assessments on traces: ``Feedback`` (a score from a scorer, a judge or a person) and
``Expectation`` (the ground truth), as MLflow 3 shapes them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class AssessmentSourceType:
    """Who produced an assessment."""

    CODE = "CODE"
    LLM_JUDGE = "LLM_JUDGE"
    HUMAN = "HUMAN"


@dataclass(frozen=True, slots=True)
class AssessmentSource:
    source_type: str = AssessmentSourceType.CODE
    source_id: str = "default"


@dataclass(frozen=True, slots=True)
class AssessmentError:
    """Why a scorer could not produce a value (the row is recorded, not fatal)."""

    error_code: str
    error_message: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Feedback:
    """A score: ``value`` is a bool, number, string (or JSON-compatible value); ``error`` when the
    scorer failed. Returned by scorers; stored on the trace as an assessment."""

    name: str = "feedback"
    value: Any = None
    rationale: str | None = None
    source: AssessmentSource = field(default_factory=AssessmentSource)
    error: AssessmentError | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    span_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectation:
    """The expected answer (ground truth) for a trace."""

    name: str
    value: Any
    source: AssessmentSource = field(default_factory=lambda: AssessmentSource(AssessmentSourceType.HUMAN))
    metadata: Mapping[str, str] = field(default_factory=dict)
    span_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Assessment:
    """A stored assessment: a ``Feedback`` or an ``Expectation`` attached to a trace.

    ``kind`` is ``"feedback"`` or ``"expectation"``; ``run_id`` is the evaluation run that
    produced it, if any.
    """

    assessment_id: str
    trace_id: str
    name: str
    kind: str
    value: Any
    rationale: str | None = None
    source: AssessmentSource = field(default_factory=AssessmentSource)
    error: AssessmentError | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    span_id: str | None = None
    run_id: str | None = None
    create_time_ms: int = 0

    @property
    def feedback(self) -> Feedback | None:
        if self.kind != "feedback":
            return None
        return Feedback(
            name=self.name,
            value=self.value,
            rationale=self.rationale,
            source=self.source,
            error=self.error,
            metadata=self.metadata,
            span_id=self.span_id,
        )

    @property
    def expectation(self) -> Expectation | None:
        if self.kind != "expectation":
            return None
        return Expectation(
            name=self.name, value=self.value, source=self.source, metadata=self.metadata, span_id=self.span_id
        )
