"""What the dashboard shows, computed over the client: the page (``ui/dashboards.py``) lays it out
and its JSON twin (``GET /api/v1/dashboards``, ``routes/dashboards.py``) returns ``to_dict()``,
so both say the same thing.

- **Over time**: per version and time bucket, trace count, error rate, latency p50/p95/p99,
  tokens and cost per request, from one ``get_trace_stats(bucket_ms=...)`` (the store groups by
  version and bucket in one query). Buckets cover ``[end - window, end)``; ``end`` defaults to
  now rounded up to a whole bucket (UTC), and the twin's URL pins it, so the twin is a permalink.
- **One metric across versions**: the latest value of one metric key per version that has it,
  among the experiment's most recent versions, in creation order, labelled ``name (commit)``.

Every point names the traces behind it as a trace filter (``traces_filter``), which the page
links to ``/traces``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from genver.client import GenverClient
from genver.client.refs import resolve_models
from genver.compare.result import GitState, fmt_number
from genver.entities import Experiment, LoggedModel, Metric, TraceStats
from genver.exceptions import InvalidArgumentError
from genver.search.parser import quote

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WINDOWS = {"24h": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS}
BUCKETS = {"1h": HOUR_MS, "6h": 6 * HOUR_MS, "1d": DAY_MS}
#: Buckets per chart at most (7 days of hours): each chart has a table row per bucket.
MAX_BUCKETS = 168
MAX_VERSIONS = 4
DEFAULT_VERSIONS = 2
#: The last millisecond of year 9999: dates past it cannot be shown.
MAX_END = 253_402_300_799_999
#: The most recent versions the defaults and the metric section look through.
RECENT_VERSIONS = 100


@dataclass(frozen=True, slots=True)
class Series:
    """One chart: a statistic per bucket (None where the bucket has no traces)."""

    key: str
    label: str
    get: Callable[[TraceStats], float | None]
    show: Callable[[float | None], str]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


SERIES: tuple[Series, ...] = (
    Series("trace_count", "Traces", lambda s: s.trace_count, fmt_number),
    Series("error_rate", "Error rate", lambda s: s.error_rate, _percent),
    Series("latency_p50_ms", "Latency p50 (ms)", lambda s: s.latency_p50_ms, fmt_number),
    Series("latency_p95_ms", "Latency p95 (ms)", lambda s: s.latency_p95_ms, fmt_number),
    Series("latency_p99_ms", "Latency p99 (ms)", lambda s: s.latency_p99_ms, fmt_number),
    Series("tokens_per_request", "Tokens / request", lambda s: s.tokens_per_request, fmt_number),
    Series("cost_per_request", "Cost / request", lambda s: s.cost_per_request, fmt_number),
)


@dataclass(frozen=True, slots=True)
class VersionSeries:
    """One overlaid version and its value per bucket for each of ``SERIES``."""

    model: LoggedModel
    commit: str | None
    label: str
    values: dict[str, tuple[float | None, ...]]


@dataclass(frozen=True, slots=True)
class MetricPoint:
    model: LoggedModel
    commit: str | None
    label: str
    metric: Metric
    traces_filter: str

    @property
    def dataset(self) -> str:
        m = self.metric
        if m.dataset_digest is None:
            return m.dataset_name or ""
        return f"{m.dataset_name or 'dataset'} ({m.dataset_digest[:8]})"


@dataclass(frozen=True, slots=True)
class Dashboard:
    experiment: Experiment
    window: str
    bucket: str
    start_time: int
    end_time: int
    bucket_ms: int
    buckets: tuple[int, ...]
    versions: tuple[VersionSeries, ...]
    chosen_by_default: bool
    recent: tuple[LoggedModel, ...]  # the versions the form offers, newest first
    metric_keys: tuple[str, ...]
    metric: str | None
    dataset: str | None
    points: tuple[MetricPoint, ...]

    @property
    def choices(self) -> tuple[LoggedModel, ...]:
        """Versions the form offers: the overlaid ones, then the most recent others."""
        shown = {v.model.model_id for v in self.versions}
        return (*(v.model for v in self.versions), *(m for m in self.recent if m.model_id not in shown))

    def traces_filter(self, model_id: str, bucket: int) -> str:
        """The trace filter matching the traces of one point: the version, and the bucket."""
        start = self.buckets[bucket]
        return (
            f"attributes.model_id = {quote(model_id)} AND attributes.request_time >= {start} "
            f"AND attributes.request_time < {start + self.bucket_ms}"
        )

    def query(self) -> list[tuple[str, str]]:
        """The URL parameters that show exactly this dashboard (versions as ids, ``end`` pinned)."""
        params = [
            ("experiment", self.experiment.experiment_id),
            ("window", self.window),
            ("bucket", self.bucket),
            *[("version", v.model.model_id) for v in self.versions],
            ("end", str(self.end_time)),
        ]
        if self.metric:
            params.append(("metric", self.metric))
        if self.dataset:
            params.append(("dataset", self.dataset))
        return params

    def to_dict(self) -> dict[str, Any]:
        """The JSON twin's body (strict JSON: a non-finite metric value is null)."""
        return {
            "experiment_id": self.experiment.experiment_id,
            "window": self.window,
            "bucket": self.bucket,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "bucket_ms": self.bucket_ms,
            "buckets": list(self.buckets),
            "series": [{"key": s.key, "label": s.label} for s in SERIES],
            "versions": [
                {
                    "model_id": v.model.model_id,
                    "name": v.model.name,
                    "commit": v.commit,
                    "label": v.label,
                    "values": {k: list(vals) for k, vals in v.values.items()},
                }
                for v in self.versions
            ],
            "metric_keys": list(self.metric_keys),
            "metric": None
            if self.metric is None
            else {
                "key": self.metric,
                "dataset": self.dataset,
                "points": [
                    {
                        "model_id": p.model.model_id,
                        "name": p.model.name,
                        "commit": p.commit,
                        "label": p.label,
                        "creation_timestamp": p.model.creation_timestamp,
                        "value": p.metric.value if math.isfinite(p.metric.value) else None,
                        "dataset_name": p.metric.dataset_name,
                        "dataset_digest": p.metric.dataset_digest,
                        "run_id": p.metric.run_id,
                        "traces_filter": p.traces_filter,
                    }
                    for p in self.points
                ],
            },
        }


