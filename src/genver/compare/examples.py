"""One metric of a comparison row by row: each dataset record's score on the baseline and on a
candidate, with the two traces, so a regression can be opened example by example.

Rows pair on the record id (``genver.record_id``), as the bootstrap does; the scores are the
evaluation runs' feedback assessments that ``MetricRow.run_ids`` names.

A row is shown by its request, what a person recognises (the record id is a digest of it): the
request preview of its trace (the root span's inputs as JSON, ``{"question": "..."}``), read
by ``page`` with one trace search for the page's rows, never one read per row.

>>> found = only(paired_examples(client, comparison, "exact/mean"), "regressions")  # doctest: +SKIP
>>> [(e.request, e.delta) for e in page(client, comparison, found).rows]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from genver.client import GenverClient
from genver.compare.metric_rows import Scores
from genver.compare.result import Comparison
from genver.exceptions import InvalidArgumentError
from genver.search.parser import quote

__all__ = ["Example", "ExamplePage", "only", "page", "paired_examples", "request_text"]

#: Rows on one page of examples, and the characters of a request a row shows (its title has all).
PAGE_SIZE = 50
REQUEST_CHARS = 200
#: Regressions first, then improvements, rows one side has no score for, unchanged rows.
ORDER = {"regressed": 0, "improved": 1, "unpaired": 2, "same": 3}


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
    request: str | None = None  # what the row asked (``request_text``); None: its traces are not found

    @property
    def request_short(self) -> str | None:
        """The request on one line, cut to at most ``REQUEST_CHARS`` characters, after a word
        when one ends near the cut (``…`` marks it)."""
        if self.request is None:
            return None
        text = " ".join(self.request.split())
        if len(text) <= REQUEST_CHARS:
            return text
        cut = text[: REQUEST_CHARS - 1]
        space = cut.rfind(" ")
        return (cut[:space] if space >= REQUEST_CHARS - 30 else cut).rstrip() + "…"

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
    return tuple(sorted(out, key=_key))


def _key(e: Example) -> tuple[int, str]:
    return ORDER[e.change], e.record_id


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


@dataclass(frozen=True, slots=True, kw_only=True)
class ExamplePage:
    """One page of examples with their requests; ``start`` is the index of ``rows[0]`` among the
    ``matching`` examples, ``decimals`` the digits after the point every score of the page shows
    (so a column's points line up)."""

    rows: tuple[Example, ...]
    start: int
    matching: int
    next_page_token: str | None
    decimals: int

    def score(self, value: float | None) -> str:
        """``value`` with the page's decimals (``—``: no score); a minus is ``−``, as wide as ``+``."""
        if value is None:
            return "—"
        return f"{value:.{self.decimals}f}".replace("-", "−") if math.isfinite(value) else str(value)

    def delta(self, value: float | None) -> str:
        """Signed (``+0.50``, ``−0.50``); no change is ``0`` with the page's decimals."""
        if value is None or value == 0 or not math.isfinite(value):
            return self.score(value)
        return f"{value:+.{self.decimals}f}".replace("-", "−")


def page(
    client: GenverClient,
    comparison: Comparison,
    examples: Sequence[Example],
    *,
    page_token: str | None = None,
    max_results: int = PAGE_SIZE,
) -> ExamplePage:
    """The examples after ``page_token`` (the ``next_page_token`` of the page before, which names
    the last row it showed), at most ``max_results``, each with its request: one trace search
    over the page's traces in the compared versions' experiments. ``examples`` are in
    ``paired_examples``'s order. A foreign token raises ``InvalidArgumentError``."""
    start = 0
    if page_token:
        change, sep, record = page_token.partition(":")
        if not sep or change not in ORDER or not record:
            raise InvalidArgumentError(
                f"Invalid page_token {page_token!r}: expected the next_page_token of the page before."
            )
        after = (ORDER[change], record)
        start = next((i for i, e in enumerate(examples) if _key(e) > after), len(examples))
    rows = list(examples[start : start + max_results])
    last = rows[-1] if rows and start + len(rows) < len(examples) else None
    return ExamplePage(
        rows=tuple(_with_requests(client, comparison, rows)),
        start=start,
        matching=len(examples),
        next_page_token=None if last is None else f"{last.change}:{last.record_id}",
        decimals=_decimals(rows),
    )


def request_text(preview: str | None) -> str | None:
    """What a row asked, from its trace's request preview (the root span's inputs as JSON): the
    value of a single-key dict (``{"question": "Why?"}`` → ``Why?``; a value that is not a
    string as JSON), else the preview as it is (several inputs, or cut at 1,000 characters).

    >>> request_text('{"question": "Why?"}')
    'Why?'
    >>> request_text('{"q": "Why?", "lang": "en"}')
    '{"q": "Why?", "lang": "en"}'
    """
    if not preview:
        return None
    try:
        value = json.loads(preview)
    except ValueError:
        return preview
    if isinstance(value, dict) and len(value) == 1:
        (inner,) = value.values()
        return inner if isinstance(inner, str) else json.dumps(inner, ensure_ascii=False)
    return preview


def _with_requests(client: GenverClient, comparison: Comparison, rows: Sequence[Example]) -> list[Example]:
    """The rows with their requests, from the baseline's trace (else the candidate's: both ran
    the same inputs). A trace outside the versions' experiments leaves its row without one."""
    ids = sorted({t for e in rows for t in (e.baseline_trace, e.candidate_trace) if t})
    if not ids:
        return list(rows)
    experiments = list(dict.fromkeys(v.experiment_id for v in comparison.versions))
    found = client.search_traces(
        experiments,
        f"trace_id IN ({', '.join(quote(t) for t in ids)})",
        max_results=len(ids),
        include_spans=False,
    )
    previews = {t.info.trace_id: t.info.request_preview for t in found}
    out = []
    for e in rows:
        text = request_text(previews.get(e.baseline_trace or "")) or request_text(
            previews.get(e.candidate_trace or "")
        )
        out.append(replace(e, request=text))
    return out


def _decimals(rows: Sequence[Example]) -> int:
    """The most digits after the point any score of ``rows`` needs (at most 4)."""
    most = 0
    for e in rows:
        for v in (e.baseline, e.candidate, e.delta):
            if v is None or not math.isfinite(v):
                continue
            for d in range(most, 5):
                if abs(v - round(v, d)) < 1e-9:
                    break
            most = max(most, d)
    return most
