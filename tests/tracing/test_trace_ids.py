"""Trace ids are time-ordered (a 48-bit millisecond prefix and 80 random bits), so the indexes
keyed on them are appended to at their right edge; span ids stay random. Both on genver's own
spans and on the SDK spans made once a processor is added to its provider."""

from __future__ import annotations

import time

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from genver.fluent import Genver
from genver.ids import new_trace_id, otel_trace_id


def _traces_in_order(gv: Genver, n: int) -> list[str]:
    ids = []
    for i in range(n):
        with gv.start_span(name=f"call-{i}"):
            pass
        ids.append(gv.get_last_active_trace_id())
        time.sleep(0.002)  # the next millisecond
    return [t for t in ids if t is not None]


def _assert_time_ordered(ids: list[str], before_ms: int, after_ms: int) -> None:
    assert len(ids) == len(set(ids))
    assert ids == sorted(ids)  # made in time order, sorted in time order
    for trace_id in ids:
        hex_id = trace_id.removeprefix("tr-")
        assert len(hex_id) == 32 and int(hex_id, 16) != 0
        assert before_ms <= int(hex_id, 16) >> 80 <= after_ms  # the prefix is when it started


def test_trace_ids_sort_in_the_order_traces_started(gv: Genver) -> None:
    before = time.time_ns() // 1_000_000
    ids = _traces_in_order(gv, 5)
    _assert_time_ordered(ids, before, time.time_ns() // 1_000_000)
    gv.flush_trace_async_logging()
    stored = gv.search_traces(order_by=["timestamp_ms ASC"], return_type="list")
    assert [t.info.trace_id for t in stored] == ids


def test_sdk_spans_get_time_ordered_trace_ids_too(gv: Genver) -> None:
    exporter = InMemorySpanExporter()
    runtime = gv.tracing_runtime()
    assert runtime is not None
    runtime.provider.add_span_processor(SimpleSpanProcessor(exporter))
    before = time.time_ns() // 1_000_000
    ids = _traces_in_order(gv, 4)
    _assert_time_ordered(ids, before, time.time_ns() // 1_000_000)
    seen = {f"tr-{s.context.trace_id:032x}" for s in exporter.get_finished_spans()}
    assert seen == set(ids)  # the processor saw SDK spans, with the same ids


def test_ids_keep_80_random_bits() -> None:
    ms = time.time_ns() // 1_000_000
    ids = [otel_trace_id() for _ in range(2000)]
    assert len(set(ids)) == 2000
    assert all(abs((i >> 80) - ms) < 60_000 for i in ids)
    low = {i & ((1 << 80) - 1) for i in ids}
    assert len(low) == 2000 and max(low).bit_length() > 70  # random, not a counter
    assert new_trace_id().startswith("tr-") and len(new_trace_id()) == 35
