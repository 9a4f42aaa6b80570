"""Storing an OTLP request: check the links, merge the traces into the store.

The version link may be a model id, a version name (the latest of that name in the trace's
experiment) or an alias, read by ``genver.client.refs`` like everywhere else; the trace is stored
with the resolved model id. Unknown links are rejected, never stored unlinked (and a name never
creates a version here):

- from the request's headers (``X-Genver-Model-Id``, ``X-Genver-Experiment-Id`` /
  ``x-mlflow-experiment-id``): the whole request fails (404 unknown, 400 invalid or deleted), so
  the exporter logs it: every span of the request would be refused, and retrying cannot help;
- from span or resource attributes: only that trace's spans are rejected and the response's
  ``partial_success`` names the id; the other traces of the batch are stored.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import weakref
from collections.abc import Sequence

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from genver.client import GenverClient
from genver.client.refs import MODEL_ID, find_model
from genver.entities import Trace
from genver.entities.trace import MODEL_ID_KEY
from genver.exceptions import GenverError, InvalidArgumentError, NotFoundError
from genver.server import SERVER_NAME
from genver.server.otlp.convert import DEFAULT_EXPERIMENT_ID, Headers, convert
from genver.store.base import Store
from genver.trace_summary import PriceTable

MAX_PROBLEMS = 5  # reasons listed in a partial_success message; the rest are counted
log = logging.getLogger("genver.server")
#: Seconds a version link found in the store is trusted without asking again (per server
#: process). A request of 100 traces names up to 100 versions, and each look-up was ~0.7 ms, as
#: much as storing the trace: with this, a busy exporter's versions are looked up once every
#: LINK_TTL. Only links found are kept (a version created now is seen at once); a version deleted,
#: or an alias or name moved to another version, is seen within LINK_TTL.
LINK_TTL = 10.0
_LINKS_MAX = 10_000
_links: weakref.WeakKeyDictionary[Store, dict[tuple[str, str], tuple[str, float]]] = (
    weakref.WeakKeyDictionary()
)


def check_headers(store: Store, headers: Headers) -> None:
    """Raise ``NotFoundError`` / ``InvalidArgumentError`` for an unknown or unusable header id."""
    if headers.experiment_id is not None:
        problem = _experiment_problem(store, headers.experiment_id)
        if problem is not None:
            raise problem
    if headers.model_id is not None:
        found = _resolve_model(store, headers.model_id, headers.experiment_id or DEFAULT_EXPERIMENT_ID)
        if isinstance(found, GenverError):
            raise found


def ingest(
    store: Store, request: ExportTraceServiceRequest, *, headers: Headers, prices: PriceTable
) -> tuple[int, str]:
    """Merge the request's traces into ``store``; the spans rejected and why ("" if none)."""
    check_headers(store, headers)
    converted = convert(request, headers=headers, prices=prices)
    experiments: dict[str, GenverError | None] = {}  # looked up once per request
    models = _resolve_ids(store, converted.traces)
    accepted: list[Trace] = []
    for trace in converted.traces:
        experiment_id = trace.info.experiment_id
        if experiment_id not in experiments:
            experiments[experiment_id] = _experiment_problem(store, experiment_id)
        problem = experiments[experiment_id]
        ref = trace.info.model_id
        if problem is None and ref is not None:
            key = (ref, experiment_id)
            if key not in models:
                models[key] = _resolve_model(store, ref, experiment_id)
            found = models[key]
            if isinstance(found, GenverError):
                problem = found
            elif found != ref:
                trace = _linked(trace, found)
        if problem is not None:
            converted.reject(
                converted.span_counts[trace.info.trace_id],
                f"trace {trace.info.trace_id!r}: {problem.message}",
            )
        else:
            accepted.append(trace)
    if accepted:
        try:
            store.merge_traces(accepted)
        except InvalidArgumentError:  # one bad trace fails the batch: store the others
            for trace in accepted:
                try:
                    store.merge_traces([trace])
                except InvalidArgumentError as exc:
                    converted.reject(converted.span_counts[trace.info.trace_id], exc.message)
    summary = _summary(converted.problems, converted.rejected_spans)
    if converted.rejected_spans:
        # OpenTelemetry SDKs log partial_success nowhere by default: the server says it too
        REJECTED.add(converted.rejected_spans)
        log.warning("OTLP ingest: %s (%d rejected since start)", summary, REJECTED.total)
    return converted.rejected_spans, summary


