"""Evaluation metrics of versions side by side: which dataset's values are compared, the latest
value of each metric there, and the paired bootstrap over per-row scores.

Per-row scores are the feedback assessments of the evaluation run that logged a ``<name>/mean``
metric (``genai.evaluate``'s convention): ``name`` is the scorer, ``metadata`` carries
``genver.record_id`` (rows pair on it), ``genver.dataset_digest`` and ``genver.model_id``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from genver.compare.result import Delta, MetricRow
from genver.compare.stats import PairedBootstrap, lower_is_better, paired_bootstrap, score_value
from genver.entities import Assessment, LoggedModel, Metric
from genver.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    from genver.client import GenverClient

__all__ = ["Choice", "Scores", "choose_datasets", "datasets_of", "delta", "latest_metrics", "metric_rows"]

RECORD_ID_KEY = "genver.record_id"
DATASET_DIGEST_KEY = "genver.dataset_digest"
MODEL_ID_KEY = "genver.model_id"
#: (dataset name, digest) a version's metrics are taken from; None: the version has none there.
Choice = tuple[str | None, str | None] | None


def datasets_of(m: LoggedModel) -> dict[str | None, tuple[str | None, int]]:
    """The datasets a version has metrics on: digest → (name, latest timestamp)."""
    out: dict[str | None, tuple[str | None, int]] = {}
    for x in m.metrics or []:
        prev = out.get(x.dataset_digest)
        if prev is None or x.timestamp >= prev[1]:
            out[x.dataset_digest] = (x.dataset_name or (prev[0] if prev else None), x.timestamp)
    return out


def choose_datasets(models: Sequence[LoggedModel], dataset: str | None, notes: list[str]) -> list[Choice]:
    """Per version, the (name, digest) its metrics are taken from; None when it has none there."""
    per = [datasets_of(m) for m in models]
    if dataset is not None:
        chosen: list[Choice] = []
        for found in per:
            if dataset in found:  # a digest
                chosen.append((found[dataset][0], dataset))
                continue
            named = [d for d, (n, _) in found.items() if n == dataset]
            digest = max(named, key=lambda d: (found[d][1], d or "")) if named else None
            chosen.append((dataset, digest) if named else None)
        if all(c is None for c in chosen):
            known = sorted({f"{n or '(no name)'} ({d})" for f in per for d, (n, _) in f.items() if d})
            raise InvalidArgumentError(
                f"No version has metrics on dataset {dataset!r}: expected a dataset name or digest, one of "
                f"{', '.join(known) or '(none)'}."
            )
        for m, c in zip(models, chosen, strict=True):
            if c is None:
                notes.append(f"{m.name} ({m.model_id}) has no metrics on dataset {dataset!r}.")
        if len({c[1] for c in chosen if c is not None}) > 1:
            notes.append(
                f"Dataset {dataset!r} has different contents (digests) across versions: values are not "
                "paired."
            )
        return chosen
    evaluated = [f for f in per if f]
    if not evaluated:
        return [None] * len(models)
    shared = set(evaluated[0]).intersection(*evaluated[1:])
    if shared and len(evaluated) == len(per):
        best = max(shared, key=lambda d: (max(f[d][1] for f in per), d or ""))
        return [(f[best][0], best) for f in per]
    if shared:
        best = max(shared, key=lambda d: (max(f[d][1] for f in evaluated), d or ""))
        for m, f in zip(models, per, strict=True):
            if not f:
                notes.append(f"{m.name} ({m.model_id}) has no evaluation metrics.")
        return [(f[best][0], best) if f else None for f in per]
    notes.append(
        "The versions were not evaluated on a common dataset: each version's latest metrics are shown, "
        "and they may not be comparable."
    )
    latest: list[Choice] = []
    for f in per:
        if not f:
            latest.append(None)
            continue
        digest = max(f, key=lambda d: (f[d][1], d or ""))
        latest.append((f[digest][0], digest))
    return latest


def latest_metrics(m: LoggedModel, chosen: Choice) -> dict[str, Metric]:
    """The latest value (by timestamp, then step) of each metric on the chosen dataset."""
    out: dict[str, Metric] = {}
    if chosen is None:
        return out
    for x in m.metrics or []:
        if x.dataset_digest != chosen[1]:
            continue
        prev = out.get(x.key)
        if prev is None or (x.timestamp, x.step) >= (prev.timestamp, prev.step):
            out[x.key] = x
    return out


def delta(base: float | None, value: float | None) -> Delta | None:
    if base is None or value is None:
        return None
    return Delta(absolute=value - base, relative=(value - base) / abs(base) if base else None)


def metric_rows(
    client: GenverClient,
    models: Sequence[LoggedModel],
    chosen: Sequence[Choice],
    latest: Sequence[Mapping[str, Metric]],
    *,
    confidence: float,
    n_resamples: int,
    seed: int | None,
    notes: list[str],
) -> tuple[MetricRow, ...]:
    scores = Scores(client)
    rows = []
    for key in sorted({k for found in latest for k in found}):
        picked = [found.get(key) for found in latest]
        values = tuple(None if p is None else p.value for p in picked)
        higher = not lower_is_better(key)
        boots: list[PairedBootstrap | None] = [None]
        for i in range(1, len(models)):
            boots.append(None)
            base, cand = picked[0], picked[i]
            if (
                not key.endswith("/mean")
                or base is None
                or cand is None
                or not base.run_id
                or not cand.run_id
            ):
                continue
            here, there = chosen[0], chosen[i]
            digest = here[1] if here else None
            if digest is None or there is None or there[1] != digest:
                continue
            scorer = key[: -len("/mean")]
            a = scores.get(base.run_id, scorer, digest, models[0].model_id)
            b = scores.get(cand.run_id, scorer, digest, models[i].model_id)
            common = sorted(a.keys() & b.keys())
            if len(common) < 2:
                if a and b:
                    notes.append(f"{key}: fewer than 2 rows scored on both versions; no confidence interval.")
                continue
            boots[i] = paired_bootstrap(
                [a[r] for r in common],
                [b[r] for r in common],
                confidence=confidence,
                n_resamples=n_resamples,
                seed=seed,
                higher_is_better=higher,
            )
        rows.append(
            MetricRow(
                key=key,
                label=key,
                higher_is_better=higher,
                values=values,
                deltas=(None, *(delta(values[0], v) for v in values[1:])),
                bootstrap=tuple(boots),
                run_ids=tuple(None if p is None else p.run_id for p in picked),
            )
        )
    return tuple(rows)


class Scores:
    """Per-row numeric scores of evaluation runs (record id → score), one store read per run."""

    def __init__(self, client: GenverClient) -> None:
        self._client = client
        self._runs: dict[str, list[Assessment]] = {}

    def get(self, run_id: str, scorer: str, digest: str, model_id: str) -> dict[str, float]:
        return {r: v for r, (v, _) in self.rows(run_id, scorer, digest, model_id).items()}

    def rows(
        self, run_id: str, scorer: str, digest: str | None, model_id: str
    ) -> dict[str, tuple[float, Assessment]]:
        """Record id → (score, the latest usable feedback of ``scorer`` on that row)."""
        found = self._runs.get(run_id)
        if found is None:
            found = self._runs[run_id] = self._client.get_assessments(run_id=run_id)
        latest: dict[str, tuple[float, Assessment]] = {}
        for a in found:
            if a.kind != "feedback" or a.name != scorer or a.error is not None:
                continue
            md = a.metadata
            record = md.get(RECORD_ID_KEY)
            if not record or md.get(DATASET_DIGEST_KEY) not in (None, "", digest):
                continue
            if md.get(MODEL_ID_KEY) not in (None, "", model_id):  # "" or absent: evaluated unlinked
                continue
            value = score_value(a.value)
            if value is None:
                continue
            prev = latest.get(record)
            if prev is None or a.create_time_ms >= prev[1].create_time_ms:
                latest[record] = (value, a)
        return latest
