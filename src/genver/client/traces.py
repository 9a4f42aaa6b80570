"""The client's traces and assessments, with MLflow's client names.

``flush=True`` waits for traces this process is still exporting: the tracing layer registers how
(``register_trace_flusher``), since the client sits below it and cannot call it directly.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from genver.client.base import ClientBase, check_filter, id_list, str_list
from genver.entities import (
    Assessment,
    AssessmentSource,
    Expectation,
    Feedback,
    PagedList,
    Span,
    Trace,
    TraceOutline,
    TraceStats,
)
from genver.entities import trace as keys
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.search.parser import quote
from genver.validation import check_id

_flushers: list[Callable[[], object]] = []
_flushers_lock = threading.Lock()


def register_trace_flusher(flush: Callable[[], object]) -> None:
    """Called by the tracing layer once: ``flush()`` exports every trace finished so far."""
    with _flushers_lock:
        if flush not in _flushers:
            _flushers.append(flush)


def flush_pending_traces() -> None:
    """Wait until traces finished in this process are stored (MLflow's ``flush=True``)."""
    for flush in list(_flushers):
        flush()


class TracesClient(ClientBase):
    """Traces (stored with their spans), their tags and statistics, and assessments on them."""

    # -- traces ----------------------------------------------------------------------------------
    def log_traces(self, traces: Sequence[Trace]) -> None:
        """Store complete traces; idempotent per trace id (what the background exporter calls)."""
        self._store.log_traces(traces)

    def get_trace(self, trace_id: str, display: bool = True, flush: bool = False) -> Trace:
        """The trace with its spans; unknown → ``NotFoundError``. (``display`` is accepted for
        MLflow's signature; genver has no notebook display.)"""
        if flush:
            flush_pending_traces()
        return self._store.get_trace(check_id(trace_id, "trace_id"))

    def get_trace_outline(self, trace_id: str) -> TraceOutline:
        """The trace's info and every span's outline (place in the tree, timing, status, tokens,
        cost) in start order, without inputs, outputs, attributes or events: for a span tree of
        a big trace. A genver extension (MLflow reads whole traces)."""
        return self._store.get_trace_outline(check_id(trace_id, "trace_id"))

    def get_spans(self, trace_id: str, span_ids: Sequence[str]) -> list[Span]:
        """Full spans of a trace by id, in the order asked (ids it does not have are left out).
        A genver extension, beside ``get_trace_outline``."""
        return self._store.get_spans(check_id(trace_id, "trace_id"), str_list(span_ids, "span_ids") or [])

    def search_traces(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        run_id: str | None = None,
        include_spans: bool = True,
        model_id: str | None = None,
        locations: Sequence[str] | None = None,
        flush: bool = False,
    ) -> PagedList[Trace]:
        """One page of traces matching a filter, newest first unless ``order_by`` says otherwise.

        ``model_id`` and ``run_id`` narrow the search to traces of that version or run; without
        ``experiment_ids`` (or MLflow's ``locations``), the search covers the version's or run's
        experiment, else the Default experiment.

        >>> client.search_traces(model_id=model.model_id, max_results=10)  # doctest: +SKIP
        """
        check_filter(filter_string)
        if model_id is not None and filter_string:
            raise InvalidArgumentError("Pass either model_id or filter_string to search_traces, not both.")
        if flush:
            flush_pending_traces()
        clauses = []
        if model_id is not None:
            clauses.append(f"metadata.`{keys.MODEL_ID_KEY}` = {quote(check_id(model_id, 'model_id'))}")
        if run_id is not None:
            clauses.append(f"metadata.`{keys.SOURCE_RUN_KEY}` = {quote(check_id(run_id, 'run_id'))}")
        if filter_string:
            from genver.search.ast import TRACES
            from genver.search.parser import parse_filter

            parse_filter(filter_string, TRACES)  # errors point into the caller's own text
            clauses.append(f"({filter_string})" if clauses else filter_string)
        ids = id_list(experiment_ids) or id_list(locations) or self._trace_experiments(model_id, run_id)
        return self._store.search_traces(
            experiment_ids=ids,
            filter_string=" AND ".join(clauses) or None,
            max_results=max_results,
            order_by=str_list(order_by, "order_by"),
            page_token=page_token,
            include_spans=include_spans,
        )

    def _trace_experiments(self, model_id: str | None, run_id: str | None) -> list[str]:
        if model_id is not None:
            try:
                return [self._store.get_logged_model(model_id).experiment_id]
            except NotFoundError:
                pass
        if run_id is not None:
            return [self._store.get_run(run_id).info.experiment_id]
        return ["0"]

    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        """Delete traces by id, or older than a timestamp (at most ``max_traces``); returns the count."""
        return self._store.delete_traces(
            experiment_id=str(experiment_id),
            max_timestamp_millis=max_timestamp_millis,
            max_traces=max_traces,
            trace_ids=trace_ids,
        )

    def set_trace_tag(self, trace_id: str, key: str, value: Any) -> None:
        """Set one tag on a stored trace (values are stored as text)."""
        self._store.set_trace_tags(check_id(trace_id, "trace_id"), {key: _text(value)})

    def set_trace_tags(self, trace_id: str, tags: Mapping[str, Any]) -> None:
        """Set several tags on a stored trace at once."""
        self._store.set_trace_tags(check_id(trace_id, "trace_id"), {k: _text(v) for k, v in tags.items()})

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        """Remove a tag from a stored trace; a missing key raises ``NotFoundError``."""
        self._store.delete_trace_tag(check_id(trace_id, "trace_id"), key)

    def get_trace_stats(
        self,
        model_ids: str | Sequence[str] | None = None,
        experiment_ids: Sequence[str] | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        flush: bool = False,
        *,
        bucket_ms: int | None = None,
    ) -> list[TraceStats]:
        """Per-version trace count, error rate, latency p50/p95/p99, tokens and cost, computed by
        the store over traces whose request time is in ``[start_time, end_time)`` (ms).

        With ``bucket_ms`` (both times then required), one entry per version and time bucket
        that has traces, ``bucket_start`` saying which (``start_time + k * bucket_ms``), all in
        one query: a dashboard's series."""
        if flush:
            flush_pending_traces()
        return self._store.trace_stats(
            experiment_ids=id_list(experiment_ids),
            model_ids=id_list(model_ids),
            start_time=start_time,
            end_time=end_time,
            bucket_ms=bucket_ms,
        )

    # -- assessments -----------------------------------------------------------------------------
    def log_assessment(self, trace_id: str, assessment: Assessment | Feedback | Expectation) -> Assessment:
        """Store one assessment on a trace and return it as stored: a ``Feedback`` or an
        ``Expectation`` (given a new ``a-<32 hex>`` id and the current time), or a complete
        ``Assessment`` (stored as it is; idempotent per id).

        >>> client.log_assessment(trace_id, Feedback(name="helpful", value=True))  # doctest: +SKIP
        """
        stored = to_assessment(trace_id, assessment)
        self._store.log_assessments([stored])
        return stored

    def log_assessments(self, assessments: Sequence[Assessment]) -> None:
        """Store many assessments in one transaction (idempotent per ``assessment_id``)."""
        self._store.log_assessments(assessments)

    def get_assessment(self, trace_id: str, assessment_id: str) -> Assessment:
        """One assessment of a trace; unknown → ``NotFoundError`` naming both ids."""
        for found in self._store.get_assessments(trace_ids=[check_id(trace_id, "trace_id")]):
            if found.assessment_id == assessment_id:
                return found
        raise NotFoundError(f"No assessment {assessment_id!r} on trace {trace_id!r}.")

    def get_assessments(
        self, *, trace_ids: Sequence[str] | None = None, run_id: str | None = None, name: str | None = None
    ) -> list[Assessment]:
        """Assessments of these traces, or made by this evaluation run, optionally of one name;
        ordered by trace, then name, then creation time."""
        return self._store.get_assessments(trace_ids=trace_ids, run_id=run_id, name=name)

    def update_assessment(
        self, trace_id: str, assessment_id: str, assessment: Feedback | Expectation | Assessment
    ) -> Assessment:
        """Change an assessment in place, as MLflow does: name and value (and a feedback's error)
        from ``assessment``, its rationale when it has one, metadata merged; source and span kept.
        Returns the updated assessment (``last_update_time_ms`` stamped).

        >>> client.update_assessment(trace_id, a.assessment_id, Feedback(name="helpful", value=False))  # doctest: +SKIP
        """
        update: Feedback | Expectation | None
        if isinstance(assessment, Assessment):
            update = assessment.feedback or assessment.expectation
        else:
            update = assessment
        if not isinstance(update, (Feedback, Expectation)):
            raise InvalidArgumentError(
                f"Invalid assessment {assessment!r}: expected a Feedback or an Expectation with the new values."
            )
        update = dataclasses.replace(update, metadata=metadata_text(update.metadata))
        return self._store.update_assessment(
            check_id(trace_id, "trace_id"), check_id(assessment_id, "assessment_id"), update
        )

    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        """Delete an assessment of a trace (nothing happens if it is already gone); if it
        overrode another, that one counts again (``valid``)."""
        self._store.delete_assessment(
            check_id(trace_id, "trace_id"), check_id(assessment_id, "assessment_id")
        )


def metadata_text(metadata: object) -> Any:
    """Assessment metadata with its values as text, as MLflow sends them (``{"confidence": 0.95}``
    is stored as ``"0.95"``); keys are checked by the store. Anything but a mapping is left for
    the store to refuse by name."""
    if not isinstance(metadata, Mapping):
        return metadata
    return {k: v if isinstance(v, str) else str(v) for k, v in metadata.items()}


def new_assessment_id() -> str:
    """``a-`` followed by 32 lowercase hex digits."""
    return "a-" + uuid.uuid4().hex


def to_assessment(trace_id: object, item: object, *, overrides: str | None = None) -> Assessment:
    """``item`` as the ``Assessment`` to store on ``trace_id``: a ``Feedback`` or ``Expectation``
    gets a new id and the current time; an ``Assessment`` must belong to that trace."""
    tid = check_id(trace_id, "trace_id")
    if isinstance(item, Assessment):
        if item.trace_id != tid:
            raise InvalidArgumentError(f"The assessment belongs to trace {item.trace_id!r}, not {tid!r}.")
        return item
    if not isinstance(item, (Feedback, Expectation)):
        raise InvalidArgumentError(
            f"Invalid assessment {item!r}: expected a genver.entities.Feedback, Expectation or Assessment."
        )
    if item.trace_id is not None and item.trace_id != tid:
        raise InvalidArgumentError(
            f"The {type(item).__name__.lower()} names trace {item.trace_id!r}, not {tid!r}."
        )
    source = item.source
    if not isinstance(source, AssessmentSource):
        raise InvalidArgumentError(
            f"Invalid source {source!r}: expected an AssessmentSource, e.g. "
            "AssessmentSource(source_type='HUMAN', source_id='ana@example.com')."
        )
    now = int(time.time() * 1000)
    feedback = item if isinstance(item, Feedback) else None
    return Assessment(
        assessment_id=new_assessment_id(),
        trace_id=tid,
        name=item.name,
        kind="feedback" if feedback is not None else "expectation",
        value=item.value,
        rationale=feedback.rationale if feedback is not None else None,
        source=source,
        error=feedback.error if feedback is not None else None,
        metadata=metadata_text(item.metadata),
        span_id=item.span_id,
        create_time_ms=now,
        last_update_time_ms=now,
        overrides=overrides,
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