class _Counter:
    """Spans rejected since the server started (in this process), for the log line."""

    def __init__(self) -> None:
        self.total = 0
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.total += n


REJECTED = _Counter()


def _summary(problems: list[str], rejected: int) -> str:
    if not problems:
        return ""
    shown = "; ".join(problems[:MAX_PROBLEMS])
    more = len(problems) - MAX_PROBLEMS
    return f"Rejected {rejected} span(s): {shown}" + (f"; and {more} more" if more > 0 else "") + "."


def _experiment_problem(store: Store, experiment_id: str) -> GenverError | None:
    try:
        experiment = store.get_experiment(experiment_id)
    except (NotFoundError, InvalidArgumentError) as exc:
        if isinstance(exc, NotFoundError):
            return NotFoundError(f"No experiment with id {experiment_id!r} to log traces to.")
        return exc
    if experiment.lifecycle_stage != "active":
        return InvalidArgumentError(
            f"Experiment {experiment.name!r} (id {experiment_id!r}) is deleted: restore it or send "
            "traces to another experiment."
        )
    return None


def _resolve_model(store: Store, ref: str, experiment_id: str) -> str | GenverError:
    """The model id a version link names, or why it cannot be used (``LINK_TTL``)."""
    links = _links_of(store)
    now = time.monotonic()
    hit = links.get((ref, experiment_id))
    if hit is not None and hit[1] > now:
        return hit[0]
    found = _look_up_model(store, ref, experiment_id)
    if isinstance(found, str):
        if len(links) >= _LINKS_MAX:
            links.clear()
        links[(ref, experiment_id)] = (found, now + LINK_TTL)
    return found


def _links_of(store: Store) -> dict[tuple[str, str], tuple[str, float]]:
    """This store's trusted links: (ref, experiment) -> (model id, trusted until)."""
    links = _links.get(store)
    return _links.setdefault(store, {}) if links is None else links


def _resolve_ids(store: Store, traces: Sequence[Trace]) -> dict[tuple[str, str], str | GenverError]:
    """The links of ``traces`` that are model ids, resolved together: from the ``LINK_TTL``
    cache, the rest in one ``active_model_ids`` call (a request of 100 traces of a busy app with
    1,000 versions has a few ids not looked up in the last ``LINK_TTL``: one by one, at ~0.7 ms
    each, they cost more server CPU than storing those traces). Names and aliases are left to
    ``_resolve_model``."""
    links = _links_of(store)
    now = time.monotonic()
    out: dict[tuple[str, str], str | GenverError] = {}
    wanted: dict[str, dict[tuple[str, str], None]] = {}  # id -> its (ref, experiment) keys, once each
    for trace in traces:
        ref = trace.info.model_id
        if ref is None or not MODEL_ID.fullmatch(ref):
            continue
        key = (ref, trace.info.experiment_id)
        hit = links.get(key)
        if hit is not None and hit[1] > now:
            out[key] = hit[0]
        else:
            wanted.setdefault(ref, {})[key] = None
    if wanted:
        active = store.active_model_ids(list(wanted))  # ids shaped as ids: none is refused
        if len(links) + len(wanted) > _LINKS_MAX:
            links.clear()
        for ref, keys in wanted.items():
            for key in keys:
                if ref in active:
                    out[key] = ref
                    links[key] = (ref, now + LINK_TTL)
                else:  # rare: looked up alone, for the same refusal as any unknown link
                    out[key] = _look_up_model(store, ref, key[1])
    return out


def _look_up_model(store: Store, ref: str, experiment_id: str) -> str | GenverError:
    try:
        found = find_model(
            GenverClient(store=store, shown_as=SERVER_NAME), ref, experiment_id=experiment_id, warn=False
        )
    except (NotFoundError, InvalidArgumentError) as exc:
        return exc
    if found is None:
        return NotFoundError(
            f"No version (logged model) {ref!r} in experiment {experiment_id!r}: create it first, "
            "e.g. genver.set_active_model(name=...), and send its model_id or name."
        )
    return found.model_id


def _linked(trace: Trace, model_id: str) -> Trace:
    """The trace linked to ``model_id`` (it named its version by name or alias)."""
    metadata = {**trace.info.trace_metadata, MODEL_ID_KEY: model_id}
    return dataclasses.replace(trace, info=dataclasses.replace(trace.info, trace_metadata=metadata))
