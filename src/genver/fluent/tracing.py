"""Tracing in the fluent API: ``@trace``, ``start_span``, ``search_traces`` and friends."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from genver.client import GenverClient
from genver.client.traces import register_trace_flusher
from genver.config import (
    MODEL_PRICES_FILE,
    OTLP_ENDPOINT,
    TRACE_BATCH_SIZE,
    TRACE_EXIT_TIMEOUT,
    TRACE_FLUSH_INTERVAL,
    TRACE_MAX_QUEUE,
    TRACE_SPOOL_DIR,
    TRACE_SPOOL_MAX_MB,
    TRACING_ENABLED,
)
from genver.entities import SpanType, Trace, TraceStats
from genver.entities import trace as keys
from genver.entities.paged_list import collect_pages
from genver.exceptions import GenverError, InvalidArgumentError, NotFoundError
from genver.fluent.assessments import on_stored_trace
from genver.fluent.base import FluentBase, check_output_format
from genver.tracing.decorator import make_trace

if TYPE_CHECKING:
    import pandas as pd

    from genver.tracing.exporter import ExportStats
    from genver.tracing.live import LiveSpan
    from genver.tracing.runtime import Tracing

log = logging.getLogger("genver.tracing")
F = TypeVar("F", bound=Callable[..., Any])
_instances: weakref.WeakSet[TracingAPI] = weakref.WeakSet()


class _SpanContext:
    """``with start_span(...) as span``: the span is current inside the block."""

    __slots__ = ("_api", "_name", "_type", "_attrs", "_state")

    def __init__(
        self, api: TracingAPI, name: str, span_type: str, attributes: Mapping[str, Any] | None
    ) -> None:
        self._api, self._name, self._type, self._attrs = api, name, span_type, attributes
        self._state: tuple[Tracing, LiveSpan, Any] | None = None

    def __enter__(self) -> LiveSpan | _NoopSpan:
        rt = self._api.tracing_runtime()
        if rt is None:
            return _NoopSpan()
        span = rt.start(self._name, self._type, self._attrs)
        self._state = (rt, span, rt.current.set(span))
        return span

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self._state is None:
            return
        rt, span, token = self._state
        try:
            rt.current.reset(token)
        except ValueError:
            rt.current.set(None)
        if exc is not None:
            span.record_exception(exc)
        span.end()


class _NoopSpan:
    """Returned by ``start_span`` while tracing is disabled: accepts every call, records nothing."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *a, **k: None


