"""Traces and spans, as MLflow 3 shapes them (``tr-<32 hex>`` ids, states ``OK``/``ERROR``/
``IN_PROGRESS``, metadata key ``mlflow.modelId`` for the version a trace belongs to)."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

MODEL_ID_KEY = "mlflow.modelId"
SOURCE_RUN_KEY = "mlflow.sourceRun"
SESSION_KEY = "mlflow.trace.session"
USER_KEY = "mlflow.trace.user"
TOKEN_USAGE_KEY = "mlflow.trace.tokenUsage"
COST_KEY = "genver.trace.cost"
INPUTS_KEY = "mlflow.spanInputs"
OUTPUTS_KEY = "mlflow.spanOutputs"
SPAN_TYPE_KEY = "mlflow.spanType"


class SpanType:
    """Well-known span types (plain strings; any string is accepted)."""

    LLM = "LLM"
    CHAT_MODEL = "CHAT_MODEL"
    CHAIN = "CHAIN"
    AGENT = "AGENT"
    TOOL = "TOOL"
    RETRIEVER = "RETRIEVER"
    EMBEDDING = "EMBEDDING"
    RERANKER = "RERANKER"
    PARSER = "PARSER"
    MEMORY = "MEMORY"
    EVALUATOR = "EVALUATOR"
    UNKNOWN = "UNKNOWN"


class TraceState(str, enum.Enum):
    OK = "OK"
    ERROR = "ERROR"
    IN_PROGRESS = "IN_PROGRESS"
    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"

    def __str__(self) -> str:
        return self.value


class SpanStatusCode(str, enum.Enum):
    OK = "OK"
    ERROR = "ERROR"
    UNSET = "UNSET"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class SpanStatus:
    status_code: SpanStatusCode = SpanStatusCode.UNSET
    description: str = ""


@dataclass(frozen=True, slots=True)
class SpanEvent:
    name: str
    timestamp: int  # nanoseconds
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    """A finished span. ``inputs``, ``outputs`` and ``attributes`` hold JSON-compatible values."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    span_type: str = SpanType.UNKNOWN
    start_time_ns: int
    end_time_ns: int | None
    status: SpanStatus = field(default_factory=SpanStatus)
    inputs: Any = None
    outputs: Any = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    events: Sequence[SpanEvent] = ()

    @property
    def request_id(self) -> str:
        return self.trace_id

    @property
    def duration_ms(self) -> float | None:
        return None if self.end_time_ns is None else (self.end_time_ns - self.start_time_ns) / 1e6

    def get_attribute(self, key: str) -> Any:
        return self.attributes.get(key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_id": self.parent_id,
            "name": self.name,
            "span_type": self.span_type,
            "start_time_ns": self.start_time_ns,
            "end_time_ns": self.end_time_ns,
            "status": {"status_code": self.status.status_code.value, "description": self.status.description},
            "inputs": self.inputs,
            "outputs": self.outputs,
            "attributes": dict(self.attributes),
            "events": [
                {"name": e.name, "timestamp": e.timestamp, "attributes": dict(e.attributes)}
                for e in self.events
            ],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Span:
        status = d.get("status") or {}
        return cls(
            trace_id=d["trace_id"],
            span_id=d["span_id"],
            parent_id=d.get("parent_id"),
            name=d["name"],
            span_type=d.get("span_type") or SpanType.UNKNOWN,
            start_time_ns=int(d["start_time_ns"]),
            end_time_ns=None if d.get("end_time_ns") is None else int(d["end_time_ns"]),
            status=SpanStatus(
                SpanStatusCode(status.get("status_code", "UNSET")), status.get("description", "")
            ),
            inputs=d.get("inputs"),
            outputs=d.get("outputs"),
            attributes=dict(d.get("attributes") or {}),
            events=tuple(
                SpanEvent(e["name"], int(e["timestamp"]), dict(e.get("attributes") or {}))
                for e in d.get("events") or ()
            ),
        )


@dataclass(frozen=True, slots=True)
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceInfo:
    """A trace's summary: ids, state, timing, previews, metadata (``mlflow.modelId``...) and tags."""

    trace_id: str
    experiment_id: str
    request_time: int  # ms since the epoch
    execution_duration: int | None  # ms
    state: TraceState = TraceState.OK
    request_preview: str | None = None
    response_preview: str | None = None
    client_request_id: str | None = None
    trace_metadata: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    assessments: Sequence[Any] = ()
    token_usage: TokenUsage | None = None
    cost: float | None = None

    @property
    def request_id(self) -> str:
        return self.trace_id

    @property
    def timestamp_ms(self) -> int:
        return self.request_time

    @property
    def execution_time_ms(self) -> int | None:
        return self.execution_duration

    @property
    def request_metadata(self) -> Mapping[str, str]:
        return self.trace_metadata

    @property
    def status(self) -> TraceState:
        return self.state

    @property
    def model_id(self) -> str | None:
        """The version this trace belongs to (metadata ``mlflow.modelId``)."""
        return self.trace_metadata.get(MODEL_ID_KEY)

    @property
    def run_id(self) -> str | None:
        return self.trace_metadata.get(SOURCE_RUN_KEY)


@dataclass(frozen=True, slots=True)
class TraceData:
    spans: list[Span] = field(default_factory=list)

    @property
    def root(self) -> Span | None:
        ids = {s.span_id for s in self.spans}
        for s in self.spans:
            if s.parent_id is None or s.parent_id not in ids:
                return s
        return None

    @property
    def request(self) -> str | None:
        root = self.root
        return None if root is None or root.inputs is None else json.dumps(root.inputs, default=str)

    @property
    def response(self) -> str | None:
        root = self.root
        return None if root is None or root.outputs is None else json.dumps(root.outputs, default=str)


@dataclass(frozen=True, slots=True)
class Trace:
    """A trace: ``info`` (summary) and ``data`` (spans; empty when searched without spans)."""

    info: TraceInfo
    data: TraceData = field(default_factory=TraceData)

    def search_spans(self, span_type: str | None = None, name: str | None = None) -> list[Span]:
        return [
            s
            for s in self.data.spans
            if (span_type is None or s.span_type == span_type) and (name is None or s.name == name)
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceStats:
    """Per-version trace statistics over a time window, computed by the store.

    Latencies are in milliseconds; ``*_per_request`` are means over the traces counted.
    """

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
    bucket_start: int | None = None  # set when computed per time bucket (``bucket_ms``)

    @property
    def error_rate(self) -> float:
        return self.error_count / self.trace_count if self.trace_count else 0.0

    @property
    def tokens_per_request(self) -> float:
        return self.total_tokens / self.trace_count if self.trace_count else 0.0

    @property
    def cost_per_request(self) -> float:
        return self.cost / self.trace_count if self.trace_count else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "trace_count": self.trace_count,
            "error_count": self.error_count,
            "error_rate": self.error_rate,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p95_ms": self.latency_p95_ms,
            "latency_p99_ms": self.latency_p99_ms,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "tokens_per_request": self.tokens_per_request,
            "cost": self.cost,
            "cost_per_request": self.cost_per_request,
            "first_trace_time": self.first_trace_time,
            "last_trace_time": self.last_trace_time,
            **({} if self.bucket_start is None else {"bucket_start": self.bucket_start}),
        }


class SpanOutline(NamedTuple):
    """A span without its payload (inputs, outputs, attributes, events): where it sits in the
    tree, its timing and status, and its tokens and cost when it records them. What a span tree
    or a waterfall needs; ``Store.get_spans`` reads the full spans of the few a person opens.
    A named tuple, not a dataclass: a 30,000-span trace builds 30,000 of them per read.
    ``status`` is a ``SpanStatusCode`` value ("OK", "ERROR", "UNSET"), as stored."""

    span_id: str
    parent_id: str | None
    name: str
    span_type: str
    status: str
    start_time_ns: int
    end_time_ns: int | None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None

    @property
    def duration_ms(self) -> float | None:
        return None if self.end_time_ns is None else (self.end_time_ns - self.start_time_ns) / 1e6

    @property
    def total_tokens(self) -> int | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


@dataclass(frozen=True, slots=True)
class TraceOutline:
    """A trace's ``info`` and the outline of every span (``Store.get_trace_outline``), in start
    order: a 30,000-span trace's tree without decoding 30,000 inputs and outputs."""

    info: TraceInfo
    spans: tuple[SpanOutline, ...] = ()
