"""``genai.compare_models`` and ``genai.gate``: the comparison layer (``genver.compare``) called
with the fluent API's defaults — its client, its active experiment, its traces flushed first.

>>> c = compare_models("agent-v1", "agent-v2")  # doctest: +SKIP
>>> print(c.to_markdown())  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from genver.compare import core
from genver.compare.gating import GateCheck, GateResult
from genver.compare.result import Comparison
from genver.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    from genver.client import GenverClient
    from genver.fluent import Genver

__all__ = ["Comparison", "GateCheck", "GateResult", "compare_models", "gate"]


def compare_models(
    *models: str,
    experiment_id: str | None = None,
    dataset: str | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
    genver: Genver | None = None,
    client: GenverClient | None = None,
) -> Comparison:
    """Compare versions (ids, names or aliases; the first is the baseline): params, tags and git
    diffs, evaluation metrics with deltas and a paired bootstrap verdict, and trace statistics.

    Names are looked up in ``experiment_id`` (default: the active experiment), latest version of
    that name. Metrics come from ``dataset`` (a name or digest); by default from the most recent
    dataset every version was evaluated on. Pass ``client=`` to compare in another store (names
    then default to the Default experiment), or ``genver=`` for another ``Genver`` instance.

    >>> c = compare_models("agent-v1", "agent-v2", dataset="faq")  # doctest: +SKIP
    >>> c.metric("correctness/mean").bootstrap[1].verdict  # doctest: +SKIP
    'better'
    """
    on, exp_id = _client(genver, client, experiment_id)
    return core.compare_models(
        on,
        *models,
        experiment_id=exp_id,
        dataset=dataset,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
    )


def gate(
    baseline: str,
    candidate: str,
    *,
    max_drop: Mapping[str, float | str] | None = None,
    max_increase: Mapping[str, float | str] | None = None,
    experiment_id: str | None = None,
    dataset: str | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
    min_rows: int | None = None,
    fail_when_inconclusive: bool = False,
    genver: Genver | None = None,
    client: GenverClient | None = None,
) -> GateResult:
    """Check a candidate version against a baseline (``genver.compare.core.gate``): ``passed`` is
    False when a regression beyond a threshold is significant (per-row scores) or its point
    estimate is beyond it (no per-row scores); a missing metric fails closed. A check that passed
    on too few paired rows to see its threshold (or fewer than ``min_rows``) is ``inconclusive``:
    a warning, or a failure with ``fail_when_inconclusive=True``.

    >>> result = gate("agent-v1", "agent-v2", max_drop={"exact": 0.02},
    ...               max_increase={"p95_latency": "10%"})  # doctest: +SKIP
    >>> result.passed  # doctest: +SKIP
    True
    """
    on, exp_id = _client(genver, client, experiment_id)
    return core.gate(
        on,
        baseline,
        candidate,
        max_drop=max_drop,
        max_increase=max_increase,
        experiment_id=exp_id,
        dataset=dataset,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
        min_rows=min_rows,
        fail_when_inconclusive=fail_when_inconclusive,
    )


def _client(
    genver: Genver | None, client: GenverClient | None, experiment_id: str | None
) -> tuple[GenverClient, str]:
    """The client to compare over and the experiment names are looked up in."""
    if client is not None:
        if genver is not None:
            raise InvalidArgumentError("Pass genver= or client= to compare_models/gate, not both.")
        return client, "0" if experiment_id is None else str(experiment_id)
    from genver.genai.datasets import resolve_genver

    gv = resolve_genver(genver)
    gv.flush_trace_async_logging()  # the trace statistics include what this process just traced
    return gv.client, gv.current_experiment_id() if experiment_id is None else str(experiment_id)
