"""``LiteSpan``: the span genver records by itself while its ``TracerProvider`` has no span
processor, so no OpenTelemetry code would ever see an SDK span."""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, SpanLimits
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

from genver.ids import otel_trace_id
from genver.tracing.live import EndedSpan

_UNSET = Status(StatusCode.UNSET)
_LIMITS: list[SpanLimits] = []


def span_limits() -> SpanLimits:
    """The SDK's span limits (``OTEL_*_LIMIT`` variables read once), as a provider built without
    explicit limits (genver's) applies them."""
    if not _LIMITS:
        _LIMITS.append(SpanLimits())
    return _LIMITS[0]


class LiteSpan(EndedSpan):
    """A span genver records by itself while its provider has no span processor, so no
    OpenTelemetry code would ever see the SDK span: the same name, ids (random, as the SDK's
    generator makes them), times, status, attributes and events an SDK span would end with,
    under the same rules (attribute and event limits, values cut to the length limit, status
    OK final, nothing changes after the end), without the SDK span's lock, bounded containers,
    sampler and processor calls (about half of a traced call's cost on the caller's thread).
    Once ended it is its own snapshot (``EndedSpan``'s fields)."""

    __slots__ = ()

    def __init__(
        self, name: str, trace_id: int, span_id: int, start_time: int, attributes: dict[str, Any] | None
    ) -> None:
        self.name = name
        self.trace_id = trace_id
        self.span_id = span_id
        self.start_time: int | None = start_time
        self.end_time: int | None = None
        self.status = _UNSET
        self.attributes = attributes  # primitive values only (LiveSpan keeps the others)
        self.events: Any = ()

    # -- what code holding ``LiveSpan.otel_span`` may call on an SDK span ----------------------------
    def get_span_context(self) -> SpanContext:
        return SpanContext(self.trace_id, self.span_id, False, TraceFlags(TraceFlags.SAMPLED))

    def is_recording(self) -> bool:
        return self.end_time is None

    def update_name(self, name: str) -> None:
        if self.end_time is None:
            self.name = name

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_attribute(self, key: str, value: Any) -> None:
        """A primitive value (``LiveSpan.set_attribute`` keeps the others), as the SDK's
        ``BoundedAttributes`` stores it: a key set again moves last, the oldest key goes past
        the limit, text is cut to the length limit."""
        if self.end_time is not None or not key or not isinstance(key, str):
            return
        limits = span_limits()
        if isinstance(value, str) and limits.max_attribute_length is not None:
            value = value[: limits.max_attribute_length]
        attrs = self.attributes
        if attrs is None:
            attrs = self.attributes = {}
        if key in attrs:
            del attrs[key]
        elif limits.max_span_attributes is not None and len(attrs) >= limits.max_span_attributes:
            if not limits.max_span_attributes:
                return
            del attrs[next(iter(attrs))]
        attrs[key] = value

    def add_event(
        self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None
    ) -> None:
        if self.end_time is not None:
            return
        limits = span_limits()
        event = Event(
            name,
            BoundedAttributes(
                limits.max_event_attributes,
                attributes,
                max_value_len=limits.max_attribute_length,
                immutable=True,
            ),
            timestamp if timestamp is not None else time.time_ns(),
        )
        if not self.events:
            self.events = deque(maxlen=limits.max_events)
        self.events.append(event)

    def set_status(self, status: Status, description: str | None = None) -> None:
        if self.end_time is not None:
            return
        if self.status.status_code is StatusCode.OK or status.status_code is StatusCode.UNSET:
            return
        self.status = status

    def record_exception(self, exception: BaseException) -> None:
        """The SDK's ``exception`` event, with the same attributes."""
        import traceback

        module = type(exception).__module__
        qualname = type(exception).__qualname__
        self.add_event(
            "exception",
            {
                "exception.type": f"{module}.{qualname}" if module and module != "builtins" else qualname,
                "exception.message": str(exception),
                "exception.stacktrace": "".join(traceback.format_exception(exception)),
                "exception.escaped": "False",
            },
        )


class TimeOrderedIds(RandomIdGenerator):
    """The SDK's id generator with time-ordered trace ids (``genver.ids.otel_trace_id``), for
    the SDK spans genver makes once a processor is added to its provider."""

    def generate_trace_id(self) -> int:
        return otel_trace_id()


def has_processors(provider: Any) -> bool:
    """Whether a span processor was added to ``provider`` (then spans are SDK spans, which it
    sees); True when this SDK version keeps them elsewhere."""
    active = getattr(provider, "_active_span_processor", None)
    return bool(getattr(active, "_span_processors", True))


def start_lite(name: str, trace_id: int | None, attributes: Mapping[str, Any] | None) -> LiteSpan:
    """A started span: a new trace when ``trace_id`` is None. A new trace's id is time-ordered
    (``genver.ids.otel_trace_id``, as ``TimeOrderedIds`` gives SDK spans); span ids are random
    and never zero, as the SDK's ``RandomIdGenerator`` makes them."""
    if trace_id is None:
        trace_id = otel_trace_id()
    span_id = random.getrandbits(64)
    while not span_id:
        span_id = random.getrandbits(64)
    span = LiteSpan(name, trace_id, span_id, time.time_ns(), None)
    if attributes:
        limits = span_limits()
        if limits.max_attribute_length is None and (
            limits.max_span_attributes is None or len(attributes) <= limits.max_span_attributes
        ):
            span.attributes = dict(attributes)  # primitive values with str keys (Tracing.start)
        else:
            for key, value in attributes.items():
                span.set_attribute(key, value)
    return span
