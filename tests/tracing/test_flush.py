"""Flush means stored (issue 12, item 1): behind a deliberately slow store a fast producer's
traces are all searchable after one flush and none goes through the spool; a flush waits only
for the traces ended before it, not for a producer that keeps going; a store that fails during
a flush makes it return False at once, saying how many are left."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from genver.fluent import Genver
from tests.tracing.test_export import count, flaky_genver


def slowed(gv: Genver, store: Any, seconds: float) -> list[int]:
    """Make every store write take ``seconds``; returns the batch sizes written."""
    sizes: list[int] = []
    inner = store.inner.log_traces

    def slow(traces: Any) -> None:
        time.sleep(seconds)
        sizes.append(len(traces))
        inner(traces)

    store.inner.log_traces = slow
    return sizes


def test_a_slow_store_behind_a_fast_producer_stores_everything_without_the_spool(tmp_path: Path) -> None:
    gv, store = flaky_genver(tmp_path)
    sizes = slowed(gv, store, 0.05)  # 50 ms per write, whatever its size

    @gv.trace
    def work(i: int) -> int:
        return i

    for i in range(15_000):  # ~0.5 s of producing: far faster than 500 traces per 50 ms
        work(i)
    assert gv.flush_trace_async_logging(timeout=60)

    stats = gv.get_trace_export_stats()
    assert stats is not None and stats.spooled == 0 and stats.dropped == 0 and stats.exported == 15_000
    assert count(gv) == 15_000  # searchable right after the flush
    assert not list((tmp_path / "spool").glob("batch-*"))
    assert max(sizes) > 500  # the backlog went in bigger batches
    gv.flush_trace_async_logging(terminate=True)


def test_a_flush_waits_only_for_traces_ended_before_it(tmp_path: Path) -> None:
    gv, store = flaky_genver(tmp_path)
    slowed(gv, store, 0.01)

    @gv.trace
    def work(i: int) -> int:
        return i

    stop = threading.Event()

    def keep_producing() -> None:  # an app's pace: a trace per millisecond, never stopping
        i = 0
        while not stop.is_set():
            work(-i)
            i += 1
            time.sleep(0.001)

    for i in range(500):
        work(i)
    producer = threading.Thread(target=keep_producing)
    producer.start()
    try:
        started = time.monotonic()
        assert gv.flush_trace_async_logging(timeout=60)
        waited = time.monotonic() - started
        stored = gv.search_traces(
            experiment_ids=["0"],
            max_results=1000,
            order_by=["timestamp_ms ASC"],
            include_spans=True,
            return_type="list",
        )
    finally:
        stop.set()
        producer.join()
    assert waited < 30  # it returned while the producer still ran
    before = {t.data.spans[0].inputs["i"] for t in stored if t.data.spans[0].inputs["i"] >= 0}
    assert set(range(500)) <= before | {0}  # every trace ended before the flush is stored
    gv.flush_trace_async_logging(terminate=True)


def test_a_store_failing_during_a_flush_returns_false_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gv, store = flaky_genver(tmp_path)

    @gv.trace
    def work(i: int) -> int:
        return i

    store.down = True
    for i in range(20):
        work(i)
    caplog.set_level(logging.WARNING, logger="genver.tracing")
    started = time.monotonic()
    assert gv.flush_trace_async_logging(timeout=60) is False
    assert time.monotonic() - started < 10  # not the 60 s timeout
    assert any(
        "Traces not stored yet: the store failed while flushing" in r.getMessage() for r in caplog.records
    )
    stats = gv.get_trace_export_stats()
    assert stats is not None and stats.spooled == 20  # kept on disk, delivered when it is back
    store.down = False
    assert gv.flush_trace_async_logging(timeout=30)
    assert count(gv) == 20
    gv.flush_trace_async_logging(terminate=True)
