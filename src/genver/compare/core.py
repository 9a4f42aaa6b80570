"""Compare versions side by side (``compare_models``); gate a candidate against a baseline (``gate``).

Both take a ``GenverClient``: the same code serves the fluent API (``genai.compare_models``), the
CLI and the server's ``/api/v1/compare`` and ``/api/v1/gate``. On a client whose store is a genver
server, the server computes them (one request instead of one per version and run) and the git
code diff, which needs the caller's checkout, is added here.

What is read, and where it comes from (the conventions ``genai.evaluate`` writes by):

- evaluation metrics: ``<scorer>/mean`` metrics on the version, with the evaluation's ``run_id``
  and dataset; the latest value (by timestamp, then step) per key and dataset digest counts;
- per-row scores: feedback assessments of that run, keyed by ``metadata["genver.record_id"]``;
  rows of two versions on the same dataset digest are paired for the bootstrap;
- git: the ``mlflow.source.git.*`` tags (and ``git_commit``/``git_branch`` user tags);
- trace statistics: ``Store.trace_stats`` per version.

>>> c = compare_models("agent-v1", "agent-v2")  # doctest: +SKIP
>>> print(c.to_markdown())  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from genver.client import GenverClient
from genver.client.refs import resolve_models
from genver.compare.gating import (
    GateCheck,
    GateResult,
    Threshold,
    apply_evidence,
    check_min_rows,
    parse_threshold,
    run_checks,
)
from genver.compare.metric_rows import Choice, choose_datasets, delta, latest_metrics, metric_rows
from genver.compare.prompt_diffs import prompt_diffs
from genver.compare.result import CodeDiff, Comparison, GitState, MetricRow, ValueDiff, VersionInfo
from genver.compare.stats import check_confidence, check_resamples
from genver.entities import LoggedModel, TraceStats
from genver.exceptions import InvalidArgumentError
from genver.gitinfo import DIFF_TAG, find_git_dir

__all__ = ["Comparison", "GateCheck", "GateResult", "compare_models", "gate"]

#: Tags that differ between versions for reasons unrelated to the app (who ran it, from where).
NOISY_TAGS = frozenset(
    {"mlflow.source.name", "mlflow.source.type", "mlflow.user", "mlflow.model.isExternal", "mlflow.runName"}
)
#: Trace statistics: gate name, label, value (None when the version has no traces).
TRACE_STATS: tuple[tuple[str, str, Callable[[TraceStats], float | None]], ...] = (
    ("trace_count", "traces", lambda s: s.trace_count),
    ("error_rate", "error rate", lambda s: s.error_rate),
    ("p50_latency", "latency p50 (ms)", lambda s: s.latency_p50_ms),
    ("p95_latency", "latency p95 (ms)", lambda s: s.latency_p95_ms),
    ("p99_latency", "latency p99 (ms)", lambda s: s.latency_p99_ms),
    ("tokens_per_request", "tokens / request", lambda s: s.tokens_per_request),
    ("cost_per_request", "cost / request ($)", lambda s: s.cost_per_request),
)
#: Versions compared with the baseline at most, locally and by a server alike.
MAX_CANDIDATES = 3
_COMMIT = re.compile(r"[0-9a-fA-F]{4,64}")
#: Seconds allowed for `git diff --stat` between two versions' commits.
GIT_TIMEOUT = 20.0


def compare_models(
    client: GenverClient,
    *models: str,
    experiment_id: str = "0",
    dataset: str | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
    code_diffs: bool = True,
) -> Comparison:
    """Compare versions (ids, names or aliases; the first is the baseline): params, tags and git
    diffs, evaluation metrics with deltas and a paired bootstrap verdict, and trace statistics.

    Names are looked up in ``experiment_id``, latest version of that name. Metrics come from
    ``dataset`` (a name or digest); by default from the most recent dataset every version was
    evaluated on. ``code_diffs=False`` skips ``git diff --stat`` (a server has no checkout).

    >>> c = compare_models(GenverClient(), "agent-v1", "agent-v2", dataset="faq")  # doctest: +SKIP
    >>> c.metric("correctness/mean").bootstrap[1].verdict  # doctest: +SKIP
    'better'
    """
    check_confidence(confidence)
    check_resamples(n_resamples)
    if not 2 <= len(models) <= MAX_CANDIDATES + 1:
        raise InvalidArgumentError(
            f"compare_models compares a baseline with 1 to {MAX_CANDIDATES} candidates (what a "
            f"side-by-side table can show), got {len(models) - 1}: {list(models)!r}."
        )
    served = client.served_comparison(
        "compare", _query(models, experiment_id, dataset, confidence, n_resamples, seed)
    )
    if served is not None:
        comparison = Comparison.from_dict(served)
        if not code_diffs:
            return comparison
        local_notes = list(comparison.notes)
        diffs = _code_diffs(comparison.versions, local_notes)
        return dataclasses.replace(comparison, code_diffs=diffs, notes=tuple(local_notes))
    found = resolve_models(client, models, experiment_id=experiment_id)
    notes: list[str] = []
    chosen = choose_datasets(found, dataset, notes)
    latest = [latest_metrics(m, c) for m, c in zip(found, chosen, strict=True)]
    versions = tuple(_version_info(m, c) for m, c in zip(found, chosen, strict=True))
    metrics = metric_rows(
        client, found, chosen, latest, confidence=confidence, n_resamples=n_resamples, seed=seed, notes=notes
    )
    changed_prompts = prompt_diffs(client, found, notes)
    return Comparison(
        versions=versions,
        params=_value_diffs([m.params for m in found]),
        tags=_value_diffs([{k: v for k, v in m.tags.items() if _shown_tag(k)} for m in found]),
        code_diffs=_code_diffs(versions, notes) if code_diffs else (),
        metrics=metrics,
        trace_stats=_trace_rows(client, [m.model_id for m in found]),
        confidence=confidence,
        n_resamples=n_resamples,
        notes=tuple(notes),
        prompt_diffs=changed_prompts,
    )


def gate(
    client: GenverClient,
    baseline: str,
    candidate: str,
    *,
    max_drop: Mapping[str, float | str] | None = None,
    max_increase: Mapping[str, float | str] | None = None,
    experiment_id: str = "0",
    dataset: str | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
    min_rows: int | None = None,
    fail_when_inconclusive: bool = False,
) -> GateResult:
    """Check a candidate version against a baseline; ``passed`` is False when a regression beyond a
    threshold is statistically significant (paired bootstrap CI entirely beyond it) or, where no
    per-row scores exist (trace statistics, metrics without assessments), when the point estimate
    is beyond it.

    Thresholds: ``{"exact": 0.02}`` (absolute) or ``{"p95_latency": "10%"}`` (relative to the
    baseline). Metrics are named by scorer (``exact``), full name (``exact/mean``) or trace
    statistic (``p50_latency``, ``p95_latency``, ``p99_latency``, ``error_rate``,
    ``cost_per_request``, ``tokens_per_request``). The gate fails closed: a metric one of the two
    versions lacks, or metrics taken from different datasets, fail their check. A check that
    passed on too few paired rows to see a regression of its threshold (or on fewer than
    ``min_rows``) is ``inconclusive``: a warning, or a failure with ``fail_when_inconclusive``.

    >>> result = gate(GenverClient(), "agent-v1", "agent-v2", max_drop={"exact": 0.02},
    ...               max_increase={"p95_latency": "10%"})  # doctest: +SKIP
    >>> result.passed  # doctest: +SKIP
    True
    """
    wanted: list[tuple[str, str, Threshold]] = []
    for direction, given in (("drop", max_drop), ("increase", max_increase)):
        if given is None:
            continue
        if not isinstance(given, Mapping):
            raise InvalidArgumentError(
                f"Invalid max_{direction} {given!r}: expected a dict of metric name to threshold, "
                "e.g. {'exact': 0.02} or {'p95_latency': '10%'}."
            )
        wanted.extend((str(name), direction, parse_threshold(value, name)) for name, value in given.items())
    if not wanted:
        raise InvalidArgumentError("gate needs at least one threshold in max_drop or max_increase.")
    check_min_rows(min_rows)
    check_confidence(confidence)
    check_resamples(n_resamples)
    query = _query((baseline, candidate), experiment_id, dataset, confidence, n_resamples, seed)
    query["max_drop"] = [f"{name}={t.text}" for name, d, t in wanted if d == "drop"]
    query["max_increase"] = [f"{name}={t.text}" for name, d, t in wanted if d == "increase"]
    trace_names = [name for name, _, _ in TRACE_STATS]

    def weigh(result: GateResult) -> GateResult:
        return apply_evidence(
            result, min_rows=min_rows, fail_when_inconclusive=fail_when_inconclusive, trace_names=trace_names
        )

    served = client.served_comparison("gate", query)
    if served is not None:
        return weigh(GateResult.from_dict(served))
    comparison = compare_models(
        client,
        baseline,
        candidate,
        experiment_id=experiment_id,
        dataset=dataset,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
        code_diffs=False,  # the gate checks numbers only
    )
    return weigh(run_checks(comparison, wanted, trace_names=trace_names))


def _query(
    models: Sequence[str],
    experiment_id: str,
    dataset: str | None,
    confidence: float,
    n_resamples: int,
    seed: int | None,
) -> dict[str, Any]:
    """The parameters of ``GET /api/v1/compare`` (and ``/gate``) for a server to compute this."""
    query: dict[str, Any] = {
        "baseline": models[0],
        "candidate": list(models[1:]),
        "experiment": experiment_id,
        "confidence": confidence,
        "n_resamples": n_resamples,
        "seed": "none" if seed is None else seed,
    }
    if dataset is not None:
        query["dataset"] = dataset
    return query


def _version_info(m: LoggedModel, chosen: Choice) -> VersionInfo:
    return VersionInfo(
        model_id=m.model_id,
        name=m.name,
        status=m.status.value,
        created=m.creation_timestamp,
        experiment_id=m.experiment_id,
        git=GitState.from_tags(m.tags),
        dataset_name=chosen[0] if chosen else None,
        dataset_digest=chosen[1] if chosen else None,
        has_metrics=chosen is not None,
    )


def _shown_tag(key: str) -> bool:
    return key not in NOISY_TAGS and key != DIFF_TAG


def _value_diffs(maps: Sequence[Mapping[str, str]]) -> tuple[ValueDiff, ...]:
    keys = sorted({k for m in maps for k in m})
    out = []
    for key in keys:
        values = tuple(m.get(key) for m in maps)
        if len(set(values)) > 1:
            out.append(ValueDiff(key=key, values=values))
    return tuple(out)


# -- git -----------------------------------------------------------------------------------------
def _code_diffs(versions: Sequence[VersionInfo], notes: list[str]) -> tuple[CodeDiff, ...]:
    """``git diff --stat`` from the baseline's commit to each other version's, when they differ
    and the working folder is inside a repository."""
    base = versions[0].git.commit
    pairs = [(v, v.git.commit) for v in versions[1:] if v.git.commit and base and v.git.commit != base]
    if not pairs or base is None:
        return ()
    git_dir = find_git_dir(os.getcwd())
    if git_dir is None:
        notes.append(
            "The versions were built from different commits; run inside the repository to see the code diff."
        )
        return ()
    out = []
    for v, commit in pairs:
        assert commit is not None
        stat, error = _git_diff_stat(base, commit)
        out.append(CodeDiff(model_id=v.model_id, base_commit=base, commit=commit, stat=stat, error=error))
    return tuple(out)


def _git_diff_stat(a: str, b: str) -> tuple[str | None, str | None]:
    # Commits come from tags anyone can set: only hex ids reach the command line.
    if not (_COMMIT.fullmatch(a) and _COMMIT.fullmatch(b)):
        return None, f"not a commit id: {a!r} / {b!r}"
    try:
        done = subprocess.run(
            ["git", "--no-pager", "diff", "--stat", "--no-color", "--no-ext-diff", a, b, "--"],
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"git failed: {exc}"
    if done.returncode != 0:
        first = (done.stderr or "").strip().splitlines()
        return None, first[0] if first else f"git exited with {done.returncode}"
    return done.stdout, None


# -- trace statistics ----------------------------------------------------------------------------
def _trace_rows(client: GenverClient, model_ids: Sequence[str]) -> tuple[MetricRow, ...]:
    stats = {s.model_id: s for s in client.get_trace_stats(model_ids=list(dict.fromkeys(model_ids)))}
    per = [stats.get(m) for m in model_ids]
    if not any(s is not None and s.trace_count for s in per):
        return ()
    rows = []
    for key, label, get in TRACE_STATS:
        values = tuple(_stat(s, key, get) for s in per)
        rows.append(
            MetricRow(
                key=key,
                label=label,
                higher_is_better=key == "trace_count",
                values=values,
                deltas=(None, *(delta(values[0], v) for v in values[1:])),
                bootstrap=(None,) * len(values),
            )
        )
    return tuple(rows)


def _stat(s: TraceStats | None, key: str, get: Callable[[TraceStats], float | None]) -> float | None:
    if s is None or not s.trace_count:  # no traces: no rates or latencies, just the count
        return 0 if key == "trace_count" else None
    return get(s)


# -- two versions' differences (e.g. an alias's holder then and now) --------------------------------
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VersionDiff:
    """What differs between two versions, ``a`` then ``b``: params, tags (noisy and the diff tag
    left out) and git, with the code diff between their commits when it could be computed."""

    params: tuple[ValueDiff, ...]
    tags: tuple[ValueDiff, ...]
    git: tuple[GitState, GitState]
    code: CodeDiff | None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": [d.to_dict() for d in self.params],
            "tags": [d.to_dict() for d in self.tags],
            "git": [g.to_dict() for g in self.git],
            "code": None if self.code is None else self.code.to_dict(),
            "notes": list(self.notes),
        }


def version_diff(a: LoggedModel, b: LoggedModel, *, code_diffs: bool = True) -> VersionDiff:
    """The params, tags and git differences from version ``a`` to version ``b``."""
    infos = [_version_info(m, None) for m in (a, b)]
    notes: list[str] = []
    code = _code_diffs(infos, notes) if code_diffs else ()
    return VersionDiff(
        params=_value_diffs([a.params, b.params]),
        tags=_value_diffs([{k: v for k, v in m.tags.items() if _shown_tag(k)} for m in (a, b)]),
        git=(infos[0].git, infos[1].git),
        code=code[0] if code else None,
        notes=tuple(notes),
    )