class TracingAPI(FluentBase):
    """Tracing: ``@trace``, spans, the background exporter, and reading traces back."""

    _runtime: Tracing | None = None
    _runtime_lock = threading.Lock()
    _prices: Any = None

    # -- the runtime ---------------------------------------------------------------------------
    def tracing_runtime(self) -> Tracing | None:
        """This instance's tracing runtime (built on first use), or None when tracing is off."""
        rt = self._runtime
        if rt is not None:
            return rt
        if (TRACING_ENABLED.get(self._environ) or "true").lower() in ("false", "0", "no", "off"):
            return None
        with self._runtime_lock:
            if self._runtime is None:
                self._runtime = self._build_runtime()
                _instances.add(self)
            return self._runtime

    def _build_runtime(self) -> Tracing:
        from genver.tracing.runtime import Tracing
        from genver.tracing.spool import Spool, default_spool_dir

        env = self._environ
        spool_dir = TRACE_SPOOL_DIR.get(env) or default_spool_dir(self.get_tracking_uri())
        prices = self.model_prices()
        return Tracing(
            self,
            spool=Spool(spool_dir, max_bytes=int(TRACE_SPOOL_MAX_MB.get_float(env) * 1024 * 1024)),
            prices=prices,
            batch_size=int(TRACE_BATCH_SIZE.get_float(env)),
            flush_interval=TRACE_FLUSH_INTERVAL.get_float(env),
            max_queue=int(TRACE_MAX_QUEUE.get_float(env)),
            otlp=self._otlp_exporter(),
        )

    def _otlp_exporter(self) -> Callable[[list[Trace]], None] | None:
        endpoint = OTLP_ENDPOINT.get(self._environ)
        if not endpoint:
            return None
        from genver.tracing.otlp import make_otlp_exporter

        return make_otlp_exporter(endpoint)

    def model_prices(self) -> Any:
        """The price table used for trace costs (``set_model_prices`` extends it)."""
        if self._prices is None:
            from genver.trace_summary import PriceTable

            table = PriceTable()
            path = MODEL_PRICES_FILE.get(self._environ)
            if path:
                table.load_file(path)
            self._prices = table
        return self._prices

    def set_model_prices(self, prices: Mapping[str, Any]) -> None:
        """Add or override model prices in $ per 1M tokens: ``{"my-llm": {"input": 1, "output": 2}}``."""
        self.model_prices().set(prices)

    def set_tracking_uri(self, uri: str | os.PathLike[str]) -> None:
        """Switch stores; traces already finished are exported to the old store first."""
        rt = self._runtime
        if rt is not None:
            rt.exporter.flush(30.0)
        super().set_tracking_uri(uri)
        if rt is not None and not TRACE_SPOOL_DIR.get(self._environ):
            from genver.tracing.spool import default_spool_dir

            rt.exporter.set_spool_dir(default_spool_dir(self.get_tracking_uri()))

    # -- what the runtime asks of this instance (TracingHost) -----------------------------------------
    def model_ref_for_tracing(self) -> tuple[str | None, str | None]:
        frame = self._models.for_tracing()
        if frame is not None:
            return frame.model_id, None
        from genver.config import ACTIVE_MODEL_ID

        value = ACTIVE_MODEL_ID.get(self._environ)
        if value is None:
            return None, None
        cached = self._env_models.get((self.get_tracking_uri(), value))
        return (cached, None) if cached is not None else (None, value)

    def run_id_for_tracing(self) -> str | None:
        stack = self._runs.stack()
        return stack[-1] if stack else None

    def experiment_id_for_tracing(self) -> str | None:
        return None if self._runs.stack() else self._experiment_id

    def resolve_trace_links(
        self, model_env_value: str | None, run_id: str | None, experiment_id: str | None
    ) -> tuple[str | None, str]:
        model_id = self._env_model_id() if model_env_value is not None else None
        if experiment_id is None:
            try:
                experiment_id = (
                    self.client.get_run(run_id).info.experiment_id if run_id else self.current_experiment_id()
                )
            except GenverError:
                experiment_id = "0"
        return model_id, experiment_id

    def trace_context_metadata(self) -> dict[str, str]:
        return {k: v for k, v in self._context_tags().items() if k.startswith("mlflow.")}

    def trace_client(self) -> GenverClient:
        return self.client

    # -- public API --------------------------------------------------------------------------------
    @overload
    def trace(
        self,
        func: F,
        name: str | None = None,
        span_type: str = SpanType.UNKNOWN,
        attributes: dict[str, Any] | None = None,
        output_reducer: Callable[[list[Any]], Any] | None = None,
    ) -> F: ...

    @overload
    def trace(
        self,
        func: None = None,
        name: str | None = None,
        span_type: str = SpanType.UNKNOWN,
        attributes: dict[str, Any] | None = None,
        output_reducer: Callable[[list[Any]], Any] | None = None,
    ) -> Callable[[F], F]: ...

    def trace(
        self,
        func: Callable[..., Any] | None = None,
        name: str | None = None,
        span_type: str = SpanType.UNKNOWN,
        attributes: dict[str, Any] | None = None,
        output_reducer: Callable[[list[Any]], Any] | None = None,
    ) -> Any:
        """Trace a function, method, async function, generator or async generator.

        >>> @genver.trace(span_type="LLM")  # doctest: +SKIP
        ... def answer(question: str) -> str: ...
        """
        return make_trace(
            self.tracing_runtime,
            func,
            name=name,
            span_type=span_type,
            attributes=attributes,
            output_reducer=output_reducer,
        )

    def start_span(
        self,
        name: str = "span",
        span_type: str = SpanType.UNKNOWN,
        attributes: Mapping[str, Any] | None = None,
    ) -> _SpanContext:
        """A context manager yielding a live span, nested under the current one.

        >>> with genver.start_span("retrieve", span_type="RETRIEVER") as span:  # doctest: +SKIP
        ...     span.set_inputs({"query": q})
        """
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"Invalid span name {name!r}: expected a non-empty string.")
        return _SpanContext(self, name, span_type, attributes)

    def get_current_active_span(self) -> LiveSpan | None:
        """The span the calling code runs in, or None."""
        rt = self._runtime
        return rt.current.get() if rt is not None else None

    def update_current_trace(
        self,
        tags: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        client_request_id: str | None = None,
        request_preview: str | None = None,
        response_preview: str | None = None,
        state: str | None = None,
        model_id: str | None = None,
        session_id: str | None = None,
        user: str | None = None,
    ) -> None:
        """Add tags and metadata to the trace in progress, or link it to a version."""
        if state is not None and str(state).upper() not in ("OK", "ERROR"):
            raise InvalidArgumentError(f"Invalid trace state {state!r}: expected 'OK' or 'ERROR'.")
        span = self.get_current_active_span()
        if span is None:
            log.warning("update_current_trace() called outside a trace: nothing to update.")
            return
        pending = span._pending
        if tags:
            pending.tags = {**(pending.tags or {}), **{str(k): _text(v, k) for k, v in tags.items()}}
        meta = dict(pending.metadata or {})
        meta.update({str(k): _text(v, k) for k, v in (metadata or {}).items()})
        if session_id is not None:
            meta[keys.SESSION_KEY] = _text(session_id, "session_id")
        if user is not None:
            meta[keys.USER_KEY] = _text(user, "user")
        if model_id is not None:
            pending.model_id = model_id
            pending.model_env = None
        pending.metadata = meta or None
        if client_request_id is not None:
            pending.client_request_id = str(client_request_id)
        if request_preview is not None:
            pending.request_preview = str(request_preview)
        if response_preview is not None:
            pending.response_preview = str(response_preview)
        if state is not None:
            pending.state = str(state).upper()

    def set_trace_tag(self, trace_id: str, key: str, value: Any) -> None:
        """Set a tag on a trace: the one in progress (stored with it when it ends) or a stored
        one (waiting once for this process's pending traces if it is not stored yet).

        >>> with genver.start_span("span") as span:  # doctest: +SKIP
        ...     genver.set_trace_tag(span.trace_id, "key", "value")
        """
        span = self.get_current_active_span()
        if span is not None and span.trace_id == trace_id:
            pending = span._pending
            pending.tags = {**(pending.tags or {}), _key(key): _text(value, key)}
            return
        on_stored_trace(self, trace_id, lambda: self.client.set_trace_tag(trace_id, key, value))

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        """Remove a tag from the trace in progress or a stored trace; a key it does not have is
        a ``NotFoundError``."""
        span = self.get_current_active_span()
        if span is not None and span.trace_id == trace_id:
            pending = span._pending
            if key not in (pending.tags or {}):
                raise NotFoundError(f"No tag {key!r} on trace {trace_id!r}.")
            pending.tags = {k: v for k, v in (pending.tags or {}).items() if k != key}
            return
        on_stored_trace(self, trace_id, lambda: self.client.delete_trace_tag(trace_id, key))

    def get_last_active_trace_id(self, thread_local: bool = False) -> str | None:
        """The id of the last trace that ended in this process."""
        rt = self._runtime
        return rt.last_trace_id if rt is not None else None

    def flush_trace_async_logging(self, terminate: bool = False, timeout: float | None = 30.0) -> bool:
        """Wait until every finished trace is exported (or spooled). True when done."""
        rt = self._runtime
        if rt is None:
            return True
        if terminate:
            rt.exporter.shutdown(timeout or 30.0)
            return True
        return rt.exporter.flush(timeout)

    def get_trace_export_stats(self) -> ExportStats | None:
        """Counters of the background exporter: exported, spooled, delivered, dropped, queued."""
        rt = self._runtime
        return rt.exporter.stats() if rt is not None else None

    def get_trace(self, trace_id: str, silent: bool = False, flush: bool = False) -> Trace | None:
        """A stored trace with its spans, or None (with a warning unless ``silent``)."""
        if flush:
            self.flush_trace_async_logging()
        try:
            return self.client.get_trace(trace_id)
        except NotFoundError:
            if not silent:
                log.warning("Trace %r not found.", trace_id)
            return None

    def search_traces(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        extract_fields: Sequence[str] | None = None,
        run_id: str | None = None,
        return_type: str | None = None,
        model_id: str | None = None,
        include_spans: bool = True,
        flush: bool = False,
        locations: Sequence[str] | None = None,
    ) -> list[Trace] | pd.DataFrame:
        """Traces matching a filter, newest first, as a DataFrame (default) or a list.

        >>> genver.search_traces(model_id=model.model_id, return_type="list")  # doctest: +SKIP
        """
        return_type = return_type or "pandas"
        check_output_format(
            "list" if return_type == "list" else "pandas" if return_type == "pandas" else return_type
        )
        if model_id is not None and filter_string:
            raise InvalidArgumentError("Pass either model_id or filter_string to search_traces, not both.")
        if flush:
            self.flush_trace_async_logging()
        client = self.client
        # With a model_id or run_id the client searches that version's or run's experiment.
        ids = experiment_ids or locations or (None if model_id or run_id else [self.current_experiment_id()])
        traces: list[Trace] = collect_pages(
            lambda size, token: client.search_traces(
                ids,
                filter_string,
                size,
                order_by,
                token,
                run_id=run_id,
                include_spans=include_spans,
                model_id=model_id,
            ),
            max_results,
        )
        if return_type == "list":
            return traces
        from genver.fluent.frames import traces_frame

        return traces_frame(traces)

    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        """Delete traces by id, or older than a timestamp (at most ``max_traces``); returns the count."""
        return self.client.delete_traces(str(experiment_id), max_timestamp_millis, max_traces, trace_ids)

    def get_trace_stats(
        self,
        model_ids: str | Sequence[str] | None = None,
        experiment_ids: Sequence[str] | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        flush: bool = True,
    ) -> list[TraceStats]:
        """Per-version trace count, error rate, latency p50/p95/p99, tokens and cost, computed by the
        store over ``[start_time, end_time)`` (ms)."""
        if flush:
            self.flush_trace_async_logging()
        return self.client.get_trace_stats(model_ids or None, experiment_ids or None, start_time, end_time)


def _key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidArgumentError(f"Invalid tag key {key!r}: expected a non-empty string.")
    return key


def _text(value: Any, key: object) -> str:
    if isinstance(value, str):
        return value
    log.warning("Trace tag/metadata %r has a non-string value %r; storing str(value).", key, value)
    return str(value)


def _flush_all_at_exit() -> None:
    """A normal exit exports what is queued (or spools it if the store is down)."""
    timeout = TRACE_EXIT_TIMEOUT.get_float()
    for api in list(_instances):
        rt = api._runtime
        if rt is not None:
            try:
                rt.exporter.shutdown(timeout)
            except Exception as exc:  # at exit: never raise
                log.warning("genver could not flush traces at exit: %s", exc)


atexit.register(_flush_all_at_exit)


def _flush_all() -> None:
    """``GenverClient(...).get_trace(..., flush=True)`` and friends: export what is queued."""
    for api in list(_instances):
        api.flush_trace_async_logging()


register_trace_flusher(_flush_all)


def _after_fork() -> None:
    for api in list(_instances):
        rt = api._runtime
        if rt is not None:
            rt.exporter.reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
