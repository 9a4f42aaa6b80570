"""The per-row machinery of ``genai.evaluate``: reading ``data`` into rows, running
``predict_fn`` on each row under its own trace, and scoring each row.

Each row runs in a worker thread, in a copy of the caller's context (``copy_context().run``),
so the evaluation run, the version being evaluated and the current span reach the worker.

A row's trace is a root span ``predict`` around ``predict_fn``, carrying metadata
``genver.eval.record_id`` and ``genver.eval.dataset_digest``. A ``predict_fn`` that is itself a
genver ``@trace`` function keeps its own root span: a ``RootRequest`` set in the row's context
gives that root the row's metadata and tags as it starts and records its trace id (one
ContextVar read per root span; no span processor, no second write of the trace).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from genver.data import digest_of
from genver.entities import AssessmentError, EvaluationDataset, Feedback, SpanType, Trace
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.genai.datasets import (
    DEFAULT_DATASET_NAME,
    as_row_list,
    check_inputs,
    check_mapping,
    is_missing,
    load_traces,
    record_id_for,
    trace_expectations,
    trace_inputs,
)
from genver.genai.scorers.base import Scorer
from genver.tracing.runtime import RootRequest

if TYPE_CHECKING:
    from genver.fluent import Genver

log = logging.getLogger("genver.genai")

#: Trace metadata of each row's trace.
TRACE_RECORD_ID = "genver.eval.record_id"
TRACE_DATASET_DIGEST = "genver.eval.dataset_digest"
PREDICT_SPAN = "predict"


# -- rows --------------------------------------------------------------------------------
@dataclass(slots=True)
class EvalRow:
    """One row of an evaluation: what to call ``predict_fn`` with and what to expect."""

    index: int
    record_id: str
    inputs: Any
    expectations: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    outputs: Any = None
    has_outputs: bool = False
    trace: Trace | None = None
    #: False when the expectations came from the trace's own assessments (already stored).
    store_expectations: bool = True


@dataclass(slots=True)
class EvalData:
    rows: list[EvalRow]
    name: str
    digest: str
    dataset_id: str | None = None


def eval_data(data: Any, gv: Genver) -> EvalData:
    """``evaluate``'s ``data`` as rows, with the dataset name and digest metrics will carry."""
    if isinstance(data, str):
        data = gv.client.get_dataset(data)
    if isinstance(data, EvaluationDataset):
        ds = data if data.records is not None else gv.client.get_dataset(data.dataset_id)
        rows = [
            EvalRow(
                index=i,
                record_id=r.record_id,
                inputs=dict(r.inputs),
                expectations=dict(r.expectations),
                tags=dict(r.tags),
            )
            for i, r in enumerate(ds.records or [])
        ]
        return EvalData(rows=rows, name=ds.name, digest=ds.digest, dataset_id=ds.dataset_id)
    items = as_row_list(data, "data")
    traces = [t for t in items if isinstance(t, Trace)]
    if traces and len(traces) != len(items):
        bad = next(t for t in items if not isinstance(t, Trace))
        raise InvalidArgumentError(
            f"Invalid data row {bad!r}: a list of traces must hold only Trace objects."
        )
    if traces:
        items = [{"trace": t} for t in load_traces(traces, gv)]
    else:  # a trace column (a search_traces DataFrame): spans are loaded where missing
        items = [
            {**item, "trace": gv.client.get_trace(item["trace"].info.trace_id)}
            if isinstance(item, Mapping)
            and isinstance(item.get("trace"), Trace)
            and not item["trace"].data.spans
            else item
            for item in items
        ]
    rows = [_row(i, item) for i, item in enumerate(items)]
    _dedupe_ids(rows)
    canonical = [{"record_id": r.record_id, "inputs": r.inputs, "expectations": r.expectations} for r in rows]
    return EvalData(rows=rows, name=DEFAULT_DATASET_NAME, digest=digest_of(canonical))


