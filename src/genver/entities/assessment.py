"""Assessments on traces: ``Feedback`` (a score from a scorer, a judge or a person) and
``Expectation`` (the ground truth), as MLflow 3 shapes them.

``Feedback`` and ``Expectation`` are what a caller writes (``genver.log_feedback``, a scorer's
return value); ``Assessment`` is what the store keeps: either one, with its id, trace, times and
whether a later feedback overrides it (``valid``, ``overrides``).
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast


class AssessmentSourceType:
    """Who produced an assessment. Strings are accepted in any case (``"human"``); MLflow's
    deprecated ``AI_JUDGE`` reads as ``LLM_JUDGE``."""

    SOURCE_TYPE_UNSPECIFIED = "SOURCE_TYPE_UNSPECIFIED"
    CODE = "CODE"
    LLM_JUDGE = "LLM_JUDGE"
    HUMAN = "HUMAN"
    AI_JUDGE = "AI_JUDGE"  # MLflow's old name of LLM_JUDGE

    #: The types a store accepts.
    ALL = (SOURCE_TYPE_UNSPECIFIED, CODE, LLM_JUDGE, HUMAN)

    @staticmethod
    def standardize(value: object) -> object:
        """``value`` upper-cased (and ``AI_JUDGE`` as ``LLM_JUDGE``) when it names a type; any
        other value unchanged, for the store to refuse by name."""
        if not isinstance(value, str):
            return value
        upper = value.upper()
        if upper == AssessmentSourceType.AI_JUDGE:
            return AssessmentSourceType.LLM_JUDGE
        return upper if upper in AssessmentSourceType.ALL else value


@dataclass(frozen=True, slots=True)
class AssessmentSource:
    """``AssessmentSource(source_type="HUMAN", source_id="ana@example.com")``."""

    source_type: str = AssessmentSourceType.CODE
    source_id: str = "default"

    def __post_init__(self) -> None:
        object.__setattr__(self, "source_type", AssessmentSourceType.standardize(self.source_type))


@dataclass(frozen=True, slots=True)
class AssessmentError:
    """Why a scorer could not produce a value (the row is recorded, not fatal)."""

    error_code: str
    error_message: str | None = None


def _error_of(error: object) -> object:
    """MLflow's ``error=`` forms: an exception (its class name is the code, its message and
    traceback the message) or a string (code ``ASSESSMENT_ERROR``); anything else as given."""
    if isinstance(error, BaseException):
        text = str(error)
        if error.__traceback__ is not None:
            text = "".join(traceback.format_exception(error)).rstrip()
        return AssessmentError(type(error).__name__, text)
    if isinstance(error, str):
        return AssessmentError("ASSESSMENT_ERROR", error)
    return error


def _source_of(source: object, default: str) -> object:
    return AssessmentSource(default) if source is None else source


@dataclass(frozen=True, slots=True, kw_only=True)
class Feedback:
    """A score: ``value`` is a bool, number, string (or JSON-compatible value); ``error`` when the
    scorer failed (an ``AssessmentError``, an exception or a message). Returned by scorers; stored
    on a trace with ``genver.log_assessment`` / ``log_feedback``. The source defaults to CODE.

    >>> Feedback(name="relevance", value=0.9, rationale="on topic").source.source_type
    'CODE'
    """

    name: str = "feedback"
    value: Any = None
    rationale: str | None = None
    source: AssessmentSource = field(default_factory=AssessmentSource)
    error: AssessmentError | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    span_id: str | None = None
    trace_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", _source_of(self.source, AssessmentSourceType.CODE))
        object.__setattr__(self, "error", _error_of(self.error))
        if cast(object, self.metadata) is None:  # MLflow's metadata=None
            object.__setattr__(self, "metadata", {})


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectation:
    """The expected answer (ground truth) for a trace; the source defaults to HUMAN.

    >>> Expectation(name="expected_response", value="Paris").source.source_type
    'HUMAN'
    """

    name: str
    value: Any
    source: AssessmentSource = field(default_factory=lambda: AssessmentSource(AssessmentSourceType.HUMAN))
    metadata: Mapping[str, str] = field(default_factory=dict)
    span_id: str | None = None
    trace_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", _source_of(self.source, AssessmentSourceType.HUMAN))
        if cast(object, self.metadata) is None:  # MLflow's metadata=None
            object.__setattr__(self, "metadata", {})


@dataclass(frozen=True, slots=True, kw_only=True)
class Assessment:
    """A stored assessment: a ``Feedback`` or an ``Expectation`` attached to a trace.

    ``kind`` is ``"feedback"`` or ``"expectation"``; ``run_id`` is the evaluation run that
    produced it, if any. ``overrides`` names the assessment this one replaces (``override_feedback``);
    that one is then kept with ``valid=False``. ``last_update_time_ms`` is the creation time for
    assessments logged through ``log_feedback`` and friends, stamped again by ``update_assessment``
    (0 when never set: assessments stored before genver kept it, or logged with 0).
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
    last_update_time_ms: int = 0
    valid: bool = True
    overrides: str | None = None

    @property
    def feedback(self) -> Feedback | None:
        """The feedback (``.value``, ``.error``), or None for an expectation."""
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
            trace_id=self.trace_id,
        )

    @property
    def expectation(self) -> Expectation | None:
        """The expectation (``.value``), or None for a feedback."""
        if self.kind != "expectation":
            return None
        return Expectation(
            name=self.name,
            value=self.value,
            source=self.source,
            metadata=self.metadata,
            span_id=self.span_id,
            trace_id=self.trace_id,
        )

    @property
    def error_code(self) -> str | None:
        return self.error.error_code if self.error else None

    @property
    def error_message(self) -> str | None:
        return self.error.error_message if self.error else None
