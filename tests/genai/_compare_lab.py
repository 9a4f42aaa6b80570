"""Test data for compare and gate, written the way ``genai.evaluate`` writes it (the contract):

- one trace per dataset row, linked to the version (``mlflow.modelId``);
- ``<scorer>/mean`` metrics logged in an evaluation run on the version, with the dataset;
- one feedback assessment per row and scorer, ``run_id`` = that run, metadata
  ``genver.record_id`` / ``genver.dataset_digest`` / ``genver.model_id``.

Traces are built directly (exact latency, tokens, cost) so that gate thresholds are checked
against known values; ``traced_rows`` makes them with ``@gv.trace`` instead.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from genver import data
from genver.compare.stats import score_value
from genver.entities import (
    Assessment,
    AssessmentError,
    LoggedModel,
    Span,
    TokenUsage,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from genver.entities.trace import MODEL_ID_KEY
from genver.fluent import Genver

T0 = 1_700_000_000_000
_span_ids = itertools.count(1)


def make_genver(tmp_path: Path, name: str = "t.db") -> Genver:
    environ = {"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"), "GENVER_TRACE_FLUSH_INTERVAL": "0.05"}
    return Genver(tracking_uri=f"sqlite:///{tmp_path}/{name}", environ=environ)


def dataset(n: int, name: str = "qa", variant: str = "") -> data.Dataset:
    return data.from_dict([{"q": f"question {i}{variant}"} for i in range(n)], name=name)


def trace(
    model_id: str, *, latency_ms: int = 10, tokens: int = 100, cost: float = 0.001, error: bool = False
) -> Trace:
    trace_id = "tr-" + uuid.uuid4().hex
    start = T0 * 1_000_000
    root = Span(
        trace_id=trace_id,
        span_id=f"{next(_span_ids):016x}",
        parent_id=None,
        name="app",
        start_time_ns=start,
        end_time_ns=start + latency_ms * 1_000_000,
    )
    info = TraceInfo(
        trace_id=trace_id,
        experiment_id="0",
        request_time=T0,
        execution_duration=latency_ms,
        state=TraceState.ERROR if error else TraceState.OK,
        trace_metadata={MODEL_ID_KEY: model_id},
        token_usage=TokenUsage(tokens // 2, tokens - tokens // 2, tokens),
        cost=cost,
    )
    return Trace(info, TraceData([root]))


def log_traces(
    gv: Genver,
    model_id: str,
    n: int,
    *,
    latency_ms: int | Callable[[int], int] = 10,
    tokens: int = 100,
    cost: float = 0.001,
    errors: int = 0,
) -> list[str]:
    """``n`` traces of the version; latency may vary per row (a function of the row index)."""
    made = [
        trace(
            model_id,
            latency_ms=latency_ms(i) if callable(latency_ms) else latency_ms,
            tokens=tokens,
            cost=cost,
            error=i < errors,
        )
        for i in range(n)
    ]
    gv.client.store.log_traces(made)
    return [t.info.trace_id for t in made]


def evaluate(
    gv: Genver,
    model: LoggedModel | str,
    scores: Mapping[str, Sequence[Any]],
    *,
    ds: data.Dataset | None = None,
    trace_ids: Sequence[str] | None = None,
    record_ids: Sequence[str] | None = None,
    per_row: bool = True,
    timestamp: int | None = None,
    errored: Sequence[int] = (),
    **trace_kw: Any,
) -> str:
    """Log an evaluation of the version as ``genai.evaluate`` does; returns the run id.

    ``scores`` maps a scorer name to one value per row; the metric ``<name>/mean`` is the mean of
    the numeric values. Rows in ``errored`` get a failed feedback instead (skipped everywhere).
    """
    model_id = model if isinstance(model, str) else model.model_id
    n = len(next(iter(scores.values())))
    ds = ds or dataset(n)
    if trace_ids is None:
        trace_ids = log_traces(gv, model_id, n, **trace_kw)
    records = record_ids or [f"r{i}" for i in range(n)]
    with gv.start_run(run_name="eval") as run:
        run_id = run.info.run_id
        for name, values in scores.items():
            numbers = [score_value(v) for i, v in enumerate(values) if i not in errored]
            kept = [x for x in numbers if x is not None]
            gv.log_metric(
                f"{name}/mean", sum(kept) / len(kept), model_id=model_id, dataset=ds, timestamp=timestamp
            )
    if per_row:
        assessments = [
            Assessment(
                assessment_id="a-" + uuid.uuid4().hex,
                trace_id=trace_ids[i],
                name=name,
                kind="feedback",
                value=None if i in errored else v,
                error=AssessmentError("SCORER_ERROR", "boom") if i in errored else None,
                run_id=run_id,
                metadata={
                    "genver.record_id": records[i],
                    "genver.dataset_digest": ds.digest,
                    "genver.model_id": model_id,
                },
            )
            for name, values in scores.items()
            for i, v in enumerate(values)
        ]
        gv.client.store.log_assessments(assessments)
    return run_id


def traced_rows(gv: Genver, model_id: str, questions: Sequence[str], app: Callable[[str], Any]) -> list[str]:
    """Run ``app`` (decorated with ``@gv.trace``) on each question with the version active; the
    trace ids, in order, once exported."""
    ids = []
    with gv.set_active_model(model_id=model_id):
        for q in questions:
            app(q)
            trace_id = gv.get_last_active_trace_id()
            assert trace_id is not None
            ids.append(trace_id)
    gv.flush_trace_async_logging()
    return ids
