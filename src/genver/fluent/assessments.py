"""Feedback and expectations on traces in the fluent API, with MLflow's names:
``log_feedback``, ``log_expectation``, ``log_assessment``, ``get_assessment``,
``update_assessment``, ``delete_assessment`` and ``override_feedback``.

A trace is stored by the background exporter shortly after its root span ends, so feedback
logged right after a traced call (``trace_id=genver.get_last_active_trace_id()``) would often
find no trace yet: a call that finds none waits once for the traces this instance is still
exporting and tries again. A trace still in progress (inside its root span) cannot be assessed
yet: that is an ``InvalidArgumentError`` saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from genver.client.traces import to_assessment
from genver.entities import Assessment, AssessmentError, AssessmentSource, Expectation, Feedback
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.fluent.base import FluentBase

T = TypeVar("T")


class AssessmentsAPI(FluentBase):
    """Assessments: scores and ground truth attached to stored traces."""

    def log_assessment(self, trace_id: str, assessment: Assessment | Feedback | Expectation) -> Assessment:
        """Store a ``Feedback`` or ``Expectation`` on a trace; returns it as stored (with its
        ``assessment_id``).

        >>> genver.log_assessment(trace_id, Feedback(name="faithfulness", value=0.9))  # doctest: +SKIP
        """
        stored = to_assessment(trace_id, assessment)  # checked before waiting for any trace
        return self._on_stored_trace(trace_id, lambda: self.client.log_assessment(trace_id, stored))

    def log_feedback(
        self,
        *,
        trace_id: str,
        name: str = "feedback",
        value: Any = None,
        source: AssessmentSource | None = None,
        error: Exception | AssessmentError | None = None,
        rationale: str | None = None,
        metadata: dict[str, Any] | None = None,
        span_id: str | None = None,
    ) -> Assessment:
        """Log feedback (a score) on a trace: ``value`` is a bool, number, string, or a list or
        dict of those; ``error`` (an exception or ``AssessmentError``) when it could not be
        computed. The source defaults to CODE; keyword arguments only, as in MLflow.

        >>> genver.log_feedback(trace_id=trace_id, name="relevance", value=0.9,
        ...     source=AssessmentSource(source_type="LLM_JUDGE", source_id="gpt-4"),
        ...     rationale="answers the question")  # doctest: +SKIP
        """
        feedback = Feedback(
            name=name,
            value=value,
            source=source,  # type: ignore[arg-type]  # None: the default source (CODE)
            error=error,  # type: ignore[arg-type]  # an exception: converted by Feedback
            rationale=rationale,
            metadata=metadata,  # type: ignore[arg-type]  # None: no metadata
            span_id=span_id,
        )
        return self.log_assessment(trace_id, feedback)

    def log_expectation(
        self,
        *,
        trace_id: str,
        name: str,
        value: Any,
        source: AssessmentSource | None = None,
        metadata: dict[str, Any] | None = None,
        span_id: str | None = None,
    ) -> Assessment:
        """Log an expectation (ground truth) on a trace: any JSON value but None. The source
        defaults to HUMAN; keyword arguments only.

        >>> genver.log_expectation(trace_id=trace_id, name="expected_answer", value="Paris")  # doctest: +SKIP
        """
        if value is None:
            raise InvalidArgumentError(
                f"Invalid value None of expectation {name!r}: an expectation needs a value (any JSON value)."
            )
        expectation = Expectation(
            name=name,
            value=value,
            source=source,  # type: ignore[arg-type]  # None: the default source (HUMAN)
            metadata=metadata,  # type: ignore[arg-type]  # None: no metadata
            span_id=span_id,
        )
        return self.log_assessment(trace_id, expectation)

    def get_assessment(self, trace_id: str, assessment_id: str) -> Assessment:
        """One assessment of a trace; unknown → ``NotFoundError`` naming both ids."""
        return self._on_stored_trace(trace_id, lambda: self.client.get_assessment(trace_id, assessment_id))

    def update_assessment(
        self, trace_id: str, assessment_id: str, assessment: Feedback | Expectation | Assessment
    ) -> Assessment:
        """Change an assessment in place: name and value (and a feedback's error) from
        ``assessment``, its rationale when it has one, metadata merged; its source and span
        stay. To keep the old value and record a correction instead, use ``override_feedback``.

        >>> genver.update_assessment(trace_id, fb.assessment_id, Feedback(name="relevance", value=0.5))  # doctest: +SKIP
        """
        return self.client.update_assessment(trace_id, assessment_id, assessment)

    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        """Delete an assessment (a no-op when it is already gone); deleting an override makes
        the feedback it overrode valid again."""
        self.client.delete_assessment(trace_id, assessment_id)

    def override_feedback(
        self,
        *,
        trace_id: str,
        assessment_id: str,
        value: Any,
        rationale: str | None = None,
        source: AssessmentSource | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Assessment:
        """Correct a feedback while keeping it: a new feedback of the same name and span with
        ``overrides`` set to the old one, which is then stored with ``valid=False`` (e.g. a
        person correcting an LLM judge). Returns the new feedback.

        >>> genver.override_feedback(trace_id=trace_id, assessment_id=judged.assessment_id, value=0.9,
        ...     source=AssessmentSource(source_type="HUMAN", source_id="ana@example.com"))  # doctest: +SKIP
        """
        old = self.get_assessment(trace_id, assessment_id)
        if old.kind != "feedback":
            raise InvalidArgumentError(
                f"Assessment {assessment_id!r} is an {old.kind}, not a feedback: only feedback can be overridden."
            )
        new = Feedback(
            name=old.name,
            value=value,
            rationale=rationale,
            source=source,  # type: ignore[arg-type]  # None: the default source (CODE)
            metadata=metadata,  # type: ignore[arg-type]  # None: no metadata
            span_id=old.span_id,
        )
        stored = to_assessment(trace_id, new, overrides=old.assessment_id)
        return self.client.log_assessment(trace_id, stored)

    def _on_stored_trace(self, trace_id: str, call: Callable[[], T]) -> T:
        return on_stored_trace(self, trace_id, call)


def on_stored_trace(gv: FluentBase, trace_id: str, call: Callable[[], T]) -> T:
    """``call()``; when the trace is not stored yet, once more after ``gv``'s pending traces
    are, and a clear error when it is the trace still in progress around the caller."""
    try:
        return call()
    except NotFoundError:
        gv.flush_trace_async_logging()
    current_span = gv.get_current_active_span()
    try:
        return call()
    except NotFoundError:
        if current_span is not None and getattr(current_span, "trace_id", None) == trace_id:
            raise InvalidArgumentError(
                f"Trace {trace_id!r} is still in progress: it is stored when its root span ends. "
                "Log feedback after the traced call returns, e.g. with "
                "trace_id=genver.get_last_active_trace_id()."
            ) from None
        raise
