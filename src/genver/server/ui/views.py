"""What the versions list shows, computed from the client and the comparison layer: plain
dataclasses the templates only lay out (no logic in templates, no queries in routes). The trace
page's views are in ``trace_views``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from genver.client import GenverClient
from genver.compare.metric_rows import datasets_of
from genver.compare.result import GitState, fmt_number, fmt_time
from genver.entities import Experiment, LoggedModel, TraceStats
from genver.server.routes.models import order_by_param


# -- versions ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MetricColumn:
    key: str
    dataset: str  # a label: dataset name (digest prefix), or "" for metrics without a dataset
    digest: str | None


@dataclass(frozen=True, slots=True)
class VersionRow:
    model: LoggedModel
    git: GitState
    stats: TraceStats | None
    metrics: tuple[str, ...]  # formatted, aligned with VersionsView.metric_columns

    @property
    def created(self) -> str:
        return fmt_time(self.model.creation_timestamp)

    @property
    def git_label(self) -> str:
        if self.git.commit is None:
            return ""
        return self.git.commit[:8] + (" dirty" if self.git.dirty else "")

    @property
    def traces(self) -> str:
        return "0" if self.stats is None else fmt_number(self.stats.trace_count)

    @property
    def p95(self) -> str:
        return "" if self.stats is None else fmt_number(self.stats.latency_p95_ms)

    @property
    def cost(self) -> str:
        return (
            ""
            if self.stats is None or not self.stats.trace_count
            else fmt_number(self.stats.cost_per_request)
        )

    @property
    def error_rate(self) -> str:
        return "" if self.stats is None or not self.stats.trace_count else f"{self.stats.error_rate:.1%}"


@dataclass(frozen=True, slots=True)
class VersionsView:
    experiment: Experiment
    rows: tuple[VersionRow, ...]
    metric_columns: tuple[MetricColumn, ...]
    next_page_token: str | None


def versions_view(
    client: GenverClient,
    experiment: Experiment,
    *,
    filter_string: str | None,
    order_by: str | None,
    page_token: str | None,
    max_results: int,
) -> VersionsView:
    page = client.search_logged_models(
        [experiment.experiment_id],
        filter_string or None,
        None,
        max_results,
        order_by_param(order_by),
        page_token,
    )
    stats = (
        {s.model_id: s for s in client.get_trace_stats(model_ids=[m.model_id for m in page])} if page else {}
    )
    columns = _metric_columns(page)
    rows = tuple(
        VersionRow(
            model=m,
            git=GitState.from_tags(m.tags),
            stats=stats.get(m.model_id),
            metrics=tuple(_metric_cell(m, c) for c in columns),
        )
        for m in page
    )
    return VersionsView(experiment, rows, columns, page.token)


def _metric_columns(models: Sequence[LoggedModel]) -> tuple[MetricColumn, ...]:
    seen: dict[tuple[str, str | None], MetricColumn] = {}
    for m in models:
        names = datasets_of(m)
        for x in m.metrics or []:
            name = names.get(x.dataset_digest, (x.dataset_name, 0))[0]
            label = "" if x.dataset_digest is None else f"{name or 'dataset'} ({x.dataset_digest[:8]})"
            seen.setdefault((x.key, x.dataset_digest), MetricColumn(x.key, label, x.dataset_digest))
    return tuple(sorted(seen.values(), key=lambda c: (c.dataset, c.key)))


def _metric_cell(m: LoggedModel, column: MetricColumn) -> str:
    latest = None
    for x in m.metrics or []:
        newer = latest is None or (x.timestamp, x.step) >= (latest.timestamp, latest.step)
        if x.key == column.key and x.dataset_digest == column.digest and newer:
            latest = x
    return "" if latest is None else fmt_number(latest.value)