def dashboard(
    client: GenverClient,
    experiment: Experiment,
    *,
    window: str = "24h",
    bucket: str = "1h",
    versions: Sequence[str] = (),
    end: str | None = None,
    metric: str | None = None,
    dataset: str | None = None,
    now_ms: int,
) -> Dashboard:
    """The dashboard of ``experiment``; a bad window, bucket, end or version raises
    ``InvalidArgumentError`` naming it, an unknown version ``NotFoundError``."""
    window_ms, bucket_ms = _choice(window, WINDOWS, "window"), _choice(bucket, BUCKETS, "bucket")
    if window_ms // bucket_ms > MAX_BUCKETS:
        raise InvalidArgumentError(
            f"Invalid bucket {bucket!r} for window {window!r}: {window_ms // bucket_ms} buckets, "
            f"at most {MAX_BUCKETS}; choose a larger bucket."
        )
    end_ms = _end(end, now_ms, bucket_ms)
    start_ms = end_ms - window_ms
    exp_id = experiment.experiment_id
    recent = tuple(client.search_logged_models([exp_id], max_results=RECENT_VERSIONS))  # newest first
    refs = [v for v in versions if v.strip()]
    chosen = _chosen(client, exp_id, refs) if refs else _defaults(client, exp_id, recent, start_ms, end_ms)
    buckets = tuple(range(start_ms, end_ms, bucket_ms))
    found: dict[tuple[str | None, int | None], TraceStats] = {}
    if chosen:
        stats = client.get_trace_stats(
            model_ids=[m.model_id for m in chosen],
            experiment_ids=[exp_id],
            start_time=start_ms,
            end_time=end_ms,
            bucket_ms=bucket_ms,
        )
        found = {(s.model_id, s.bucket_start): s for s in stats}
    labels = _labels(chosen)
    overlaid = tuple(
        VersionSeries(
            model=m,
            commit=GitState.from_tags(m.tags).commit,
            label=labels[m.model_id],
            values={s.key: tuple(_value(s, found.get((m.model_id, b))) for b in buckets) for s in SERIES},
        )
        for m in chosen
    )
    keys = tuple(sorted({x.key for m in recent for x in m.metrics or []}))
    return Dashboard(
        experiment=experiment,
        window=window,
        bucket=bucket,
        start_time=start_ms,
        end_time=end_ms,
        bucket_ms=bucket_ms,
        buckets=buckets,
        versions=overlaid,
        chosen_by_default=not refs,
        recent=recent,
        metric_keys=keys,
        metric=metric or None,
        dataset=dataset or None,
        points=_points(recent, metric, dataset) if metric else (),
    )


