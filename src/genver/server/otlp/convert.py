"""OTLP spans to genver traces: pure functions, no store.

Each OTLP trace id becomes a genver trace ``tr-<32 hex>``; spans keep their hex ids, parent,
name, status, times (ns), attributes and events (``AnyValue`` trees as JSON values; bytes as
base64). Span type, inputs, outputs, tokens and cost are read by ``genver.span_attributes``, the
mapping genver's own tracing uses too: MLflow's attributes, the GenAI semantic conventions' and
OpenInference's.

Links, first found (the root span first, then the others; then the resource; then the header):
the version from ``genver.model_id`` / ``mlflow.modelId``, the experiment from
``genver.experiment_id``, the session from ``session.id`` / ``mlflow.trace.session``, the user
from ``user.id`` / ``mlflow.trace.user``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from genver import span_attributes
from genver.entities import (
    Span,
    SpanEvent,
    SpanStatus,
    SpanStatusCode,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from genver.entities.trace import (
    MODEL_ID_KEY,
    SESSION_KEY,
    SPAN_TYPE_KEY,
    USER_KEY,
)
from genver.span_attributes import add_usage_and_cost, take_inputs_outputs
from genver.trace_summary import PriceTable, preview, summarize, usage_metadata

GENVER_MODEL_ID = "genver.model_id"
GENVER_EXPERIMENT_ID = "genver.experiment_id"
SPAN_KIND_KEY = "genver.span.kind"
MODEL_KEYS = (GENVER_MODEL_ID, MODEL_ID_KEY)
EXPERIMENT_KEYS = (GENVER_EXPERIMENT_ID,)
SESSION_KEYS = ("session.id", SESSION_KEY)
USER_KEYS = ("user.id", USER_KEY)
DEFAULT_EXPERIMENT_ID = "0"
_INT64 = 2**63 - 1
_STATUS = {
    Status.STATUS_CODE_OK: SpanStatusCode.OK,
    Status.STATUS_CODE_ERROR: SpanStatusCode.ERROR,
}
_KINDS = {
    OtlpSpan.SPAN_KIND_SERVER: "SERVER",
    OtlpSpan.SPAN_KIND_CLIENT: "CLIENT",
    OtlpSpan.SPAN_KIND_PRODUCER: "PRODUCER",
    OtlpSpan.SPAN_KIND_CONSUMER: "CONSUMER",
}


@dataclass(frozen=True, slots=True)
class Headers:
    """The links a request's HTTP headers give every trace in it (already checked)."""

    model_id: str | None = None
    experiment_id: str | None = None


@dataclass(slots=True)
class Converted:
    """The traces of one request, and what was rejected on the way (spans, with reasons)."""

    traces: list[Trace] = field(default_factory=list)
    span_counts: dict[str, int] = field(default_factory=dict)  # trace id -> spans received
    rejected_spans: int = 0
    problems: list[str] = field(default_factory=list)

    def reject(self, spans: int, problem: str) -> None:
        self.rejected_spans += spans
        self.problems.append(problem)


def any_value(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as a JSON value (bytes as base64 text, an empty value as None)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None


def attributes(items: Iterable[KeyValue]) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in items}


def convert(request: ExportTraceServiceRequest, *, headers: Headers, prices: PriceTable) -> Converted:
    """The genver traces of an OTLP request; spans that cannot be stored are counted as rejected."""
    out = Converted()
    grouped: dict[str, list[tuple[Span, dict[str, Any]]]] = {}
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for otlp in scope_spans.spans:
                trace_hex = otlp.trace_id.hex()
                if len(trace_hex) != 32 or not any(otlp.trace_id):
                    out.reject(1, f"invalid trace id {trace_hex!r} (expected 16 bytes, not all zero)")
                    continue
                span = _span(otlp, "tr-" + trace_hex, prices)
                if isinstance(span, str):
                    out.reject(1, span)
                    continue
                grouped.setdefault(span.trace_id, []).append((span, resource))
    for trace_id, received in grouped.items():
        out.traces.append(_trace(trace_id, received, headers))
        out.span_counts[trace_id] = len(received)
    return out


