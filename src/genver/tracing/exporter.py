"""The background exporter: the calling thread only queues finished traces; this thread turns
them into entities, writes batches to the store, spools them to disk while the store is failing,
and delivers the spool once the store is back.

A store slower than the producer is met with bigger batches: the exporter writes up to
``MAX_BATCH`` traces per call when a backlog builds. Memory is bounded: past twice ``max_queue``
queued traces the producer spools a batch itself rather than grow the queue. The spool is for a
store that is down (and for traces past that bound), not for the normal path. A trace is only
dropped (and counted) when the spool is full or the disk fails.

``flush()`` means stored: it returns True once every trace ended before the call is in the store,
spooled ones included; it waits only for those, not for traces produced while it waits. It
returns False at its timeout, or at once when the store fails during the flush (the traces are
spooled and delivered when it is back), logging how many are not stored yet.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from genver.client import GenverClient
from genver.entities import Trace
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.tracing.errors import internal_error, is_operational, log_once
from genver.tracing.serialize import trace_from_dict, trace_to_dict
from genver.tracing.spool import Spool

#: Traces written per store call when a backlog has built up (``batch_size`` otherwise).
MAX_BATCH = 5_000
log = logging.getLogger("genver.tracing")


@dataclass(frozen=True, slots=True)
class ExportStats:
    """Counters of the exporter, readable through ``genver.get_trace_export_stats()``."""

    queued: int
    exported: int
    spooled: int
    delivered_from_spool: int
    dropped: int
    failed_batches: int
    store_available: bool


class TraceExporter:
    def __init__(
        self,
        *,
        client: Callable[[], GenverClient],
        spool: Spool,
        convert: Callable[[Any], Trace],
        batch_size: int = 500,
        flush_interval: float = 0.5,
        max_queue: int = 10_000,
        otlp: Callable[[list[Trace]], None] | None = None,
    ) -> None:
        self._client = client
        self._spool = spool
        self._convert = convert
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_queue = max_queue
        self._otlp = otlp
        self._queue: collections.deque[Any] = collections.deque()
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self._stop = False
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._store_down_until = 0.0
        self._backoff = 0.5
        self._spool_checked = 0.0
        self._internal_error: BaseException | None = None
        self.exported = self.spooled = self.delivered = self.dropped = self.failed_batches = 0
        # Items the exporter thread has taken from the queue, and of those how many it has
        # finished with (stored, spooled or dropped): a flush waits for done >= its target.
        self._taken = 0
        self._done = 0

    # -- producer side (the app's threads) -----------------------------------------------------
    def submit(self, item: Any) -> None:
        """Queue one finished trace. O(1), never blocks on I/O unless far over the bound."""
        queue = self._queue
        queue.append(item)
        if self._thread is None:
            self._start()
        size = len(queue)
        if size >= self._batch_size:
            if size % self._batch_size == 0:  # wake the exporter once per batch, not per trace
                self._wake.set()
            if size > 2 * self._max_queue:  # the exporter cannot keep up: spool a batch here
                self._wake.set()
                items = []
                for _ in range(self._batch_size):
                    try:
                        items.append(queue.pop())
                    except IndexError:
                        break
                self._spool_traces([self._safe_convert(i) for i in items])

    def start(self) -> None:
        """Start the exporter thread now (it starts on the first trace otherwise): it delivers
        the spool an earlier process left."""
        self._start()

    @property
    def spool(self) -> Spool:
        return self._spool

    def _start(self) -> None:
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop = False
                self._thread = threading.Thread(target=self._run, name="genver-trace-exporter", daemon=True)
                self._thread.start()

    # -- control ------------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Store every trace queued before this call (and the spool's), retrying the store now
        if it was down. True when all are stored; False at ``timeout`` or when the store fails
        meanwhile (then they wait in the spool), with one log line saying how many are left."""
        self._store_down_until = 0.0
        self._spool_checked = 0.0
        if self._thread is None:
            if not self._queue and not self._spool.pending():
                return True
            self._start()
        deadline = None if timeout is None else time.monotonic() + timeout
        failed_before = self.failed_batches
        with self._idle:
            target = self._taken + len(self._queue)  # every trace ended before this call
            self._flush_requested = True
            self._wake.set()
            while True:
                if self.failed_batches > failed_before:  # the store failed: they are spooled
                    return self._not_stored("the store failed while flushing", target)
                queued_done = self._done >= target or (not self._queue and not self._busy)
                if queued_done and not self._flush_requested:
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return self._not_stored(f"the flush timed out after {timeout:g} s", target)
                self._idle.wait(min(remaining, 0.5) if remaining is not None else 0.5)
        err, self._internal_error = self._internal_error, None
        if err is not None:
            internal_error("exporting traces", err)
        return True

    def _not_stored(self, why: str, target: int) -> bool:
        queued = max(target - self._done, 0)
        spooled = len(self._spool.pending())
        log.warning(
            "Traces not stored yet: %s; %d queued and %d spooled batch file(s) left (%s). They are "
            "delivered in the background; get_trace_export_stats() shows the counters.",
            why,
            queued,
            spooled,
            self._spool.directory,
        )
        return False

    def shutdown(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        self._stop = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def set_spool_dir(self, directory: Any) -> None:
        self._spool = Spool(directory, max_bytes=self._spool.max_bytes)

    def reset_after_fork(self) -> None:
        self._queue.clear()
        self._thread = None
        self._thread_lock = threading.Lock()
        self._idle = threading.Condition()
        self._wake = threading.Event()
        self._busy = False

    def stats(self) -> ExportStats:
        return ExportStats(
            queued=len(self._queue),
            exported=self.exported,
            spooled=self.spooled,
            delivered_from_spool=self.delivered,
            dropped=self.dropped,
            failed_batches=self.failed_batches,
            store_available=time.monotonic() >= self._store_down_until,
        )

    # -- the exporter thread ----------------------------------------------------------------------
    _flush_requested = False

    def _run(self) -> None:
        while True:
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            with self._idle:
                self._busy = True
                flushing = self._flush_requested
            spool_left = False
            try:
                self._drain()
                if time.monotonic() >= self._store_down_until:
                    self._deliver_spool(everything=flushing)
                up = time.monotonic() >= self._store_down_until
                spool_left = flushing and up and bool(self._spool.pending())
            except BaseException as exc:  # never let the thread die
                self._record_internal(exc)
            finally:
                with self._idle:
                    self._busy = False
                    # a flush is answered once the spool is delivered too (or the store failed)
                    if flushing and not spool_left:
                        self._flush_requested = False
                    self._idle.notify_all()
            if spool_left:
                self._wake.set()  # another claim round: batches another process released
            if self._stop and not self._queue:
                return

    def _drain(self) -> None:
        """Write what was queued when it started (not what producers add meanwhile: a flush
        waiting on the spool, and the spool itself, get their turn)."""
        queue = self._queue
        budget = len(queue)
        while queue and budget > 0:
            # a backlog is written in bigger batches (one transaction each), so a store slower
            # than the producer catches up instead of the backlog going to the spool
            size = min(max(self._batch_size, len(queue) // 2), MAX_BATCH, len(queue))
            items = []
            for _ in range(size):
                try:
                    items.append(queue.popleft())
                except IndexError:  # a producer over the bound took the tail meanwhile
                    break
            self._taken += len(items)
            budget -= len(items)
            try:
                traces = []
                for n in range(len(items)):
                    trace = self._safe_convert(items[n])
                    items[n] = None  # freed once converted (its call's response with it)
                    if trace is not None:
                        traces.append(trace)
                if not traces:
                    continue
                if time.monotonic() < self._store_down_until:  # the store is down: to the spool
                    self._spool_traces(traces)
                    continue
                self._write(traces)
            finally:
                with self._idle:
                    self._done += len(items)
                    self._idle.notify_all()

    def _write(self, traces: list[Trace]) -> bool:
        try:
            self._store_traces(traces)
        except Exception as exc:
            if not is_operational(exc):
                self._record_internal(exc)
            log_once("the store rejected a batch of traces; spooling to disk", exc)
            self._store_down_until = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, 30.0)
            self._spool_traces(traces)
            self.failed_batches += 1  # after the spool write: a flush that sees it finds them spooled
            return False
        self._backoff = 0.5
        if self._otlp is not None:
            try:
                self._otlp(traces)
            except Exception as exc:
                log_once("OTLP export failed", exc)
        return True

    def _store_traces(self, traces: list[Trace]) -> int:
        """Write a batch; a trace the store refuses as invalid (it can never be stored) is
        isolated by halving the batch and dropped, counted and logged, so it cannot hold the
        rest back. Failures of the store itself propagate (the caller spools)."""
        try:
            self._client().log_traces(traces)
        except (InvalidArgumentError, NotFoundError) as exc:
            if len(traces) == 1:
                self.dropped += 1
                self._record_internal(exc)  # genver built a trace its store refuses: a bug
                log_once(f"the store refused trace {traces[0].info.trace_id} as invalid; dropped", exc)
                return 0
            mid = len(traces) // 2
            return self._store_traces(traces[:mid]) + self._store_traces(traces[mid:])
        self.exported += len(traces)
        return len(traces)

    def _deliver_spool(self, *, everything: bool) -> None:
        now = time.monotonic()
        if not everything and now - self._spool_checked < 5.0:
            return
        self._spool_checked = now
        for path, docs in self._spool.claim():
            try:
                traces = [trace_from_dict(d) for d in docs]
            except (KeyError, TypeError, ValueError) as exc:
                self._spool.quarantine(path)
                log_once("a spooled batch is unreadable; kept aside as .corrupt", exc)
                continue
            try:
                stored = self._store_traces(traces)
            except Exception as exc:
                self._spool.release(path)
                log_once("delivering spooled traces failed; will retry", exc)
                self._store_down_until = time.monotonic() + self._backoff
                self.failed_batches += 1
                return
            self._spool.done(path)
            self.delivered += stored

    def _spool_traces(self, traces: Sequence[Trace | None]) -> None:
        docs = [trace_to_dict(t) for t in traces if t is not None]
        try:
            ok = self._spool.write(docs)
        except OSError as exc:
            log_once("spooling traces to disk failed; traces dropped", exc)
            ok = False
        if ok:
            self.spooled += len(docs)
        else:
            self.dropped += len(docs)
            log_once("trace spool is full; traces dropped", RuntimeError(str(self._spool.directory)))

    def _safe_convert(self, item: Any) -> Trace | None:
        try:
            return self._convert(item)
        except Exception as exc:
            self.dropped += 1
            self._record_internal(exc)
            return None

    def _record_internal(self, exc: BaseException) -> None:
        if self._internal_error is None:
            self._internal_error = exc
        log_once("internal error while exporting traces", exc)
