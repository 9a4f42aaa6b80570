"""The tracing runtime of one genver instance: its own OpenTelemetry ``TracerProvider`` (never
the global one, so a provider the user installed is left alone), the current span, and the
exporter. A finished root span queues its trace (``LiveSpan.end`` → ``Tracing.finish``); the SDK
hands span processors a copy of each span, so the live wrapper is where genver collects. Users
can add their own processors to ``provider`` to feed their pipeline too.

Built lazily on the first span, so ``import genver`` does not load the OpenTelemetry SDK.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

from opentelemetry import context as otel_context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import StatusCode

from genver.client import GenverClient
from genver.config import SERVICE_NAME
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
from genver.entities import trace as keys
from genver.span_attributes import add_usage_and_cost
from genver.trace_summary import PriceTable, preview, summarize, usage_metadata
from genver.tracing.errors import internal_error
from genver.tracing.exporter import TraceExporter
from genver.tracing.lite import TimeOrderedIds, has_processors, start_lite
from genver.tracing.live import LiveSpan, genai_operation
from genver.tracing.serialize import to_jsonable
from genver.tracing.spool import Spool

_ROOT_CONTEXT = otel_context.Context()
_STATES = {s.value: s for s in TraceState}
_PLAIN_STATUS = {c: SpanStatus(c, "") for c in SpanStatusCode}  # frozen: shared by every span


class TracingHost(Protocol):
    """What the runtime needs from its genver instance."""

    def model_ref_for_tracing(self) -> tuple[str | None, str | None]: ...
    def run_id_for_tracing(self) -> str | None: ...
    def experiment_id_for_tracing(self) -> str | None: ...
    def resolve_trace_links(
        self, model_env_value: str | None, run_id: str | None, experiment_id: str | None
    ) -> tuple[str | None, str]: ...
    def trace_context_metadata(self) -> dict[str, str]: ...
    def trace_client(self) -> GenverClient: ...


class PendingTrace:
    """A trace in progress: its spans as they finish, and what the root stamped at its start."""

    __slots__ = (
        "runtime",
        "root",
        "finished",
        "model_id",
        "model_env",
        "run_id",
        "experiment_id",
        "metadata",
        "tags",
        "client_request_id",
        "request_preview",
        "response_preview",
        "state",
    )

    def __init__(
        self,
        runtime: Tracing,
        model_id: str | None,
        model_env: str | None,
        run_id: str | None,
        experiment_id: str | None,
    ) -> None:
        self.runtime = runtime
        self.root: LiveSpan | None = None
        self.finished: list[LiveSpan] = []
        self.model_id = model_id
        self.model_env = model_env
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.metadata: dict[str, str] | None = None
        self.tags: dict[str, str] | None = None
        self.client_request_id: str | None = None
        self.request_preview: str | None = None
        self.response_preview: str | None = None
        self.state: str | None = None


class RootRequest:
    """Metadata and tags for the next root span started in this context, and that root's trace
    id once it starts (``genai.evaluate`` labels each row's trace this way, even when the app's
    own ``@trace`` function makes the root)."""

    __slots__ = ("metadata", "tags", "trace_id")

    def __init__(self, metadata: Mapping[str, str], tags: Mapping[str, str] | None = None) -> None:
        self.metadata = dict(metadata)
        self.tags = dict(tags) if tags else None
        self.trace_id: str | None = None


class Tracing:
    """One instance's tracer, current-span context and exporter."""

    def __init__(
        self,
        host: TracingHost,
        *,
        spool: Spool,
        prices: PriceTable,
        batch_size: int = 500,
        flush_interval: float = 0.5,
        max_queue: int = 10_000,
        otlp: Callable[[list[Trace]], None] | None = None,
        resource_attributes: Mapping[str, str] | None = None,
    ) -> None:
        self.host = host
        self.prices = prices
        attrs = {
            "service.name": SERVICE_NAME.get() or "genver-app",
            "telemetry.sdk.name": "genver",
        }
        attrs.update(resource_attributes or {})
        # ALWAYS_ON: genver records every trace (ParentBased would only add a delegation hop,
        # since genver's roots never have a remote parent).
        self.provider = TracerProvider(
            resource=Resource.create(attrs), sampler=ALWAYS_ON, id_generator=TimeOrderedIds()
        )
        self.tracer = self.provider.get_tracer("genver")
        self.next_root: contextvars.ContextVar[RootRequest | None] = contextvars.ContextVar(
            f"genver_next_root_{id(self)}", default=None
        )
        self.current: contextvars.ContextVar[LiveSpan | None] = contextvars.ContextVar(
            f"genver_span_{id(self)}", default=None
        )
        self._last_root: LiveSpan | None = None
        self.exporter = TraceExporter(
            client=host.trace_client,
            spool=spool,
            convert=self.to_trace,
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_queue=max_queue,
            otlp=otlp,
        )
        self._metadata_cache: dict[str, str] | None = None
        self._lock = threading.Lock()
        if spool.pending():  # what an earlier process spooled goes now, not at the next trace
            self.exporter.start()

    # -- hot path -------------------------------------------------------------------------------
    def start(
        self,
        name: str,
        span_type: str,
        attributes: Mapping[str, Any] | None,
        parent: LiveSpan | None | Literal[False] = False,
    ) -> LiveSpan:
        """Start a span under ``parent``: by default the current span (none: a new trace)."""
        if parent is False:
            parent = self.current.get()
        # The span type travels on the LiveSpan (added to the attributes at export), so an
        # untyped span starts with no OpenTelemetry attributes to validate.
        attrs: dict[str, Any] | None = None
        op = genai_operation(span_type)
        if op is not None:
            attrs = {"gen_ai.operation.name": op}
        extra = None
        if attributes:
            for k, v in attributes.items():
                if isinstance(v, (str, bool, int, float)):
                    attrs = attrs if attrs is not None else {}
                    attrs[k] = v
                else:
                    extra = extra or {}
                    extra[k] = v
        # Without a span processor on the provider no OpenTelemetry code sees the span: genver
        # records it by itself (``LiteSpan``), at a fraction of an SDK span's cost.
        sdk = has_processors(self.provider)
        if parent is None:
            host = self.host
            model_id, model_env = host.model_ref_for_tracing()
            pending = PendingTrace(
                self, model_id, model_env, host.run_id_for_tracing(), host.experiment_id_for_tracing()
            )
            otel: Any = (
                self.tracer.start_span(name, context=_ROOT_CONTEXT, attributes=attrs)
                if sdk
                else start_lite(name, None, attrs)
            )
            live = LiveSpan(otel, pending, None, span_type)
            pending.root = live
            request = self.next_root.get()
            if request is not None and request.trace_id is None:  # one ContextVar read per root
                request.trace_id = live.trace_id
                pending.metadata = dict(request.metadata)
                pending.tags = request.tags
        else:
            parent_ctx = parent._otel.context
            otel = (
                self.tracer.start_span(name, context=parent.context(), attributes=attrs)
                if sdk
                else start_lite(name, parent_ctx.trace_id, attrs)
            )
            live = LiveSpan(otel, parent._pending, parent_ctx.span_id, span_type)
        if extra:
            live._attrs = extra
        return live

    def finish(self, pending: PendingTrace) -> None:
        """The root span ended: queue the whole trace for export."""
        self._last_root = pending.root
        self.exporter.submit(pending)

    @property
    def last_trace_id(self) -> str | None:
        root = self._last_root
        return root.trace_id if root is not None else None

    # -- export (exporter thread) ---------------------------------------------------------------
    def to_trace(self, pending: PendingTrace) -> Trace:
        root = pending.root
        assert root is not None
        model_id, experiment_id = pending.model_id, pending.experiment_id
        if (model_id is None and pending.model_env is not None) or experiment_id is None:
            resolved_model, experiment_id = self.host.resolve_trace_links(
                pending.model_env, pending.run_id, experiment_id
            )
            model_id = model_id or resolved_model
        trace_id = root.trace_id
        finished = pending.finished
        if len(finished) > 1:
            finished = sorted(finished, key=lambda s: s.start_time_ns)
        spans = [self._span(s, trace_id) for s in finished]
        root_span = spans[0] if len(spans) == 1 else next((s for s in spans if s.parent_id is None), spans[0])
        # Each span carries its own tokens and cost (``_span``); the trace's totals are their sum,
        # the same sum the store makes when a trace is merged (``summarize``).
        total, cost = summarize(spans)
        if total is not None and not (total.input_tokens or total.output_tokens):
            total = None
        metadata = self._context_metadata()
        metadata["mlflow.trace_schema.version"] = "3"
        if model_id:
            metadata[keys.MODEL_ID_KEY] = model_id
        if pending.run_id:
            metadata[keys.SOURCE_RUN_KEY] = pending.run_id
        metadata.update(usage_metadata(total, cost))
        if pending.metadata:
            metadata.update(pending.metadata)
        state = pending.state or ("ERROR" if root_span.status.status_code is SpanStatusCode.ERROR else "OK")
        request_preview = pending.request_preview or preview(root_span.inputs)
        response_preview = pending.response_preview or preview(root_span.outputs)
        if request_preview is not None:
            metadata["mlflow.traceInputs"] = request_preview
        if response_preview is not None:
            metadata["mlflow.traceOutputs"] = response_preview
        end = root_span.end_time_ns or root_span.start_time_ns
        info = TraceInfo(
            trace_id=trace_id,
            experiment_id=experiment_id or "0",
            request_time=root_span.start_time_ns // 1_000_000,
            execution_duration=(end - root_span.start_time_ns) // 1_000_000,
            state=_STATES.get(state) or TraceState(state),
            request_preview=request_preview,
            response_preview=response_preview,
            client_request_id=pending.client_request_id,
            trace_metadata=metadata,
            tags=dict(pending.tags or {}),
            token_usage=total,
            cost=cost,
        )
        # The trace and its spans point at each other (root, finished <-> _pending): unlink them,
        # so the trace, its call's arguments and response are freed as soon as the exporter lets
        # go of it, by reference counting, instead of waiting in the heap for a full collection.
        pending.root = None
        pending.finished = []
        return Trace(info=info, data=TraceData(spans=spans))

    def _span(self, live: LiveSpan, trace_id: str) -> Span:
        otel = live._otel
        status = otel.status
        code = SpanStatusCode.ERROR if status.status_code is StatusCode.ERROR else SpanStatusCode.OK
        attributes = {k: to_jsonable(v) for k, v in (otel.attributes or {}).items()}
        attributes[keys.SPAN_TYPE_KEY] = live.span_type
        if live._attrs:
            attributes.update({k: to_jsonable(v) for k, v in live._attrs.items()})
        inputs, outputs = to_jsonable(live.inputs), to_jsonable(live.outputs)
        if live._derive is not None:
            try:
                outputs = live._derive(inputs, outputs, attributes)
            except Exception as exc:  # the span is kept with what the call recorded
                internal_error("reading a traced call's response", exc)
        add_usage_and_cost(attributes, self.prices, live._token_usage)
        return Span(
            trace_id=trace_id,
            span_id=live.span_id,
            parent_id=None if live.parent_id is None else format(live.parent_id, "016x"),
            name=otel.name,
            span_type=live.span_type,
            start_time_ns=otel.start_time or 0,
            end_time_ns=otel.end_time,
            status=_PLAIN_STATUS[code] if not status.description else SpanStatus(code, status.description),
            inputs=inputs,
            outputs=outputs,
            attributes=attributes,
            events=()
            if not otel.events
            else tuple(
                SpanEvent(e.name, e.timestamp, {k: to_jsonable(v) for k, v in (e.attributes or {}).items()})
                for e in otel.events
            ),
        )

    def _context_metadata(self) -> dict[str, str]:
        if self._metadata_cache is None:
            self._metadata_cache = self.host.trace_context_metadata()
        return dict(self._metadata_cache)

    def shutdown(self, timeout: float = 10.0) -> None:
        self.exporter.shutdown(timeout)
        self.provider.shutdown()
