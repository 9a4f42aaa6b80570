"""Optional OTLP/HTTP export of the same spans to any OpenTelemetry collector.

Runs on the exporter's thread, after the store write. Each span carries its inputs and outputs as
JSON in ``mlflow.spanInputs`` / ``mlflow.spanOutputs`` and its type in ``mlflow.spanType``; the root
span also carries ``mlflow.modelId`` (and ``genver.model_id``), so the version link survives in
any backend.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from genver.config import SERVICE_NAME
from genver.entities import Trace
from genver.entities import trace as keys
from genver.exceptions import InvalidArgumentError


def make_otlp_exporter(endpoint: str) -> Callable[[list[Trace]], None]:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise InvalidArgumentError(
            f"OTLP export to {endpoint!r} needs the OTLP exporter: pip install 'genver[otlp]'."
        ) from None
    if not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    exporter = OTLPSpanExporter(endpoint=endpoint)

    def export(traces: list[Trace]) -> None:
        spans = [s for t in traces for s in to_readable_spans(t)]
        if spans:
            exporter.export(spans)

    return export


def to_readable_spans(trace: Trace) -> list[Any]:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

    resource = Resource.create({"service.name": SERVICE_NAME.get() or "genver-app"})
    trace_int = int(trace.info.trace_id[3:], 16)
    out = []
    for s in trace.data.spans:
        ctx = SpanContext(trace_int, int(s.span_id, 16), is_remote=False, trace_flags=TraceFlags(1))
        parent = (
            SpanContext(trace_int, int(s.parent_id, 16), is_remote=False, trace_flags=TraceFlags(1))
            if s.parent_id
            else None
        )
        attrs: dict[str, Any] = {}
        for k, v in s.attributes.items():
            attrs[k] = v if isinstance(v, (str, bool, int, float)) else json.dumps(v, default=str)
        attrs[keys.SPAN_TYPE_KEY] = s.span_type
        attrs[keys.INPUTS_KEY] = json.dumps(s.inputs, default=str)
        attrs[keys.OUTPUTS_KEY] = json.dumps(s.outputs, default=str)
        attrs["mlflow.traceRequestId"] = trace.info.trace_id
        if s.parent_id is None:
            model_id = trace.info.model_id
            if model_id:
                attrs[keys.MODEL_ID_KEY] = model_id
                attrs["genver.model_id"] = model_id
            attrs["genver.experiment_id"] = trace.info.experiment_id
        code = StatusCode.ERROR if s.status.status_code.value == "ERROR" else StatusCode.OK
        out.append(
            ReadableSpan(
                name=s.name,
                context=ctx,
                parent=parent,
                resource=resource,
                attributes=attrs,
                events=[Event(e.name, dict(e.attributes), e.timestamp) for e in s.events],
                status=Status(code, s.status.description or None if code is StatusCode.ERROR else None),
                start_time=s.start_time_ns,
                end_time=s.end_time_ns,
            )
        )
    return out
