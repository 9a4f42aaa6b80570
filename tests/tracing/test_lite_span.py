"""Spans genver records by itself (``LiteSpan``, while its provider has no span processor) are
stored exactly as SDK spans are (once a processor is added), and a processor added to the
provider sees every span from then on."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from genver.fluent import Genver
from genver.tracing.lite import LiteSpan
from tests.tracing.conftest import make_genver


class Collect(SpanProcessor):
    def __init__(self) -> None:
        self.ended: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)


def workload(gv: Genver) -> str:
    @gv.trace(span_type="TOOL", attributes={"a": 1, "b": "x", "c": [1, 2]})
    def tool(x: int) -> int:
        span = gv.get_current_active_span()
        assert span is not None
        span.set_attribute("k", 1.5)
        span.set_attribute("a", 2)  # set again: moves last, as in the SDK's attributes
        span.set_attribute("f", float("inf"))
        span.add_event("ev", {"p": 1, "q": "r"})
        return x * 2

    @gv.trace
    def boom() -> None:
        raise ValueError("bad")

    @gv.trace(name="root")
    def root(x: int) -> int:
        with contextlib.suppress(ValueError):
            boom()
        with gv.start_span("inner", span_type="RETRIEVER") as s:
            s.set_inputs({"q": x})
            s.set_outputs([1])
            s.set_status("ERROR", "nope")
            s.set_status("OK")
        return tool(x)

    root(3)
    assert gv.flush_trace_async_logging()
    trace_id = gv.get_last_active_trace_id()
    assert trace_id is not None
    return trace_id


def stored(gv: Genver, trace_id: str) -> list[Any]:
    trace = gv.get_trace(trace_id)
    assert trace is not None
    ids = {s.span_id: s.name for s in trace.data.spans}
    out: list[Any] = [(trace.info.state, trace.info.request_preview, trace.info.response_preview)]
    for s in sorted(trace.data.spans, key=lambda s: s.name):
        events = [
            (e.name, {k: v for k, v in e.attributes.items() if k != "exception.stacktrace"}) for e in s.events
        ]
        out.append(
            (
                s.name,
                s.span_type,
                ids.get(s.parent_id or ""),
                s.status,
                s.inputs,
                s.outputs,
                list(s.attributes.items()),  # in order
                events,
            )
        )
    return out


def test_lite_spans_are_stored_as_sdk_spans_are(tmp_path: Path) -> None:
    (tmp_path / "lite").mkdir()
    (tmp_path / "sdk").mkdir()
    lite = make_genver(tmp_path / "lite")
    sdk = make_genver(tmp_path / "sdk")
    rt = sdk.tracing_runtime()
    assert rt is not None
    seen = Collect()
    rt.provider.add_span_processor(seen)
    try:
        lite_trace, sdk_trace = workload(lite), workload(sdk)
        assert stored(lite, lite_trace) == stored(sdk, sdk_trace)
        assert sorted(s.name for s in seen.ended) == ["boom", "inner", "root", "tool"]
    finally:
        for gv in (lite, sdk):
            gv.flush_trace_async_logging(terminate=True)
            gv.client.close()


def test_a_processor_added_later_sees_the_next_spans(tmp_path: Path) -> None:
    gv = make_genver(tmp_path)
    try:
        with gv.start_span("before") as before:
            assert isinstance(before.otel_span, LiteSpan)
            rt = gv.tracing_runtime()
            assert rt is not None
            seen = Collect()
            rt.provider.add_span_processor(seen)
            with gv.start_span("child") as child:  # an SDK span under genver's own
                assert not isinstance(child.otel_span, LiteSpan)
                assert child.trace_id == before.trace_id
        assert [s.name for s in seen.ended] == ["child"]
        assert seen.ended[0].parent is not None
        assert format(seen.ended[0].parent.span_id, "016x") == before.span_id
        assert gv.flush_trace_async_logging()
        trace = gv.get_trace(before.trace_id)
        assert trace is not None and sorted(s.name for s in trace.data.spans) == ["before", "child"]
    finally:
        gv.flush_trace_async_logging(terminate=True)
        gv.client.close()


def test_otel_span_answers_what_an_sdk_span_does(tmp_path: Path) -> None:
    gv = make_genver(tmp_path)
    try:
        with gv.start_span("s") as span:
            otel: Any = span.otel_span
            assert otel.is_recording()
            ctx = otel.get_span_context()
            assert format(ctx.trace_id, "032x") == span.trace_id[3:] and ctx.trace_flags.sampled
            otel.set_attributes({"x": 1})
            otel.update_name("renamed")
        assert not otel.is_recording()
        otel.set_attribute("late", 1)  # ignored after the end, as on an SDK span
        assert gv.flush_trace_async_logging()
        trace = gv.get_trace(span.trace_id)
        assert trace is not None
        (stored_span,) = trace.data.spans
        assert stored_span.name == "renamed" and stored_span.attributes["x"] == 1
        assert "late" not in stored_span.attributes
    finally:
        gv.flush_trace_async_logging(terminate=True)
        gv.client.close()
