"""One metric of a comparison row by row: each dataset record's score on the baseline and on a
candidate, with the two traces, so a regression can be opened example by example.

Rows pair on the record id (``genver.record_id``), as the bootstrap does; the scores are the
evaluation runs' feedback assessments that ``MetricRow.run_ids`` names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from genver.client import GenverClient
from genver.compare.metric_rows import Scores
from genver.compare.result import Comparison
from genver.exceptions import InvalidArgumentError

__all__ = ["Example", "paired_examples"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Example:
    """One record scored on both versions (None: that version has no usable score for it)."""

    record_id: str
    baseline: float | None
    candidate: float | None
    baseline_trace: str | None
    candidate_trace: str | None
    baseline_rationale: str | None
    candidate_rationale: str | None
    higher_is_better: bool

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.candidate is None:
            return None
        return self.candidate - self.baseline

    @property
    def change(self) -> str:
        """``regressed``, ``improved``, ``same``, or ``unpaired`` (one side has no score)."""
        d = self.delta
        if d is None:
            return "unpaired"
        if d == 0:
            return "same"
        return "improved" if (d > 0) == self.higher_is_better else "regressed"


def paired_examples(
    client: GenverClient, comparison: Comparison, metric: str, *, candidate: int = 1
) -> tuple[Example, ...]:
    """The records of ``metric`` (e.g. ``exact_match/mean``) for the baseline and
    ``comparison.versions[candidate]``, regressions first, then by record id."""
    row = comparison.metric(metric)
    if row is None or not row.run_ids:
        known = ", ".join(r.key for r in comparison.metrics if r.run_ids) or "(none)"
        raise InvalidArgumentError(
            f"Invalid metric {metric!r}: expected an evaluation metric both versions have, one of {known}."
        )
    if not 1 <= candidate < len(comparison.versions):
        raise InvalidArgumentError(
            f"Invalid candidate {candidate!r}: expected 1 to {len(comparison.versions) - 1}."
        )
    scorer = metric.rsplit("/", 1)[0]
    scores = Scores(client)
    sides = []
    for i in (0, candidate):
        run_id = row.run_ids[i] if i < len(row.run_ids) else None
        version = comparison.versions[i]
        sides.append(
            {} if run_id is None else scores.rows(run_id, scorer, version.dataset_digest, version.model_id)
        )
    base, cand = sides
    out = [
        Example(
            record_id=record,
            baseline=base[record][0] if record in base else None,
            candidate=cand[record][0] if record in cand else None,
            baseline_trace=base[record][1].trace_id if record in base else None,
            candidate_trace=cand[record][1].trace_id if record in cand else None,
            baseline_rationale=base[record][1].rationale if record in base else None,
            candidate_rationale=cand[record][1].rationale if record in cand else None,
            higher_is_better=row.higher_is_better,
        )
        for record in sorted(set(base) | set(cand))
    ]
    order = {"regressed": 0, "improved": 1, "unpaired": 2, "same": 3}
    return tuple(sorted(out, key=lambda e: (order[e.change], e.record_id)))


def only(examples: Sequence[Example], change: str | None) -> list[Example]:
    """The examples with this ``change`` (``regressions``/``improvements`` accepted too)."""
    if not change:
        return list(examples)
    wanted = {"regressions": "regressed", "improvements": "improved"}.get(change, change)
    if wanted not in ("regressed", "improved", "same", "unpaired"):
        raise InvalidArgumentError(
            f"Invalid only {change!r}: expected 'regressions', 'improvements', 'same' or 'unpaired'."
        )
    return [e for e in examples if e.change == wanted]
