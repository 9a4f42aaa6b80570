"""One evaluation run as a table: what the evaluation page, its JSON twin (and later the CLI) show.

``genai.evaluate`` stores each row's feedback (one assessment per scorer) and expectations as
assessments carrying the evaluation run's id and metadata ``genver.record_id``, so a run's rows
are the traces its assessments are on — also when ``evaluate`` scored existing traces, which
carry no ``mlflow.sourceRun`` of the run. A row shows its trace's request and response previews
(the root span's inputs and outputs, at most 1,000 characters; the trace page has the rest), its
expectations, and per scorer the value, rationale or error.

A score **failed** when the scorer raised (its error is shown) or said no (``False``, ``"no"``,
``"fail"``, ``0``); a row failed when one of its scores did (``scorer=`` looks at that scorer
only). Rows are ordered by trace id and paged by keyset: the page token is the last trace id
shown, so a page never repeats or skips a row when rows are added meanwhile.

>>> ev = evaluation_run(client, run_id, only="failed")  # doctest: +SKIP
>>> [(r.trace_id, r.scores["exact_match"].error) for r in ev.rows]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from genver.compare.metric_rows import DATASET_DIGEST_KEY, MODEL_ID_KEY, RECORD_ID_KEY
from genver.compare.stats import score_value
from genver.entities import Assessment, Run
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.search.parser import quote

if TYPE_CHECKING:
    from genver.client import GenverClient

__all__ = ["ONLY", "DatasetRef", "EvalRow", "EvaluationRun", "Score", "evaluation_run"]

#: Values of ``only``.
ONLY = ("failed", "passed")
MAX_RESULTS = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """One scorer's result on one row."""

    name: str
    value: Any
    rationale: str | None
    error: str | None  # when the scorer raised: "CODE: message"
    failed: bool

    @classmethod
    def of(cls, a: Assessment) -> Score:
        error = None
        if a.error is not None:  # "CODE: message", unless the message starts with the code already
            code, message = a.error.error_code, a.error.error_message or ""
            error = message if message.startswith(code) else f"{code}: {message}".rstrip(": ")
        return cls(
            name=a.name,
            value=a.value,
            rationale=a.rationale,
            error=error,
            failed=error is not None or score_value(a.value) == 0.0,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "rationale": self.rationale,
            "error": self.error,
            "failed": self.failed,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalRow:
    """One dataset row: its trace, previews, expectations and scores (by scorer name)."""

    trace_id: str
    record_id: str | None
    state: str | None  # None: the trace is gone
    inputs: str | None
    outputs: str | None
    expectations: Mapping[str, Any]
    scores: Mapping[str, Score]

    def failed(self, scorer: str | None = None) -> bool:
        return any(s.failed for name, s in self.scores.items() if scorer in (None, name))

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "record_id": self.record_id,
            "state": self.state,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "expectations": dict(self.expectations),
            "scores": {name: s.to_dict() for name, s in self.scores.items()},
            "failed": self.failed(),
        }


@dataclass(frozen=True, slots=True)
class DatasetRef:
    name: str | None
    digest: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationRun:
    """A page of an evaluation run's rows, with the run's dataset, scorers and metrics."""

    run: Run
    model_ids: tuple[str, ...]
    datasets: tuple[DatasetRef, ...]
    scorers: tuple[str, ...]
    metrics: Mapping[str, float]
    failures: Mapping[str, int]  # per scorer: rows it failed (error or "no")
    errors: Mapping[str, int]  # per scorer: rows it raised on
    row_count: int  # rows of the run
    matching: int  # rows the filter keeps
    rows: tuple[EvalRow, ...]
    scorer: str | None = None
    only: str | None = None
    next_page_token: str | None = None

    def to_dict(self) -> dict[str, Any]:
        info = self.run.info
        return {
            "run_id": info.run_id,
            "run_name": info.run_name,
            "experiment_id": info.experiment_id,
            "status": info.status,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "model_ids": list(self.model_ids),
            "datasets": [{"name": d.name, "digest": d.digest} for d in self.datasets],
            "scorers": list(self.scorers),
            "metrics": dict(self.metrics),
            "failures": dict(self.failures),
            "errors": dict(self.errors),
            "row_count": self.row_count,
            "matching": self.matching,
            "scorer": self.scorer,
            "only": self.only,
            "rows": [r.to_dict() for r in self.rows],
            "next_page_token": self.next_page_token,
        }


