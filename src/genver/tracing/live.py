"""``LiveSpan``: the span a traced call is running in, wrapping an OpenTelemetry SDK span.

Inputs and outputs are kept as references and made JSON-compatible later, on the exporter's
thread, so a large input costs the caller nothing. (Mutating an input after the call, before the
export a moment later, would show in the trace.)
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from genver.entities import SpanType

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import Span as OtelSpan

    from genver.tracing.runtime import PendingTrace

_GENAI_OPERATION = {
    SpanType.LLM: "text_completion",
    SpanType.CHAT_MODEL: "chat",
    SpanType.EMBEDDING: "embeddings",
    SpanType.TOOL: "execute_tool",
    SpanType.AGENT: "invoke_agent",
}


Derive = Callable[[Any, Any, dict[str, Any]], Any]
"""``(inputs, outputs, attributes) -> outputs``: what an integration reads from a call's request
and response, on the exporter's thread (``LiveSpan._derive``)."""


class CallInputs:
    """How to turn a call's (args, kwargs) into named inputs, computed once per function."""

    __slots__ = ("_fn", "_sig", "skip_first")

    def __init__(self, fn: Callable[..., Any], skip_first: bool) -> None:
        self._fn = fn
        self._sig: inspect.Signature | None = None
        self.skip_first = skip_first

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        if self._sig is None:
            self._sig = inspect.signature(self._fn)
        try:
            bound = self._sig.bind(*args, **kwargs)
        except TypeError:
            return {"args": list(args), "kwargs": dict(kwargs)}
        bound.apply_defaults()
        out = dict(bound.arguments)
        if self.skip_first and out:
            out.pop(next(iter(out)))
        for name, param in self._sig.parameters.items():
            if param.kind is inspect.Parameter.VAR_KEYWORD and name in out:
                out.update(out.pop(name))
        return out


