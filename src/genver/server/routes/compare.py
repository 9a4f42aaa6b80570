"""``GET /api/v1/compare`` and ``GET /api/v1/gate``: ``genver.compare`` computed over the app's
store, so a remote client makes one request instead of one per version, run and assessment.

The answers are ``Comparison.to_dict()`` / ``GateResult.to_dict()``, exactly what the same call
returns locally (``genver models compare --format json`` / ``genver gate --format json``), except
the git code diff: the server has no checkout of the caller's code, and the client adds it.
The routes are sync ``def`` routes: the bootstrap is CPU work and runs in the threadpool, never on
the event loop.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from genver.client import GenverClient
from genver.compare import core
from genver.compare.core import MAX_CANDIDATES
from genver.compare.stats import MAX_RESAMPLES, check_resamples
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.server import SERVER_NAME
from genver.server.routes import StoreDep

router = APIRouter(tags=["comparison"])


Baseline = Annotated[str, Query(description="The baseline version: a model id, a name or an @alias.")]
Candidates = Annotated[
    list[str] | None, Query(description=f"Versions compared with the baseline, 1 to {MAX_CANDIDATES}.")
]
Experiment = Annotated[str, Query(description="Experiment (id, else name) version names are looked up in.")]
DatasetName = Annotated[
    str | None, Query(description="Dataset (name or digest); default: the latest all versions share.")
]
Confidence = Annotated[float, Query(description="Confidence level of the bootstrap intervals, in (0, 1).")]
Resamples = Annotated[int, Query(description=f"Bootstrap resamples, 1 to {MAX_RESAMPLES}.")]
Seed = Annotated[str, Query(description="Bootstrap seed: a non-negative integer, or 'none' (random).")]
Thresholds = Annotated[
    list[str] | None, Query(description="METRIC=THRESHOLD, e.g. exact=0.02 or p95_latency=10%. Repeatable.")
]


@router.get("/compare", response_model=dict[str, Any])
def compare_models(
    store: StoreDep,
    baseline: Baseline,
    candidate: Candidates = None,
    experiment: Experiment = "0",
    dataset: DatasetName = None,
    confidence: Confidence = 0.95,
    n_resamples: Resamples = 2000,
    seed: Seed = "0",
) -> Response:
    """``genver.compare.compare_models(baseline, *candidate)``: the comparison as JSON, without
    code diffs (a server has no checkout)."""
    candidates = _candidates(candidate, MAX_CANDIDATES)
    resamples, seed_ = _resamples(n_resamples), _seed(seed)
    client = GenverClient(store=store, shown_as=SERVER_NAME)
    result = core.compare_models(
        client,
        baseline,
        *candidates,
        experiment_id=_experiment_id(client, experiment),
        dataset=dataset,
        confidence=confidence,
        n_resamples=resamples,
        seed=seed_,
        code_diffs=False,
    )
    return _json(result.to_dict())


@router.get("/gate", response_model=dict[str, Any])
def gate(
    store: StoreDep,
    baseline: Baseline,
    candidate: Annotated[list[str] | None, Query(description="The candidate version (exactly one).")] = None,
    max_drop: Thresholds = None,
    max_increase: Thresholds = None,
    experiment: Experiment = "0",
    dataset: DatasetName = None,
    confidence: Confidence = 0.95,
    n_resamples: Resamples = 2000,
    seed: Seed = "0",
) -> Response:
    """``genver.compare.gate(baseline, candidate, max_drop=..., max_increase=...)``: the verdict
    and its checks as JSON (``passed`` false is a 200: the gate ran and said no)."""
    (one,) = _candidates(candidate, 1)
    drops, rises = _thresholds(max_drop, "max_drop"), _thresholds(max_increase, "max_increase")
    resamples, seed_ = _resamples(n_resamples), _seed(seed)
    client = GenverClient(store=store, shown_as=SERVER_NAME)
    result = core.gate(
        client,
        baseline,
        one,
        max_drop=drops,
        max_increase=rises,
        experiment_id=_experiment_id(client, experiment),
        dataset=dataset,
        confidence=confidence,
        n_resamples=resamples,
        seed=seed_,
    )
    return _json(result.to_dict())


def _json(data: dict[str, Any]) -> Response:
    # NaN (a metric's value may be one) leaves as the constant, as the wire models send it.
    return Response(json.dumps(data), media_type="application/json")


def _candidates(given: list[str] | None, most: int) -> list[str]:
    found = given or []
    if not 1 <= len(found) <= most:
        expected = "one candidate" if most == 1 else f"1 to {most} candidates"
        raise InvalidArgumentError(
            f"Invalid candidate: expected {expected} (repeat ?candidate=), got {len(found)}: {found!r}."
        )
    return found


def _experiment_id(client: GenverClient, experiment: str) -> str:
    """An experiment id, else an experiment name, as the id version names are looked up in."""
    try:
        return client.get_experiment(experiment).experiment_id
    except (NotFoundError, InvalidArgumentError):  # not an id, or no experiment has it
        pass
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise NotFoundError(f"No experiment with id or name {experiment!r}.")
    return found.experiment_id


def _resamples(n_resamples: int) -> int:
    return check_resamples(n_resamples)


def _seed(text: str) -> int | None:
    if text.strip().lower() == "none":
        return None
    if text.isascii() and text.isdigit() and len(text) <= 40:  # int() of 4,300+ digits raises
        return int(text)
    raise InvalidArgumentError(f"Invalid seed {text!r}: expected a non-negative integer or 'none'.")


def _thresholds(given: list[str] | None, option: str) -> dict[str, str]:
    """``["exact=0.02", "p95_latency=10%"]`` as ``{"exact": "0.02", ...}`` (the CLI's syntax);
    ``core.gate`` checks each threshold and names a bad one."""
    out: dict[str, str] = {}
    for text in given or []:
        name, sep, value = text.rpartition("=")
        name = name.strip()
        if not sep or not name:
            raise InvalidArgumentError(
                f"Invalid {option} {text!r}: expected METRIC=THRESHOLD, e.g. exact=0.02 or p95_latency=10%."
            )
        if name in out:
            raise InvalidArgumentError(f"Invalid {option} {text!r}: metric {name!r} is given twice.")
        out[name] = value.strip()
    return out