def evaluation_run(
    client: GenverClient,
    run_id: str,
    *,
    scorer: str | None = None,
    only: str | None = None,
    page_token: str | None = None,
    max_results: int = 50,
) -> EvaluationRun:
    """A page of ``run_id``'s rows (see the module docstring); ``only`` is ``"failed"`` or
    ``"passed"``. An unknown run raises ``NotFoundError``; a bad ``scorer``, ``only`` or
    ``max_results`` ``InvalidArgumentError`` naming it."""
    if only not in (None, "", *ONLY):
        raise InvalidArgumentError(f"Invalid only {only!r}: expected one of {', '.join(ONLY)}.")
    if (
        isinstance(max_results, bool)
        or not isinstance(max_results, int)
        or not 1 <= max_results <= MAX_RESULTS
    ):
        raise InvalidArgumentError(f"Invalid max_results {max_results!r}: expected 1 to {MAX_RESULTS}.")
    run = client.get_run(run_id)
    by_trace: dict[str, list[Assessment]] = {}
    for a in client.get_assessments(run_id=run.info.run_id):
        by_trace.setdefault(a.trace_id, []).append(a)
    scorers = tuple(sorted({a.name for found in by_trace.values() for a in found if a.kind == "feedback"}))
    if scorer and scorer not in scorers:
        raise InvalidArgumentError(
            f"Invalid scorer {scorer!r}: this run has results of {', '.join(map(repr, scorers)) or 'no scorer'}."
        )
    rows = [_row(trace_id, by_trace[trace_id]) for trace_id in sorted(by_trace)]
    kept = [r for r in rows if _keep(r, scorer or None, only or None)]
    start = [r for r in kept if page_token is None or page_token == "" or r.trace_id > page_token]
    page = start[:max_results]
    failures = {s: sum(1 for r in rows if s in r.scores and r.scores[s].failed) for s in scorers}
    errors = {s: sum(1 for r in rows if s in r.scores and r.scores[s].error) for s in scorers}
    return EvaluationRun(
        run=run,
        model_ids=_model_ids(run, by_trace),
        datasets=_datasets(run, by_trace),
        scorers=scorers,
        metrics=dict(sorted(run.data.metrics.items())),
        failures=failures,
        errors=errors,
        row_count=len(rows),
        matching=len(kept),
        rows=tuple(_with_traces(client, run.info.experiment_id, page)),
        scorer=scorer or None,
        only=only or None,
        next_page_token=page[-1].trace_id if len(start) > max_results else None,
    )


def _row(trace_id: str, found: Sequence[Assessment]) -> EvalRow:
    """A row from its assessments (ordered by name, then creation time: the latest wins)."""
    scores = {a.name: Score.of(a) for a in found if a.kind == "feedback"}
    expectations = {a.name: a.value for a in found if a.kind == "expectation"}
    record = next((a.metadata[RECORD_ID_KEY] for a in found if a.metadata.get(RECORD_ID_KEY)), None)
    return EvalRow(
        trace_id=trace_id,
        record_id=record,
        state=None,
        inputs=None,
        outputs=None,
        expectations=expectations,
        scores=dict(sorted(scores.items())),
    )


def _keep(row: EvalRow, scorer: str | None, only: str | None) -> bool:
    if scorer is not None and scorer not in row.scores:
        return False
    if only is None:
        return True
    return row.failed(scorer) == (only == "failed")


def _with_traces(client: GenverClient, experiment_id: str, rows: Sequence[EvalRow]) -> list[EvalRow]:
    """The rows with their traces' state and previews: one search for the page (a trace in
    another experiment, where ``evaluate`` scored existing traces, is read on its own)."""
    if not rows:
        return []
    ids = ", ".join(quote(r.trace_id) for r in rows)
    page = client.search_traces(
        [experiment_id], f"trace_id IN ({ids})", max_results=len(rows), include_spans=False
    )
    infos = {t.info.trace_id: t.info for t in page}
    out = []
    for r in rows:
        info = infos.get(r.trace_id)
        if info is None:
            try:
                info = client.get_trace(r.trace_id).info
            except NotFoundError:
                out.append(r)
                continue
        out.append(
            replace(r, state=str(info.state), inputs=info.request_preview, outputs=info.response_preview)
        )
    return out


def _model_ids(run: Run, by_trace: Mapping[str, Sequence[Assessment]]) -> tuple[str, ...]:
    found = {m.model_id for m in run.inputs.model_inputs}
    found |= {a.metadata[MODEL_ID_KEY] for f in by_trace.values() for a in f if a.metadata.get(MODEL_ID_KEY)}
    return tuple(sorted(found))


def _datasets(run: Run, by_trace: Mapping[str, Sequence[Assessment]]) -> tuple[DatasetRef, ...]:
    """The run's dataset inputs, else the digests its assessments name."""
    named: dict[str, str | None] = {d.dataset.digest: d.dataset.name for d in run.inputs.dataset_inputs}
    if not named:
        named = {
            a.metadata[DATASET_DIGEST_KEY]: None
            for f in by_trace.values()
            for a in f
            if a.metadata.get(DATASET_DIGEST_KEY)
        }
    return tuple(DatasetRef(name, digest) for digest, name in sorted(named.items()))