class LiveSpan:
    """A span in progress: ``set_inputs``, ``set_outputs``, ``set_attribute(s)``, ``add_event``."""

    __slots__ = (
        "_otel",
        "_pending",
        "parent_id",
        "span_type",
        "_inputs",
        "_binder",
        "_args",
        "_kwargs",
        "_outputs",
        "_attrs",
        "_ctx",
        "_token_usage",
        "_derive",
    )

    def __init__(self, otel: OtelSpan, pending: PendingTrace, parent_id: int | None, span_type: str) -> None:
        self._otel = otel
        self._pending = pending
        self.parent_id = parent_id
        self.span_type = span_type
        self._inputs: Any = None
        # the call's arguments, bound to parameter names only when the inputs are read (export)
        self._binder: CallInputs | None = None
        self._args: tuple[Any, ...] = ()
        self._kwargs: Mapping[str, Any] | None = None
        self._outputs: Any = None
        self._attrs: dict[str, Any] | None = None
        self._ctx: Any = None
        self._token_usage: tuple[int, int] | None = None
        # Autolog's reader of a call's request and response: run at export, off the caller's
        # thread, on the JSON-compatible inputs and outputs; adds attributes, returns the outputs.
        self._derive: Derive | None = None

    # -- identity -----------------------------------------------------------------------------
    @property
    def trace_id(self) -> str:
        return "tr-" + format(self._otel.context.trace_id, "032x")

    @property
    def request_id(self) -> str:
        return self.trace_id

    @property
    def span_id(self) -> str:
        return format(self._otel.context.span_id, "016x")

    @property
    def name(self) -> str:
        return self._otel.name

    @property
    def start_time_ns(self) -> int:
        return self._otel.start_time or 0

    @property
    def end_time_ns(self) -> int | None:
        return self._otel.end_time

    @property
    def otel_span(self) -> OtelSpan:
        """The underlying OpenTelemetry SDK span (while the span is live; a snapshot after it
        ends). When the provider has no span processor, genver's own record of the span
        (``LiteSpan``): the same name, ids, times, status, attributes and events."""
        return self._otel

    # -- content ------------------------------------------------------------------------------
    @property
    def inputs(self) -> Any:
        if self._inputs is None and self._binder is not None:
            self._inputs = self._binder.bind(self._args, self._kwargs or {})
            self._binder, self._args, self._kwargs = None, (), None
        return self._inputs

    @property
    def outputs(self) -> Any:
        return self._outputs

    @property
    def attributes(self) -> dict[str, Any]:
        out = dict(self._otel.attributes or {})
        if self._attrs:
            out.update(self._attrs)
        return out

    def set_inputs(self, inputs: Any) -> None:
        self._inputs = inputs
        self._binder, self._args, self._kwargs = None, (), None

    def set_outputs(self, outputs: Any) -> None:
        self._outputs = outputs

    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute; any JSON-compatible value (non-primitive ones are kept as is and
        serialized on export)."""
        if isinstance(value, (str, bool, int, float)):
            self._otel.set_attribute(key, value)
        else:
            if self._attrs is None:
                self._attrs = {}
            self._attrs[key] = value

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        for k, v in attributes.items():
            self.set_attribute(k, v)

    def set_span_type(self, span_type: str) -> None:
        self.span_type = span_type

    def read_at_export(self, reader: Derive) -> None:
        """Have ``reader(inputs, outputs, attributes) -> outputs`` turn the call's request and
        response into attributes when the span is exported, off the caller's thread (autolog)."""
        self._derive = reader

    def set_token_usage(self, input_tokens: int, output_tokens: int) -> None:
        """Record token usage on an LLM/chat span (also settable through ``gen_ai.usage.*``)."""
        self._token_usage = (int(input_tokens), int(output_tokens))

    def add_event(
        self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None
    ) -> None:
        self._otel.add_event(
            name, {k: _primitive(v) for k, v in (attributes or {}).items()}, timestamp or time.time_ns()
        )

    def set_status(self, status: str, description: str | None = None) -> None:
        from opentelemetry.trace import Status, StatusCode

        code = StatusCode.ERROR if str(status).upper() == "ERROR" else StatusCode.OK
        self._otel.set_status(Status(code, description if code is StatusCode.ERROR else None))

    def record_exception(self, exc: BaseException) -> None:
        from opentelemetry.trace import Status, StatusCode

        self._otel.record_exception(exc)
        self._otel.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))

    def end(self, outputs: Any = None, end_time_ns: int | None = None) -> None:
        """End the span; the trace is queued for export when its root ends."""
        if outputs is not None:
            self._outputs = outputs
        otel: Any = self._otel
        if isinstance(otel, EndedSpan):  # genver's own span (``LiteSpan``) or a snapshot
            if otel.end_time is not None:
                return  # ended already: a second end() is a no-op, as on an SDK span
            otel.end_time = time.time_ns() if end_time_ns is None else end_time_ns
        else:
            otel.end(end_time_ns)
            # Until export, a finished span waits in the queue: keep a compact snapshot instead
            # of the SDK span (a dozen locks, deques and lists each), which keeps the garbage
            # collector's work on the caller's thread close to a plain OpenTelemetry span's.
            self._otel = EndedSpan(otel)  # type: ignore[assignment]
        self._ctx = None
        pending = self._pending
        pending.finished.append(self)
        if pending.root is self:
            pending.runtime.finish(pending)

    def context(self) -> Any:
        """The OpenTelemetry context with this span as parent (built once, when a child starts)."""
        if self._ctx is None:
            from opentelemetry.trace import set_span_in_context

            otel: Any = self._otel
            if isinstance(otel, EndedSpan):  # not an SDK span: its identity only
                from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

                otel = NonRecordingSpan(
                    SpanContext(otel.trace_id, otel.span_id, False, TraceFlags(TraceFlags.SAMPLED))
                )
            self._ctx = set_span_in_context(otel)
        return self._ctx

    def __repr__(self) -> str:
        return f"LiveSpan(name={self.name!r}, span_type={self.span_type!r}, trace_id={self.trace_id!r}, span_id={self.span_id!r})"


class EndedSpan:
    """What export needs of an ended SDK span, in one object: ``context`` is the object itself,
    so ``span.context.trace_id`` reads the same on a live SDK span and on a snapshot."""

    __slots__ = ("name", "trace_id", "span_id", "start_time", "end_time", "status", "attributes", "events")

    def __init__(self, otel: OtelSpan) -> None:
        ctx = otel.context
        self.name = otel.name
        self.trace_id: int = ctx.trace_id
        self.span_id: int = ctx.span_id
        self.start_time = otel.start_time
        self.end_time = otel.end_time
        self.status = otel.status
        attrs = otel.attributes
        self.attributes: dict[str, Any] | None = dict(attrs) if attrs else None
        self.events = tuple(otel.events) if otel.events else ()

    @property
    def context(self) -> EndedSpan:
        return self

    def end(self, end_time: int | None = None) -> None:
        """Already ended (kept so a second ``end()`` is harmless, as on an SDK span)."""

    def set_attribute(self, key: str, value: Any) -> None:
        """Ignored after the end, as the SDK does (it only logs a warning)."""

    def add_event(self, *args: Any, **kwargs: Any) -> None:
        """Ignored after the end, as the SDK does."""

    def set_status(self, *args: Any, **kwargs: Any) -> None:
        """Ignored after the end, as the SDK does."""

    def record_exception(self, *args: Any, **kwargs: Any) -> None:
        """Ignored after the end, as the SDK does."""


def genai_operation(span_type: str) -> str | None:
    return _GENAI_OPERATION.get(span_type)


def _primitive(value: Any) -> Any:
    return value if isinstance(value, (str, bool, int, float)) else str(value)