def _row(i: int, item: Any) -> EvalRow:
    if not isinstance(item, Mapping):
        raise InvalidArgumentError(
            f"Invalid data row {i}: {item!r}. Expected a dict with 'inputs' (a dict of predict_fn "
            "arguments), optional 'expectations', 'outputs', 'tags' or 'trace'."
        )
    trace = item.get("trace")
    if is_missing(trace):
        trace = None
    if trace is not None and not isinstance(trace, Trace):
        raise InvalidArgumentError(f"Invalid trace {trace!r} in data row {i}: expected a genver Trace.")
    raw_inputs = item.get("inputs")
    if trace is not None and is_missing(raw_inputs):
        inputs: Any = trace_inputs(trace)
    else:
        inputs = check_inputs(raw_inputs, i)
    expectations = check_mapping(item.get("expectations"), "expectations", i)
    from_trace = False
    if trace is not None and not expectations:
        expectations = trace_expectations(trace)
        from_trace = bool(expectations)
    has_outputs = "outputs" in item and not is_missing(item.get("outputs"))
    outputs = item.get("outputs") if has_outputs else None
    if trace is not None and not has_outputs:
        root = trace.data.root
        outputs, has_outputs = (root.outputs if root is not None else None), True
    return EvalRow(
        index=i,
        record_id=record_id_for(inputs),
        inputs=inputs,
        expectations=expectations,
        tags={str(k): str(v) for k, v in check_mapping(item.get("tags"), "tags", i).items()},
        outputs=outputs,
        has_outputs=has_outputs,
        trace=trace,
        store_expectations=not from_trace,
    )


def _dedupe_ids(rows: list[EvalRow]) -> None:
    """The same inputs twice in a list: the later rows get ``<id>-2``, ``<id>-3``... (stable for
    the same list, so versions still pair up)."""
    seen: dict[str, int] = {}
    for r in rows:
        n = seen.get(r.record_id, 0) + 1
        seen[r.record_id] = n
        if n > 1:
            r.record_id = f"{r.record_id}-{n}"


@dataclass(slots=True)
class Outcome:
    """What happened to one row."""

    outputs: Any = None
    error: str | None = None
    trace_id: str | None = None
    trace: Trace | None = None
    feedbacks: list[Feedback] = field(default_factory=list)
    aggregations: dict[str, list[str]] = field(default_factory=dict)  # per feedback name
    failures: dict[str, AssessmentError] = field(default_factory=dict)  # per scorer: why it failed here
    scored: bool = False  # every scorer ran on this row (an interrupted evaluation keeps these)


# -- predicting ------------------------------------------------------------------------------------------


def predict_task(
    gv: Genver, ed: EvalData, predict_fn: Callable[..., Any] | None, timeout: float
) -> Callable[[EvalRow, Outcome], None]:
    traced = predict_fn is not None and is_traced(predict_fn) and gv.tracing_runtime() is not None

    def task(row: EvalRow, out: Outcome) -> None:
        if row.trace is not None:  # evaluating existing traces: nothing to run
            out.trace_id, out.trace, out.outputs = row.trace.info.trace_id, row.trace, row.outputs
            return
        rt = gv.tracing_runtime()
        if rt is not None and rt.current.get() is not None:  # evaluate() ran inside a span:
            rt.current.set(None)  # each row still gets a trace of its own
        meta = {TRACE_RECORD_ID: row.record_id, TRACE_DATASET_DIGEST: ed.digest}
        exc: Exception | None = None
        if traced:  # the app's own @trace root is the row's trace
            assert predict_fn is not None
            assert rt is not None
            request = RootRequest(meta, row.tags or None)  # labels the app's own root span
            token = rt.next_root.set(request)
            try:
                out.outputs = _call(predict_fn, row.inputs, timeout)
            except Exception as e:
                exc = e
            finally:
                rt.next_root.reset(token)
            out.trace_id = request.trace_id
            if out.trace_id is not None:
                _fail(out, exc)
                return
        with gv.start_span(PREDICT_SPAN, span_type=SpanType.CHAIN) as span:
            span.set_inputs(dict(row.inputs))
            gv.update_current_trace(metadata=meta, tags=row.tags or None)
            if predict_fn is None:
                out.outputs = row.outputs
            elif not traced:
                try:
                    out.outputs = _call(predict_fn, row.inputs, timeout)
                except Exception as e:
                    exc = e
            if exc is not None:
                span.record_exception(exc)
            span.set_outputs(out.outputs)
            trace_id = getattr(span, "trace_id", None)
            out.trace_id = trace_id if isinstance(trace_id, str) else None  # None: tracing is off
        _fail(out, exc)

    return task


