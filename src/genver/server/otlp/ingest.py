"""Storing an OTLP request: check the links, merge the traces into the store.

Unknown ids are rejected, never stored unlinked:

- from the request's headers (``X-Genver-Model-Id``, ``X-Genver-Experiment-Id`` /
  ``x-mlflow-experiment-id``): the whole request fails (404 unknown, 400 invalid or deleted), so
  the exporter logs it: every span of the request would be refused, and retrying cannot help;
- from span or resource attributes: only that trace's spans are rejected and the response's
  ``partial_success`` names the id; the other traces of the batch are stored.
"""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from genver.entities import Trace
from genver.exceptions import GenverError, InvalidArgumentError, NotFoundError
from genver.server.otlp.convert import Headers, convert
from genver.store.base import Store
from genver.trace_summary import PriceTable

MAX_PROBLEMS = 5  # reasons listed in a partial_success message; the rest are counted


def check_headers(store: Store, headers: Headers) -> None:
    """Raise ``NotFoundError`` / ``InvalidArgumentError`` for an unknown or unusable header id."""
    if headers.experiment_id is not None:
        problem = _experiment_problem(store, headers.experiment_id)
        if problem is not None:
            raise problem
    if headers.model_id is not None:
        problem = _model_problem(store, headers.model_id)
        if problem is not None:
            raise problem


def ingest(
    store: Store, request: ExportTraceServiceRequest, *, headers: Headers, prices: PriceTable
) -> tuple[int, str]:
    """Merge the request's traces into ``store``; the spans rejected and why ("" if none)."""
    check_headers(store, headers)
    converted = convert(request, headers=headers, prices=prices)
    problems: dict[str, GenverError | None] = {}  # link -> problem, looked up once per request
    accepted: list[Trace] = []
    for trace in converted.traces:
        for what, value, check in (
            ("experiment", trace.info.experiment_id, _experiment_problem),
            ("version", trace.info.model_id, _model_problem),
        ):
            if value is None:
                continue
            key = f"{what}:{value}"
            if key not in problems:
                problems[key] = check(store, value)
            problem = problems[key]
            if problem is not None:
                converted.reject(
                    converted.span_counts[trace.info.trace_id],
                    f"trace {trace.info.trace_id!r}: {problem.message}",
                )
                break
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
    return converted.rejected_spans, _summary(converted.problems, converted.rejected_spans)


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


def _model_problem(store: Store, model_id: str) -> GenverError | None:
    try:
        store.get_logged_model(model_id)
    except NotFoundError:
        return NotFoundError(
            f"No version (logged model) with id {model_id!r}: create it first, e.g. "
            "genver.set_active_model(name=...), and send its model_id."
        )
    except InvalidArgumentError as exc:
        return exc
    return None