def _choice(value: str, choices: dict[str, int], what: str) -> int:
    if value not in choices:
        expected = ", ".join(repr(c) for c in choices)
        raise InvalidArgumentError(f"Invalid {what} {value!r}: expected one of {expected}.")
    return choices[value]


def _end(end: str | None, now_ms: int, bucket_ms: int) -> int:
    """``end`` as given (ms since the epoch), else now rounded up to a whole bucket."""
    if end is None or not end.strip():
        return -(-now_ms // bucket_ms) * bucket_ms
    text = end.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 15 and int(text) <= MAX_END):
        raise InvalidArgumentError(
            f"Invalid end {end!r}: expected a time in milliseconds since the epoch, e.g. 1700000000000, "
            f"at most {MAX_END} (the end of year 9999)."
        )
    return int(text)


def _chosen(client: GenverClient, experiment_id: str, refs: Sequence[str]) -> list[LoggedModel]:
    if len(refs) > MAX_VERSIONS:
        raise InvalidArgumentError(
            f"Invalid version: at most {MAX_VERSIONS} versions overlaid, got {len(refs)}: {list(refs)!r}."
        )
    found = resolve_models(client, refs, experiment_id=experiment_id, warn=False)
    for ref, m in zip(refs, found, strict=True):
        if m.experiment_id != experiment_id:
            raise InvalidArgumentError(
                f"Invalid version {ref!r}: it belongs to experiment {m.experiment_id!r}, "
                f"not {experiment_id!r}."
            )
    return list({m.model_id: m for m in found}.values())


def _defaults(
    client: GenverClient, experiment_id: str, recent: Sequence[LoggedModel], start: int, end: int
) -> list[LoggedModel]:
    """The most recent versions with traces in the window, oldest first (champion, challenger).

    One indexed one-row search per version, newest first, until two are found (~1 ms each on
    SQLite with 100,000 traces; statistics of 100 versions would rank every trace in the window:
    260 ms over 30 days)."""
    found: list[LoggedModel] = []
    for m in recent:
        window = f"attributes.request_time >= {start} AND attributes.request_time < {end}"
        hit = client.search_traces(
            [experiment_id],
            f"attributes.model_id = {quote(m.model_id)} AND {window}",
            max_results=1,
            include_spans=False,
        )
        if len(hit):
            found.append(m)
            if len(found) == DEFAULT_VERSIONS:
                break
    return found[::-1]


def _labels(models: Sequence[LoggedModel]) -> dict[str, str]:
    """``name (commit[:8])``; a label shared by two versions gets the model id's start too."""
    plain = {m.model_id: _label(m) for m in models}
    counts: dict[str, int] = {}
    for label in plain.values():
        counts[label] = counts.get(label, 0) + 1
    return {k: v if counts[v] == 1 else f"{v} [{k[:10]}]" for k, v in plain.items()}


def _label(m: LoggedModel) -> str:
    commit = GitState.from_tags(m.tags).commit
    return f"{m.name} ({commit[:8]})" if commit else m.name


def _value(series: Series, stats: TraceStats | None) -> float | None:
    if stats is None or not stats.trace_count:
        return 0 if series.key == "trace_count" else None
    return series.get(stats)


def _points(recent: Sequence[LoggedModel], key: str, dataset: str | None) -> tuple[MetricPoint, ...]:
    """One point per version having ``key`` (on ``dataset``, a name or digest, when given): its
    latest value, oldest version first."""
    found: list[tuple[LoggedModel, Metric]] = []
    for m in sorted(recent, key=lambda m: (m.creation_timestamp, m.model_id)):
        latest = None
        for x in m.metrics or []:
            if x.key != key or (dataset and dataset not in (x.dataset_name, x.dataset_digest)):
                continue
            if latest is None or (x.timestamp, x.step) >= (latest.timestamp, latest.step):
                latest = x
        if latest is not None:
            found.append((m, latest))
    labels = _labels([m for m, _ in found])
    return tuple(
        MetricPoint(m, GitState.from_tags(m.tags).commit, labels[m.model_id], x, _metric_traces(m, x))
        for m, x in found
    )


def _metric_traces(m: LoggedModel, x: Metric) -> str:
    """The version's traces; for an evaluation's metric, the traces that evaluation made."""
    traces = f"attributes.model_id = {quote(m.model_id)}"
    return traces + (f" AND attributes.run_id = {quote(x.run_id)}" if x.run_id else "")