def _fail(out: Outcome, exc: Exception | None) -> None:
    if exc is not None:
        out.outputs = None
        out.error = f"{type(exc).__name__}: {exc}"


def _call(fn: Callable[..., Any], inputs: Any, timeout: float) -> Any:
    """``fn(**inputs)``; an async function (or a returned awaitable) runs on its own event loop."""
    if inspect.iscoroutinefunction(fn):
        return asyncio.run(_await(fn(**inputs), timeout))
    result = fn(**inputs)
    if inspect.isawaitable(result):
        return asyncio.run(_await(result, timeout))
    return result


async def _await(awaitable: Any, timeout: float) -> Any:
    return await asyncio.wait_for(awaitable, timeout)


def is_traced(fn: Callable[..., Any]) -> bool:
    """Is ``fn`` a genver ``@trace`` function (so each call already makes a trace)? Its code is
    then one of the wrappers in ``genver.tracing.decorator`` (``functools.wraps`` copies the
    name and qualname, not the code)."""
    from genver.tracing import decorator

    target: Any = getattr(fn, "__func__", fn)  # bound methods
    if not inspect.isfunction(target):
        target = getattr(type(fn).__call__, "__func__", type(fn).__call__)  # callable objects
    code = getattr(target, "__code__", None)
    return code is not None and code.co_filename == decorator.__file__ and code.co_name.endswith("wrapper")


def check_predict_fn(predict_fn: Callable[..., Any], rows: list[EvalRow]) -> None:
    for r in rows:
        if r.trace is not None:
            raise InvalidArgumentError(
                f"Data row {r.index} is a trace, and predict_fn was given: evaluate traces without predict_fn."
            )
        if r.has_outputs:
            raise InvalidArgumentError(
                f"Data row {r.index} has outputs {r.outputs!r}, and predict_fn was given: pass one or the other."
            )
    try:
        sig = inspect.signature(predict_fn)
    except (TypeError, ValueError):
        return
    for r in rows:
        try:
            sig.bind(**r.inputs)
        except TypeError as exc:
            raise InvalidArgumentError(
                f"predict_fn{sig} cannot take the inputs of row {r.index}, {r.inputs!r}, as keyword "
                f"arguments: {exc}."
            ) from None


# -- scoring -----------------------------------------------------------------------------------------------
def score_task(gv: Genver, ed: EvalData, scorers: list[Scorer]) -> Callable[[EvalRow, Outcome], None]:
    client = gv.client

    def task(row: EvalRow, out: Outcome) -> None:
        if out.trace is None and out.trace_id is not None:
            try:
                trace = client.get_trace(out.trace_id)
            except NotFoundError:
                log.warning(
                    "Trace %s of row %d was not exported in time; scoring without it.",
                    out.trace_id,
                    row.index,
                )
            else:
                out.trace = trace
        for s in scorers:
            for fb in s.run(
                inputs=row.inputs, outputs=out.outputs, expectations=row.expectations, trace=out.trace
            ):
                out.feedbacks.append(fb)
                out.aggregations.setdefault(fb.name, s.aggregations)
                if fb.error is not None:
                    out.failures.setdefault(s.name, fb.error)

    return task
