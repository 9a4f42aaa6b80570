"""Wire models for traces (batched ingest, search, statistics) and assessments."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictInt

from genver.entities import (
    Assessment,
    AssessmentError,
    AssessmentSource,
    Expectation,
    Feedback,
    Span,
    SpanOutline,
    SpanStatusCode,
    TokenUsage,
    Trace,
    TraceData,
    TraceInfo,
    TraceOutline,
    TraceState,
    TraceStats,
)
from genver.exceptions import InvalidArgumentError
from genver.wire.base import Int64, Page, Wire

__all__ = [
    "AssessmentList",
    "AssessmentW",
    "DeleteTraces",
    "Deleted",
    "GetAssessments",
    "LogAssessments",
    "LogTraces",
    "SearchTraces",
    "SpanList",
    "SpanOutlineW",
    "TraceInfoW",
    "TraceOutlineW",
    "TracePage",
    "TraceStatsList",
    "TraceStatsQuery",
    "TraceStatsW",
    "TraceW",
    "UpdateAssessment",
]


_STATES = frozenset(s.value for s in TraceState)
_SPAN_CODES = frozenset(c.value for c in SpanStatusCode)


# -- traces and assessments ------------------------------------------------------------------------
class AssessmentW(Wire):
    assessment_id: str
    trace_id: str
    name: str
    kind: str
    value: Any = None
    rationale: str | None = None
    source_type: str
    source_id: str
    error_code: str | None = None
    error_message: str | None = None
    metadata: dict[str, str] = {}
    span_id: str | None = None
    run_id: str | None = None
    create_time_ms: Int64 = 0
    last_update_time_ms: Int64 = 0
    valid: bool = True
    overrides: str | None = None

    @classmethod
    def of(cls, a: Assessment) -> AssessmentW:
        return cls(
            assessment_id=a.assessment_id,
            trace_id=a.trace_id,
            name=a.name,
            kind=a.kind,
            value=a.value,
            rationale=a.rationale,
            source_type=a.source.source_type,
            source_id=a.source.source_id,
            error_code=a.error.error_code if a.error else None,
            error_message=a.error.error_message if a.error else None,
            metadata=dict(a.metadata),
            span_id=a.span_id,
            run_id=a.run_id,
            create_time_ms=a.create_time_ms,
            last_update_time_ms=a.last_update_time_ms,
            valid=a.valid,
            overrides=a.overrides,
        )

    def entity(self) -> Assessment:
        return Assessment(
            assessment_id=self.assessment_id,
            trace_id=self.trace_id,
            name=self.name,
            kind=self.kind,
            value=self.value,
            rationale=self.rationale,
            source=AssessmentSource(self.source_type, self.source_id),
            error=None if self.error_code is None else AssessmentError(self.error_code, self.error_message),
            metadata=self.metadata,
            span_id=self.span_id,
            run_id=self.run_id,
            create_time_ms=self.create_time_ms,
            last_update_time_ms=self.last_update_time_ms,
            valid=self.valid,
            overrides=self.overrides,
        )


class TraceInfoW(Wire):
    trace_id: str
    experiment_id: str
    request_time: Int64
    execution_duration: Int64 | None = None
    state: str = TraceState.OK.value
    request_preview: str | None = None
    response_preview: str | None = None
    client_request_id: str | None = None
    trace_metadata: dict[str, str] = {}
    tags: dict[str, str] = {}
    assessments: list[AssessmentW] = []
    token_usage: dict[str, Int64] | None = None
    cost: float | None = None

    @classmethod
    def of(cls, i: TraceInfo) -> TraceInfoW:
        return cls(
            trace_id=i.trace_id,
            experiment_id=i.experiment_id,
            request_time=i.request_time,
            execution_duration=i.execution_duration,
            state=i.state.value if isinstance(i.state, TraceState) else i.state,
            request_preview=i.request_preview,
            response_preview=i.response_preview,
            client_request_id=i.client_request_id,
            trace_metadata=dict(i.trace_metadata),
            tags=dict(i.tags),
            assessments=[AssessmentW.of(a) for a in i.assessments if isinstance(a, Assessment)],
            token_usage=i.token_usage.to_dict() if i.token_usage else None,
            cost=i.cost,
        )

    def entity(self) -> TraceInfo:
        return TraceInfo(
            **self.model_dump(exclude={"assessments", "token_usage", "state"}),
            # an unknown state goes to the store as sent, which refuses it by name
            state=TraceState(self.state) if self.state in _STATES else self.state,  # type: ignore[arg-type]
            assessments=[a.entity() for a in self.assessments] if self.assessments else (),
            token_usage=_token_usage(self.token_usage, self.trace_id),
        )


class TraceW(Wire):
    info: TraceInfoW
    spans: list[dict[str, Any]] = Field(default=[], description="Spans as Span.to_dict() writes them.")

    @classmethod
    def of(cls, t: Trace) -> TraceW:
        return cls(info=TraceInfoW.of(t.info), spans=[s.to_dict() for s in t.data.spans])

    def entity(self) -> Trace:
        spans = [_span(s, n, self.info.trace_id) for n, s in enumerate(self.spans)]
        return Trace(info=self.info.entity(), data=TraceData(spans=spans))


class SpanOutlineW(Wire):
    span_id: str
    parent_id: str | None = None
    name: str
    span_type: str
    status: str
    start_time_ns: Int64
    end_time_ns: Int64 | None = None
    input_tokens: Int64 | None = None
    output_tokens: Int64 | None = None
    cost: float | None = None


class TraceOutlineW(Wire):
    """``GET /api/v1/traces/{id}/outline``: the info and every span's outline, in start order."""

    info: TraceInfoW
    spans: list[SpanOutlineW] = []

    @classmethod
    def of(cls, o: TraceOutline) -> TraceOutlineW:
        return cls(info=TraceInfoW.of(o.info), spans=[SpanOutlineW(**s.to_dict()) for s in o.spans])

    def entity(self) -> TraceOutline:
        spans = tuple(
            SpanOutline(**{**s.model_dump(), "status": _status(s.status, self.info.trace_id)})
            for s in self.spans
        )
        return TraceOutline(self.info.entity(), spans)


