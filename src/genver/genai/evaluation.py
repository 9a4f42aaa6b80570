"""``genai.evaluate``: run an app over a dataset, score each row, and record it all on a version.

Per call:

* an **evaluation run** — the active run, else a new one ended at the end (``FINISHED``,
  ``FAILED``, or ``KILLED`` after a Ctrl-C) — tagged ``mlflow.runType=genai_evaluate``, with the
  dataset (and the version) as inputs;
* **one trace per row**: a root span ``predict`` around ``predict_fn`` (or the app's own root
  span when ``predict_fn`` is itself a ``@trace`` function), linked to ``model_id`` — active
  only while predicting, then the previous one is restored — with metadata
  ``genver.eval.record_id`` and ``genver.eval.dataset_digest`` (and ``mlflow.sourceRun``);
* **assessments** on each trace: a ``feedback`` per scorer result (metadata ``genver.record_id``,
  ``genver.dataset_digest``, ``genver.model_id``) and an ``expectation`` per expected value;
* **metrics** ``<feedback name>/mean`` on the run and the version, with the dataset's name and
  digest. Rows whose scorer failed are left out of the mean and counted in ``error_counts`` and
  in the metric ``<feedback name>/error_count`` (also when every row failed, so the scorer never
  disappears from the metrics). Once a version has an ``error_count`` on a dataset, later
  evaluations there log it even when it is 0, so its latest value is always the latest
  evaluation's — what ``gate`` reads to refuse a metric computed without some rows.

A row whose ``predict_fn`` raises, or a scorer that raises, is recorded, never fatal. A scorer
that failed on some rows is not silent: one warning per scorer (``Scorer.failure_summary``; for a
judge it names the endpoint and the setting that fixes it) is logged on ``genver.genai``.

Ctrl-C stops it (``row_pool``): no new row starts, running rows get ``GENVER_EVAL_INTERRUPT_GRACE``
seconds (a second Ctrl-C: none), then the run is ``KILLED``, tagged ``genver.eval.partial``, with
the rows every scorer ran on stored and their metrics on the run only (not on the version), the
finished rows' traces flushed, and the ``KeyboardInterrupt`` raised again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from genver.compare.stats import score_value
from genver.config import EVAL_ASYNC_TIMEOUT, EVAL_INTERRUPT_GRACE, EVAL_MAX_WORKERS
from genver.entities import Assessment, AssessmentSource, AssessmentSourceType, Dataset
from genver.exceptions import InvalidArgumentError
from genver.genai.datasets import resolve_genver
from genver.genai.harness import (
    EvalData,
    EvalRow,
    Outcome,
    check_predict_fn,
    eval_data,
    predict_task,
    score_task,
)
from genver.genai.row_pool import Interrupt, RowRunner
from genver.genai.scorers.base import Scorer, aggregate, validate_scorers
from genver.ids import now_ms

if TYPE_CHECKING:
    import pandas as pd

    from genver.fluent import Genver

__all__ = ["EvaluationResult", "evaluate"]

log = logging.getLogger("genver.genai")

RUN_TYPE_TAG = "mlflow.runType"
RUN_TYPE = "genai_evaluate"
#: Metadata of each stored assessment.
RECORD_ID = "genver.record_id"
DATASET_DIGEST = "genver.dataset_digest"
MODEL_ID = "genver.model_id"

#: Suffix of the metric counting the rows a scorer failed on.
ERROR_COUNT = "/error_count"

_FLUSH_TIMEOUT = 120.0
#: After a Ctrl-C, finished rows' traces get this long to be stored.
_INTERRUPT_FLUSH_TIMEOUT = 10.0
#: Tags of a run whose evaluation was interrupted (its status is KILLED).
PARTIAL_TAG = "genver.eval.partial"
COMPLETED_TAG = "genver.eval.completed_rows"
_ASSESSMENT_BATCH = 1000


@dataclass(frozen=True, eq=False)
class EvaluationResult:
    """What ``evaluate`` returns: the evaluation run, the aggregated metrics
    (``{"exact_match/mean": 0.5}``) and one ``result_df`` row per record."""

    run_id: str
    metrics: dict[str, float]
    result_df: pd.DataFrame | None
    #: Per feedback name, how many rows the scorer failed on (left out of its aggregations;
    #: also in ``metrics`` as ``<name>/error_count``).
    error_counts: dict[str, int] = field(default_factory=dict)
    #: How many rows ``predict_fn`` raised on.
    failed_rows: int = 0

    @property
    def passed(self) -> bool:
        """True when every row predicted and every scorer produced a value."""
        return self.failed_rows == 0 and not any(self.error_counts.values())


def evaluate(
    data: Any,
    scorers: Sequence[Scorer] | Scorer,
    predict_fn: Callable[..., Any] | None = None,
    model_id: str | None = None,
    *,
    max_workers: int | None = None,
    genver: Genver | None = None,
) -> EvaluationResult:
    """Evaluate an app (``predict_fn``, called with each row's ``inputs`` as keyword arguments)
    or given outputs/traces on ``data`` with ``scorers``; see the module docstring for what is
    recorded.

    >>> result = genver.genai.evaluate(
    ...     data=[{"inputs": {"question": "2+2?"}, "expectations": {"expected_response": "4"}}],
    ...     scorers=[ExactMatch()], predict_fn=answer, model_id=model.model_id)  # doctest: +SKIP
    >>> result.metrics["exact_match/mean"]  # doctest: +SKIP
    1.0
    """
    gv = resolve_genver(genver)
    checked = validate_scorers(scorers)
    if predict_fn is not None and not callable(predict_fn):
        raise InvalidArgumentError(f"Invalid predict_fn {predict_fn!r}: expected a function.")
    if model_id is not None and (not isinstance(model_id, str) or not model_id):
        raise InvalidArgumentError(f"Invalid model_id {model_id!r}: expected a version id such as 'm-...'.")
    ed = eval_data(data, gv)
    if not ed.rows:
        raise InvalidArgumentError("The evaluation data has no rows.")
    if predict_fn is not None:
        check_predict_fn(predict_fn, ed.rows)
    workers = _workers(max_workers, len(ed.rows), gv)
    timeout = EVAL_ASYNC_TIMEOUT.get_float(gv.environ)
    model = gv.get_logged_model(model_id) if model_id is not None else None
    linked = model_id if model_id is not None else gv.get_active_model_id()
    dataset = Dataset(
        name=ed.name,
        digest=ed.digest,
        source_type="genver_eval_dataset" if ed.dataset_id else "code",
        source=ed.dataset_id or "",
        profile=json.dumps({"num_rows": len(ed.rows)}),
    )
    active = gv.last_active_run_id()
    run_id = active or gv.start_run(tags={RUN_TYPE_TAG: RUN_TYPE}).info.run_id
    status = "FAILED"
    try:
        if active is not None:
            gv.client.set_tag(run_id, RUN_TYPE_TAG, RUN_TYPE)
        gv.client.log_inputs(run_id, datasets=[dataset], models=[linked] if linked else None)
        outcomes = [Outcome() for _ in ed.rows]
        runner: RowRunner[EvalRow, Outcome] = RowRunner(
            workers, grace=EVAL_INTERRUPT_GRACE.get_float(gv.environ)
        )
        try:
            with _progress(len(ed.rows)) as advance:
                scope = (
                    gv.activate_model(model, set_by_user=False)
                    if model is not None
                    else contextlib.nullcontext()
                )
                with scope:  # the version is active while predicting only (then the previous one)
                    runner.run(
                        predict_task(gv, ed, predict_fn, timeout), ed.rows, outcomes, advance("Predicting")
                    )
                gv.flush_trace_async_logging(timeout=_FLUSH_TIMEOUT)  # once, not per row
                runner.run(score_task(gv, ed, checked), ed.rows, outcomes, advance("Scoring"), done=_scored)
        except KeyboardInterrupt:
            status = "KILLED"
            _record_interrupted(gv, ed, outcomes, run_id, dataset, runner.interrupt)
            raise
        _warn_failures(checked, outcomes)
        _store(gv, ed, outcomes, run_id, linked, dataset)
        metrics, errors = _aggregate(outcomes)
        if linked is not None:
            metrics.update(_cleared_error_counts(gv, linked, dataset, outcomes, errors))
        if metrics:
            gv.log_metrics(metrics, run_id=run_id, model_id=linked, dataset=dataset)
        result = EvaluationResult(
            run_id=run_id,
            metrics=metrics,
            result_df=_frame(ed.rows, outcomes),
            error_counts=errors,
            failed_rows=sum(o.error is not None for o in outcomes),
        )
        status = "FINISHED"
        return result
    finally:
        if active is None:
            gv.end_run(status, run_id=run_id)


# -- interrupted ---------------------------------------------------------------------------------------------
def _scored(out: Outcome) -> None:
    out.scored = True


def _record_interrupted(
    gv: Genver,
    ed: EvalData,
    outcomes: list[Outcome],
    run_id: str,
    dataset: Dataset,
    interrupt: Interrupt | None,
) -> None:
    """After a Ctrl-C: the rows every scorer ran on are stored, their metrics logged on the run
    only (tagged partial; never on the version, where compare and gate would read them as an
    evaluation), and the traces of finished rows flushed, unless a second Ctrl-C said to stop."""
    immediate = interrupt is not None and interrupt.immediate
    done = [(row, out) for row, out in zip(ed.rows, outcomes, strict=True) if out.scored]
    gv.client.set_tag(run_id, PARTIAL_TAG, "true")
    gv.client.set_tag(run_id, COMPLETED_TAG, str(len(done)))
    if not immediate:
        gv.flush_trace_async_logging(timeout=_INTERRUPT_FLUSH_TIMEOUT)
    if done:
        part = EvalData([row for row, _ in done], ed.name, ed.digest, ed.dataset_id)
        outs = [out for _, out in done]
        _store(gv, part, outs, run_id, None, dataset)
        metrics, _ = _aggregate(outs)
        if metrics:
            gv.log_metrics(metrics, run_id=run_id, dataset=dataset)
    log.warning(
        "Evaluation interrupted: run %s is KILLED with %d of %d rows scored (tag %s); its metrics "
        "cover those rows only and are not logged on the version.%s",
        run_id,
        len(done),
        len(outcomes),
        PARTIAL_TAG,
        f" {interrupt.still_running} rows were still running."
        if interrupt and interrupt.still_running
        else "",
    )


# -- recording ---------------------------------------------------------------------------------------------
def _store(
    gv: Genver, ed: EvalData, outcomes: list[Outcome], run_id: str, model_id: str | None, dataset: Dataset
) -> None:
    client = gv.client
    now = now_ms()
    batch: list[Assessment] = []
    for row, out in zip(ed.rows, outcomes, strict=True):
        if out.trace is None:
            continue
        meta = {RECORD_ID: row.record_id, DATASET_DIGEST: ed.digest, MODEL_ID: model_id or ""}
        common: dict[str, Any] = {
            "trace_id": out.trace.info.trace_id,
            "run_id": run_id,
            "create_time_ms": now,
        }
        for fb in out.feedbacks:
            batch.append(
                Assessment(
                    assessment_id=_new_id(),
                    name=fb.name,
                    kind="feedback",
                    value=fb.value,
                    rationale=fb.rationale,
                    source=fb.source,
                    error=fb.error,
                    metadata={**fb.metadata, **meta},
                    span_id=fb.span_id,
                    **common,
                )
            )
        if row.store_expectations:
            source = AssessmentSource(AssessmentSourceType.HUMAN, dataset.name)
            for key, value in row.expectations.items():
                batch.append(
                    Assessment(
                        assessment_id=_new_id(),
                        name=key,
                        kind="expectation",
                        value=value,
                        source=source,
                        metadata=meta,
                        **common,
                    )
                )
    missing = sum(o.trace is None for o in outcomes)
    if missing:
        log.warning(
            "%d of %d rows have no stored trace: their feedback is not stored.", missing, len(outcomes)
        )
    for start in range(0, len(batch), _ASSESSMENT_BATCH):
        client.log_assessments(batch[start : start + _ASSESSMENT_BATCH])


def _warn_failures(scorers: list[Scorer], outcomes: list[Outcome]) -> None:
    """One warning line per scorer that failed on some rows (never one per row)."""
    for s in scorers:
        errors = [out.failures[s.name] for out in outcomes if s.name in out.failures]
        if errors:
            log.warning("%s", s.failure_summary(errors, len(outcomes)))


def _cleared_error_counts(
    gv: Genver, model_id: str, dataset: Dataset, outcomes: list[Outcome], errors: dict[str, int]
) -> dict[str, float]:
    """``<name>/error_count = 0`` for each scorer of this evaluation that failed on no row while
    the version's latest evaluation on this dataset logged an error count for it."""
    names = {fb.name for out in outcomes for fb in out.feedbacks} - set(errors)
    had = {
        m.key
        for m in gv.get_logged_model(model_id).metrics or []
        if m.dataset_digest == dataset.digest and m.key.endswith(ERROR_COUNT)
    }
    return {f"{n}{ERROR_COUNT}": 0.0 for n in sorted(names) if f"{n}{ERROR_COUNT}" in had}


def _aggregate(outcomes: list[Outcome]) -> tuple[dict[str, float], dict[str, int]]:
    """``<name>/<aggregation>`` over the rows' numeric feedback values, and
    ``<name>/error_count`` where rows failed (those rows counted apart, too)."""
    values: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    how: dict[str, list[str]] = {}
    for out in outcomes:
        for fb in out.feedbacks:
            how.setdefault(fb.name, out.aggregations.get(fb.name, ["mean"]))
            if fb.error is not None:
                errors[fb.name] = errors.get(fb.name, 0) + 1
                continue
            number = score_value(fb.value)
            if number is not None:
                values.setdefault(fb.name, []).append(number)
    metrics = {f"{name}/{agg}": aggregate(vals, agg) for name, vals in values.items() for agg in how[name]}
    metrics.update({f"{name}{ERROR_COUNT}": float(n) for name, n in errors.items()})
    return metrics, errors


def _frame(rows: list[EvalRow], outcomes: list[Outcome]) -> pd.DataFrame:
    import pandas as pd

    names: list[str] = []
    for out in outcomes:
        for fb in out.feedbacks:
            if fb.name not in names:
                names.append(fb.name)
    records = []
    for row, out in zip(rows, outcomes, strict=True):
        rec: dict[str, Any] = {
            "trace_id": out.trace_id,
            "record_id": row.record_id,
            "inputs": row.inputs,
            "outputs": out.outputs,
            "expectations": row.expectations,
            "error": out.error,
        }
        by_name = {fb.name: fb for fb in out.feedbacks}
        for name in names:
            got = by_name.get(name)
            rec[f"{name}/value"] = got.value if got is not None else None
            rec[f"{name}/rationale"] = got.rationale if got is not None else None
            rec[f"{name}/error"] = got.error.error_message if got is not None and got.error else None
        rec["trace"] = out.trace
        records.append(rec)
    frame: pd.DataFrame = pd.DataFrame(records, dtype=object)
    return frame


# -- helpers ----------------------------------------------------------------------------------------------
def _workers(max_workers: int | None, rows: int, gv: Genver) -> int:
    if max_workers is None:
        raw = EVAL_MAX_WORKERS.get(gv.environ)
        if raw is None:
            return max(1, min(8, rows))
        try:
            max_workers = int(raw)
        except ValueError:
            raise InvalidArgumentError(
                f"Invalid value {raw!r} for {EVAL_MAX_WORKERS.env_vars[0]}: expected a positive integer."
            ) from None
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise InvalidArgumentError(f"Invalid max_workers {max_workers!r}: expected a positive integer.")
    return max_workers


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[str], Callable[[], None]]]:
    """A Rich progress bar on stderr (only on a terminal, never under pytest); yields a factory of
    ``advance`` callbacks, one per phase."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from genver.tracing.errors import under_pytest

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=under_pytest() or not console.is_terminal,
    )

    def phase(name: str) -> Callable[[], None]:
        task_id = progress.add_task(name, total=total)
        return lambda: progress.advance(task_id)

    with progress:
        yield phase


def _new_id() -> str:
    return "a-" + uuid.uuid4().hex