def _span(s: OtlpSpan, trace_id: str, prices: PriceTable) -> Span | str:
    span_id, parent_id = s.span_id.hex(), s.parent_span_id.hex()
    if len(span_id) != 16 or not any(s.span_id):
        return f"invalid span id {span_id!r} in trace {trace_id!r} (expected 8 bytes, not all zero)"
    if parent_id and len(parent_id) != 16:
        return f"invalid parent span id {parent_id!r} of span {span_id!r} (expected 8 bytes)"
    if s.start_time_unix_nano > _INT64 or s.end_time_unix_nano > _INT64:
        return f"span {span_id!r} of trace {trace_id!r}: a time past year 2262 (ns beyond 2**63)"
    attrs = attributes(s.attributes)
    # The mapping genver's own tracing uses too (genver.span_attributes): MLflow's, the GenAI
    # semantic conventions' and OpenInference's attributes all land in the same span model.
    inputs, outputs = take_inputs_outputs(attrs)
    span_type = span_attributes.span_type(attrs)
    attrs[SPAN_TYPE_KEY] = span_type
    if s.kind in _KINDS:
        attrs[SPAN_KIND_KEY] = _KINDS[s.kind]
    add_usage_and_cost(attrs, prices)
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=parent_id or None,
        name=s.name,
        span_type=span_type,
        start_time_ns=s.start_time_unix_nano,
        end_time_ns=s.end_time_unix_nano or None,
        status=SpanStatus(_STATUS.get(s.status.code, SpanStatusCode.UNSET), s.status.message),
        inputs=inputs,
        outputs=outputs,
        attributes=attrs,
        events=tuple(SpanEvent(e.name, e.time_unix_nano, attributes(e.attributes)) for e in s.events),
    )


def _trace(trace_id: str, received: Sequence[tuple[Span, dict[str, Any]]], headers: Headers) -> Trace:
    # Root first: its links win over those of the other spans, whose win over the resources'.
    ordered = sorted(received, key=lambda r: r[0].parent_id is not None)
    spans = [s for s, _ in ordered]
    sources: list[Mapping[str, Any]] = [s.attributes for s in spans] + [r for _, r in ordered]
    root = spans[0] if spans[0].parent_id is None else None
    metadata = {"mlflow.trace_schema.version": "3"}
    metadata.update(resource_metadata(ordered[0][1]))  # the root's (else first) span's resource
    for key, keys, fallback in (
        (MODEL_ID_KEY, MODEL_KEYS, headers.model_id),
        (SESSION_KEY, SESSION_KEYS, None),
        (USER_KEY, USER_KEYS, None),
    ):
        value = _first(sources, keys) or fallback
        if value:
            metadata[key] = value
    experiment_id = _first(sources, EXPERIMENT_KEYS) or headers.experiment_id or DEFAULT_EXPERIMENT_ID
    usage, cost = summarize(spans)
    metadata.update(usage_metadata(usage, cost))
    request_preview = None if root is None else preview(root.inputs)
    response_preview = None if root is None else preview(root.outputs)
    if request_preview is not None:
        metadata["mlflow.traceInputs"] = request_preview
    if response_preview is not None:
        metadata["mlflow.traceOutputs"] = response_preview
    start = min(s.start_time_ns for s in spans)
    end = max(s.end_time_ns if s.end_time_ns is not None else s.start_time_ns for s in spans)
    if root is None:
        state = TraceState.IN_PROGRESS  # the root span comes in a later request
    else:
        state = TraceState.ERROR if root.status.status_code is SpanStatusCode.ERROR else TraceState.OK
    info = TraceInfo(
        trace_id=trace_id,
        experiment_id=experiment_id,
        request_time=start // 1_000_000,
        execution_duration=max(end - start, 0) // 1_000_000,
        state=state,
        request_preview=request_preview,
        response_preview=response_preview,
        trace_metadata=metadata,
        token_usage=usage,
        cost=cost,
    )
    return Trace(info, TraceData(sorted(spans, key=lambda s: (s.start_time_ns, s.span_id))))


#: Resource attributes kept on a trace, as metadata ``resource.<key>``: at most this many, each
#: value cut to this many characters (a resource describes the process: service.name,
#: service.version, deployment.environment, host.name, telemetry.sdk.*).
MAX_RESOURCE_KEYS = 32
MAX_RESOURCE_VALUE = 256
RESOURCE_PREFIX = "resource."


def resource_metadata(resource: Mapping[str, Any]) -> dict[str, str]:
    """The resource's scalar attributes as trace metadata (``resource.service.name`` ...), so a
    trace from another language keeps which service, version and environment sent it and can
    be searched by them (``resource.service.name = 'checkout'``)."""
    out: dict[str, str] = {}
    for key in sorted(resource)[: MAX_RESOURCE_KEYS * 2]:
        value = resource[key]
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            text = str(value)
        else:
            continue  # arrays and maps describe little that a search needs
        name = RESOURCE_PREFIX + key
        if "\x00" in name or "\x00" in text or len(name) > 250:
            continue
        out[name] = text[:MAX_RESOURCE_VALUE]
        if len(out) == MAX_RESOURCE_KEYS:
            break
    return out


def _first(sources: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> str | None:
    for attrs in sources:
        for key in keys:
            value = span_attributes.text(attrs.get(key))
            if value:
                return value
    return None