class SpanList(Wire):
    """``GET /api/v1/traces/{id}/spans?span_id=...``: full spans, as Span.to_dict() writes them."""

    spans: list[dict[str, Any]] = []

    def entities(self, trace_id: str) -> list[Span]:
        return [_span(s, n, trace_id) for n, s in enumerate(self.spans)]


def _status(value: str, trace_id: str) -> str:
    if value not in _SPAN_CODES:
        raise InvalidArgumentError(
            f"Invalid span status {value!r} in trace {trace_id!r}: expected one of {sorted(_SPAN_CODES)}."
        )
    return value


def _span(d: dict[str, Any], n: int, trace_id: str) -> Span:
    try:
        return Span.from_dict(d)
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        why = f"missing key {e.args[0]!r}" if isinstance(e, KeyError) else str(e)
        raise InvalidArgumentError(
            f"Invalid span {d!r} (spans[{n}] of trace {trace_id!r}): {why}; "
            "expected a span as Span.to_dict() writes it."
        ) from None


def _token_usage(usage: dict[str, int] | None, trace_id: str) -> TokenUsage | None:
    if not usage:
        return None
    unknown = sorted(set(usage) - {"input_tokens", "output_tokens", "total_tokens"})
    if unknown:
        raise InvalidArgumentError(
            f"Invalid token_usage {usage!r} of trace {trace_id!r}: unknown keys {unknown}; "
            "expected input_tokens, output_tokens, total_tokens."
        )
    return TokenUsage(**usage)


class LogTraces(Wire):
    traces: list[TraceW]


class SearchTraces(Wire):
    experiment_ids: list[str]
    filter_string: str | None = None
    max_results: StrictInt = 100
    order_by: list[str] | None = None
    page_token: str | None = None
    include_spans: bool = True


class TracePage(Page):
    traces: list[TraceW]


class DeleteTraces(Wire):
    experiment_id: str
    max_timestamp_millis: Int64 | None = None
    max_traces: Int64 | None = None
    trace_ids: list[str] | None = None


class Deleted(Wire):
    deleted: int


class TraceStatsQuery(Wire):
    experiment_ids: list[str] | None = None
    model_ids: list[str] | None = None
    start_time: Int64 | None = None
    end_time: Int64 | None = None
    bucket_ms: Int64 | None = None


class TraceStatsW(Wire):
    model_id: str | None
    trace_count: int
    error_count: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost: float
    first_trace_time: int | None = None
    last_trace_time: int | None = None
    bucket_start: int | None = None

    @classmethod
    def of(cls, s: TraceStats) -> TraceStatsW:
        d = s.to_dict()
        for derived in ("error_rate", "tokens_per_request", "cost_per_request"):
            d.pop(derived)
        return cls(**d)

    def entity(self) -> TraceStats:
        return TraceStats(**self.model_dump())


class TraceStatsList(Wire):
    stats: list[TraceStatsW]


class LogAssessments(Wire):
    assessments: list[AssessmentW]


class GetAssessments(Wire):
    trace_ids: list[str] | None = None
    run_id: str | None = None
    name: str | None = None


class AssessmentList(Wire):
    assessments: list[AssessmentW]


class UpdateAssessment(Wire):
    """The new values of an assessment (``PATCH /assessments/{trace_id}/{assessment_id}``): a
    feedback's or an expectation's fields. Values are checked by the store, as locally."""

    kind: str
    name: Any
    value: Any = None
    rationale: Any = None
    error_code: Any = None
    error_message: Any = None
    metadata: Any = {}

    @classmethod
    def of(cls, update: Feedback | Expectation) -> UpdateAssessment:
        if isinstance(update, Feedback):
            error = update.error
            return cls(
                kind="feedback",
                name=update.name,
                value=update.value,
                rationale=update.rationale,
                error_code=error.error_code if isinstance(error, AssessmentError) else error,
                error_message=error.error_message if isinstance(error, AssessmentError) else None,
                metadata=update.metadata,
            )
        return cls(kind="expectation", name=update.name, value=update.value, metadata=update.metadata)

    def entity(self) -> Feedback | Expectation:
        if self.kind == "feedback":
            error = None if self.error_code is None else AssessmentError(self.error_code, self.error_message)
            return Feedback(
                name=self.name,
                value=self.value,
                rationale=self.rationale,
                error=error,
                metadata=self.metadata,
            )
        if self.kind == "expectation":
            return Expectation(name=self.name, value=self.value, metadata=self.metadata)
        raise InvalidArgumentError(f"Invalid kind {self.kind!r}: expected 'feedback' or 'expectation'.")
