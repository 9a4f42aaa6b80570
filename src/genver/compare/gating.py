"""The checks behind ``gate``: thresholds, one ``GateCheck`` per threshold, and ``GateResult``.

A check fails when the regression is beyond its threshold:

- with per-row scores (a paired bootstrap exists), only when that is statistically significant:
  the whole confidence interval of (candidate − baseline) lies beyond the threshold;
- without them (trace statistics, metrics without assessments), when the point estimate is.

The gate fails closed: a metric missing on either version, versions evaluated on different
datasets, or a version without traces fail the check with a reason, never pass silently. So does
a scorer metric whose latest evaluation failed on some rows (``<scorer>/error_count`` above 0 on
either version, e.g. a judge that could not reach its model): its value leaves those rows out.

**Evidence.** A check that passed on too few paired rows to see a regression of its threshold is
``inconclusive``: the CI of the change still reaches beyond the threshold (a 50 % drop on two
rows "passes" only because two rows cannot show it), or it rests on fewer than ``min_rows``
paired rows. Its ``min_detectable`` is the smallest regression this sample could have shown as
significant: the threshold plus the CI's half-width. An inconclusive check passes with a warning,
or fails with ``fail_when_inconclusive`` (``--fail-when-inconclusive``), so a CI job can fail
closed. ``apply_evidence`` decides this from a result's own numbers, so a result computed by a
server is judged the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from genver.compare.result import Comparison, MetricRow, VersionInfo, dataset_label, fmt_number, md_cell
from genver.exceptions import InvalidArgumentError

__all__ = [
    "GateCheck",
    "GateResult",
    "Threshold",
    "apply_evidence",
    "parse_threshold",
    "resolve_metric",
    "run_checks",
]

#: Suffix of the metric ``genai.evaluate`` logs with the rows a scorer failed on.
ERROR_COUNT = "/error_count"
_NUMBER = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*(%?)\s*")


@dataclass(frozen=True, slots=True)
class Threshold:
    """An allowed change: absolute (``0.02``) or relative to the baseline (``"10%"`` → 0.10)."""

    value: float
    relative: bool
    text: str

    def limit(self, baseline: float) -> float:
        """The allowed absolute change for this baseline value."""
        return self.value * abs(baseline) if self.relative else self.value


def parse_threshold(value: object, metric: object = None) -> Threshold:
    """``0.02`` / ``"0.02"`` (absolute) or ``"10%"`` (relative); a non-negative, finite number."""
    where = f" for {metric!r}" if metric is not None else ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number, relative, text = float(value), False, repr(value)  # every digit reaches a server
    elif isinstance(value, str) and (m := _NUMBER.fullmatch(value)):
        relative = bool(m.group(2))
        number = float(value.strip().rstrip("%")) / (100 if relative else 1)
        text = value.strip()
    else:
        number, relative, text = math.nan, False, ""
    if not math.isfinite(number) or number < 0:
        raise InvalidArgumentError(
            f"Invalid threshold {value!r}{where}: expected a non-negative number (an absolute change, "
            "e.g. 0.02) or a percentage of the baseline (e.g. '10%')."
        )
    return Threshold(number, relative, text)


@dataclass(frozen=True, slots=True, kw_only=True)
class GateCheck:
    """One threshold checked: the values, the change, its CI where per-row scores exist, and why it
    passed or failed."""

    metric: str
    requested: str
    direction: str  # "drop" or "increase"
    threshold: str
    limit: float | None
    baseline: float | None
    candidate: float | None
    delta: float | None
    ci: tuple[float, float] | None
    n_pairs: int | None
    significant: bool | None
    passed: bool
    reason: str
    #: Passed, but on too few paired rows to see a regression of the threshold (module docstring).
    inconclusive: bool = False
    #: The smallest regression this sample could have shown as significant (None: no per-row CI).
    min_detectable: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "requested": self.requested,
            "direction": self.direction,
            "threshold": self.threshold,
            "limit": self.limit,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "delta": self.delta,
            "ci": None if self.ci is None else list(self.ci),
            "n_pairs": self.n_pairs,
            "significant": self.significant,
            "passed": self.passed,
            "reason": self.reason,
            "inconclusive": self.inconclusive,
            "min_detectable": self.min_detectable,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GateCheck:
        ci = d.get("ci")
        return cls(**{**d, "ci": None if ci is None else (ci[0], ci[1])})


@dataclass(frozen=True, slots=True, kw_only=True)
class GateResult:
    """``passed`` is True when every check passed; ``failures`` says why not."""

    passed: bool
    baseline: VersionInfo
    candidate: VersionInfo
    checks: tuple[GateCheck, ...]
    confidence: float
    notes: tuple[str, ...] = ()
    comparison: Comparison | None = field(default=None, repr=False, compare=False)

    @property
    def failures(self) -> list[GateCheck]:
        return [c for c in self.checks if not c.passed]

    @property
    def inconclusive(self) -> list[GateCheck]:
        return [c for c in self.checks if c.inconclusive]

    def __bool__(self) -> bool:
        return self.passed

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "baseline": self.baseline.to_dict(),
            "candidate": self.candidate.to_dict(),
            "confidence": self.confidence,
            "checks": [c.to_dict() for c in self.checks],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GateResult:
        """The result ``to_dict`` wrote (what ``GET /api/v1/gate`` returns), without the
        comparison behind it."""
        return cls(
            passed=d["passed"],
            baseline=VersionInfo.from_dict(d["baseline"]),
            candidate=VersionInfo.from_dict(d["candidate"]),
            checks=tuple(GateCheck.from_dict(c) for c in d["checks"]),
            confidence=d["confidence"],
            notes=tuple(d["notes"]),
        )

    def to_markdown(self) -> str:
        """The gate's outcome as Markdown, for a pull-request comment."""
        status = (
            "✅ passed" if self.passed else f"❌ failed ({len(self.failures)} of {len(self.checks)} checks)"
        )
        out = [
            f"### genver gate {status}",
            "",
            f"Baseline `{self.baseline.name}` (`{self.baseline.model_id}`) → candidate "
            f"`{self.candidate.name}` (`{self.candidate.model_id}`), dataset "
            f"{dataset_label(self.candidate)}.",
            "",
            f"| | metric | baseline | candidate | change | allowed | {self.confidence:.0%} CI | reason |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for c in self.checks:
            mark = "✅" if c.passed else "❌"
            mark = "⚠️ inconclusive" if c.passed and c.inconclusive else mark
            ci = (
                "—"
                if c.ci is None
                else f"[{fmt_number(c.ci[0], signed=True)}, {fmt_number(c.ci[1], signed=True)}]"
            )
            cells = [
                mark,
                f"`{c.metric}`",
                fmt_number(c.baseline),
                fmt_number(c.candidate),
                fmt_number(c.delta, signed=True),
                f"max {c.direction} {c.threshold}",
                ci,
                c.reason,
            ]
            out.append("| " + " | ".join(md_cell(x) for x in cells) + " |")
        if self.notes:
            out.extend(["", *(f"- {n}" for n in self.notes)])
        return "\n".join(out) + "\n"


def resolve_metric(name: str, comparison: Comparison, trace_names: Sequence[str]) -> str:
    """A metric named by scorer (``exact`` → ``exact/mean``), full name, or trace statistic."""
    if name in trace_names:
        return name
    keys = {r.key for r in comparison.metrics}
    if name in keys:
        return name
    if f"{name}/mean" in keys or f"{name}{ERROR_COUNT}" in keys:  # a scorer that failed on every row
        return f"{name}/mean"
    scorers = sorted(k[: -len("/mean")] for k in keys if k.endswith("/mean"))
    available = sorted({*scorers, *keys}) + list(trace_names)
    raise InvalidArgumentError(
        f"Unknown metric {name!r}: expected one of {', '.join(available)} (metrics are named by scorer, "
        "e.g. 'exact', or in full, e.g. 'exact/mean')."
    )


def run_checks(
    comparison: Comparison, wanted: Sequence[tuple[str, str, Threshold]], *, trace_names: Sequence[str]
) -> GateResult:
    """One ``GateCheck`` per (metric name, "drop" | "increase", threshold)."""
    resolved = [(resolve_metric(name, comparison, trace_names), name, d, t) for name, d, t in wanted]
    checks = tuple(
        _check(comparison, key, name, direction, threshold, is_trace=key in trace_names)
        for key, name, direction, threshold in resolved
    )
    return GateResult(
        passed=all(c.passed for c in checks),
        baseline=comparison.versions[0],
        candidate=comparison.versions[1],
        checks=checks,
        confidence=comparison.confidence,
        notes=comparison.notes,
        comparison=comparison,
    )


def _check(
    comparison: Comparison, key: str, requested: str, direction: str, threshold: Threshold, *, is_trace: bool
) -> GateCheck:
    row = comparison.metric(key)
    base_v, cand_v = comparison.versions[0], comparison.versions[1]
    base = row.values[0] if row else None
    cand = row.values[1] if row else None

    def fail_closed(reason: str) -> GateCheck:
        return GateCheck(
            metric=key,
            requested=requested,
            direction=direction,
            threshold=threshold.text,
            limit=None,
            baseline=base,
            candidate=cand,
            delta=None if base is None or cand is None else cand - base,
            ci=None,
            n_pairs=None,
            significant=None,
            passed=False,
            reason=reason,
        )

    if not is_trace and not key.endswith(ERROR_COUNT):
        errored = _errored_rows(comparison, key)
        if errored:
            return fail_closed(errored)
    for value, v, role in ((base, base_v, "baseline"), (cand, cand_v, "candidate")):
        if value is None:
            if is_trace:
                what = "has no traces"
            elif not v.has_metrics:
                what = "has no evaluation metrics"
            else:
                what = f"has no {key!r} on dataset {dataset_label(v)}"
            return fail_closed(f"{role} {v.name} ({v.model_id}) {what}")
    assert row is not None and base is not None and cand is not None
    if not is_trace and base_v.dataset_digest != cand_v.dataset_digest:
        return fail_closed(
            f"evaluated on different datasets ({dataset_label(base_v)} vs {dataset_label(cand_v)}); "
            "evaluate both on the same dataset or pass dataset="
        )
    return _judge(row, key, requested, direction, threshold, base, cand, comparison.confidence)


def _errored_rows(comparison: Comparison, key: str) -> str | None:
    """Why ``key`` cannot be trusted on either version: its scorer failed on some rows of the
    version's latest evaluation there (``<scorer>/error_count`` > 0); None when it did not."""
    scorer = key.rsplit("/", 1)[0]
    row = comparison.metric(f"{scorer}{ERROR_COUNT}")
    if row is None:
        return None
    found = []
    for value, v, role in zip(
        row.values[:2], comparison.versions[:2], ("baseline", "candidate"), strict=True
    ):
        if value is not None and value > 0:
            n = round(value)
            found.append(
                f"{role} {v.name} ({v.model_id}) has {n} row{'s' if n != 1 else ''} where {scorer!r} errored"
            )
    if not found:
        return None
    return (
        f"{'; '.join(found)} on dataset {dataset_label(comparison.versions[1])}: {key} leaves them out, so it "
        "is not compared (the evaluation logged a warning naming the cause, e.g. a judge endpoint it could "
        "not reach; fix it and evaluate again)"
    )


def _judge(
    row: MetricRow,
    key: str,
    requested: str,
    direction: str,
    threshold: Threshold,
    base: float,
    cand: float,
    confidence: float,
) -> GateCheck:
    limit = threshold.limit(base)
    eps = 1e-9 * max(1.0, abs(limit), abs(base))  # 0.90 - 0.88 is 0.0200000000000000018
    sign = -1.0 if direction == "drop" else 1.0  # regression = sign * (candidate - baseline)
    delta = cand - base
    beyond = sign * delta > limit + eps
    boot = row.bootstrap[1] if len(row.bootstrap) > 1 else None
    allowed = f"{threshold.text} ({fmt_number(limit)})" if threshold.relative else threshold.text
    moved = f"{'dropped' if delta < 0 else 'rose'} by {fmt_number(abs(delta))}"
    if delta == 0:
        moved = "did not change"
    values = f"{fmt_number(base)} → {fmt_number(cand)}"
    if boot is None:
        passed = not beyond
        if passed:
            reason = f"{moved} ({values}), within the allowed {direction} of {allowed}"
        else:
            reason = f"{moved} ({values}), more than the allowed {direction} of {allowed}"
        significant: bool | None = None
        ci = None
    else:
        ci = (boot.low, boot.high)
        bound = boot.high if direction == "drop" else boot.low  # the CI end nearest no regression
        significant = sign * bound > limit + eps
        passed = not significant
        ci_text = f"{confidence:.0%} CI of the change [{fmt_number(boot.low, signed=True)}, {fmt_number(boot.high, signed=True)}] over {boot.n} paired rows"
        if not passed:
            reason = (
                f"{moved} ({values}), significantly more than the allowed {direction} of {allowed}: {ci_text}"
            )
        elif beyond:
            reason = f"{moved} ({values}), more than the allowed {direction} of {allowed} but not significantly: {ci_text}"
        else:
            reason = f"{moved} ({values}), within the allowed {direction} of {allowed}; {ci_text}"
    return GateCheck(
        metric=key,
        requested=requested,
        direction=direction,
        threshold=threshold.text,
        limit=limit,
        baseline=base,
        candidate=cand,
        delta=delta,
        ci=ci,
        n_pairs=None if boot is None else boot.n,
        significant=significant,
        passed=passed,
        reason=reason,
    )


def apply_evidence(
    result: GateResult,
    *,
    min_rows: int | None = None,
    fail_when_inconclusive: bool = False,
    trace_names: Sequence[str] = (),
) -> GateResult:
    """``result`` with each check's ``inconclusive`` and ``min_detectable`` decided from its own
    numbers (see the module docstring) and, with ``fail_when_inconclusive``, inconclusive checks
    failed. Checks on trace statistics (``trace_names``) have no paired rows and are left alone."""
    check_min_rows(min_rows)
    checks = tuple(
        _evidence(c, min_rows, fail_when_inconclusive, c.metric in trace_names) for c in result.checks
    )
    notes = list(result.notes)
    weak = [c for c in checks if c.inconclusive]
    if weak:
        notes.append(
            f"{len(weak)} check{'s' if len(weak) != 1 else ''} rest{'s' if len(weak) == 1 else ''} on too few "
            f"paired rows to see a regression of the threshold ({', '.join(c.metric for c in weak)}): "
            + (
                "failed (fail_when_inconclusive)."
                if fail_when_inconclusive
                else "passed with a warning; "
                "evaluate on more rows, or pass --fail-when-inconclusive to fail closed."
            )
        )
    return GateResult(
        passed=all(c.passed for c in checks),
        baseline=result.baseline,
        candidate=result.candidate,
        checks=checks,
        confidence=result.confidence,
        notes=tuple(dict.fromkeys(notes)),
        comparison=result.comparison,
    )


def check_min_rows(min_rows: object) -> None:
    if min_rows is not None and (isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1):
        raise InvalidArgumentError(f"Invalid min_rows {min_rows!r}: expected a positive integer.")


def _evidence(c: GateCheck, min_rows: int | None, fail: bool, is_trace: bool) -> GateCheck:
    if is_trace or c.limit is None or c.baseline is None or c.candidate is None:
        return c  # failed closed before any numbers, or a trace statistic: nothing to weigh
    reason = c.reason.split("; inconclusive: ", 1)[0].removeprefix("inconclusive (fail_when_inconclusive): ")
    mdd: float | None = None
    weak: list[str] = []
    if c.ci is not None:
        low, high = c.ci
        mdd = c.limit + (high - low) / 2
        worst = low if c.direction == "drop" else high  # the CI end furthest into regression
        sign = -1.0 if c.direction == "drop" else 1.0
        eps = 1e-9 * max(1.0, abs(c.limit), abs(c.baseline))
        if c.significant is False and sign * worst > c.limit + eps:
            weak.append(
                f"with {c.n_pairs} paired row{'s' if c.n_pairs != 1 else ''} only a {c.direction} of more than "
                f"{fmt_number(mdd)} could be detected (the threshold is {fmt_number(c.limit)})"
            )
    if min_rows is not None and (c.n_pairs or 0) < min_rows:
        have = "no per-row scores" if c.n_pairs is None else f"{c.n_pairs} paired rows"
        weak.append(f"{have}, fewer than min_rows={min_rows}")
    inconclusive = bool(weak) and c.passed
    if inconclusive:
        reason = f"{reason}; inconclusive: {'; '.join(weak)}"
    passed = c.passed
    if inconclusive and fail:
        passed = False
        reason = f"inconclusive (fail_when_inconclusive): {reason}"
    return GateCheck(
        **{
            **{f: getattr(c, f) for f in GateCheck.__dataclass_fields__},
            "passed": passed,
            "reason": reason,
            "inconclusive": inconclusive,
            "min_detectable": mdd,
        }
    )
