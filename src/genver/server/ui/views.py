"""What the versions and traces lists show, computed from the client and the comparison layer:
plain dataclasses the templates only lay out (no logic in templates, no queries in routes). The
trace page's views are in ``trace_views``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from genver.client import GenverClient
from genver.compare.metric_rows import datasets_of
from genver.compare.result import GitState, fmt_number, fmt_time
from genver.entities import Experiment, LoggedModel, TraceStats
from genver.exceptions import InvalidArgumentError
from genver.search.ast import TRACES
from genver.search.parser import parse_filter
from genver.server.routes.model_stats_order import search_by_trace_stat, split_order, stat_order
from genver.server.routes.models import order_by_param

#: The versions list's column groups (``columns=``), in table order: URL name, header, and the
#: ``order_by`` field its header sorts by (None: not sortable; git commits are tags, which the
#: store does not order by). ``name`` always shows; ``metrics`` is one column per metric and
#: dataset, each sorted by ``metrics.<key>``.
COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("status", "Status", "status"),
    ("created", "Created", "creation_time"),
    ("git", "Git", None),
    ("traces", "Traces", "traces.count"),
    ("p95", "p95 (ms)", "traces.p95_latency_ms"),
    ("cost", "Cost / request", "traces.cost_per_request"),
    ("errors", "Error rate", "traces.error_rate"),
    ("metrics", "Metrics", None),
)
COLUMN_NAMES = ("name", *(c[0] for c in COLUMNS))
#: The store's order when ``order_by`` is empty (newest first), shown on the Created header.
DEFAULT_ORDER = ("creation_time", False)


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
class Header:
    """A column header: ``href`` sorts by it (the other direction when it is the sorted one),
    ``aria_sort`` is ``ascending``/``descending`` on the sorted one."""

    label: str
    note: str = ""  # a metric's dataset, under its name
    href: str | None = None
    aria_sort: str | None = None


@dataclass(frozen=True, slots=True)
class VersionsView:
    experiment: Experiment
    rows: tuple[VersionRow, ...]
    metric_columns: tuple[MetricColumn, ...]  # empty when the metrics are hidden
    next_page_token: str | None
    shown: frozenset[str]  # the column groups shown besides the name
    columns: str  # the canonical ``columns=`` value ("" for all), carried by every link
    headers: tuple[Header, ...]  # name, then the shown groups' headers in table order
    sorted_by: str  # the current order, in words
    next_href: str | None

    @property
    def column_choices(self) -> tuple[tuple[str, str], ...]:
        """(URL name, label) of each group the Columns form offers."""
        return tuple((name, label) for name, label, _ in COLUMNS)


def parse_columns(values: Sequence[str]) -> frozenset[str]:
    """``["status,traces"]`` or ``["name", "status", "traces"]`` (a form's checkboxes) → the
    groups to show; nothing given → all. An unknown name is an error listing the valid ones."""
    names = [n.strip().lower() for v in values for n in v.split(",") if n.strip()]
    bad = [n for n in names if n not in COLUMN_NAMES]
    if bad:
        raise InvalidArgumentError(
            f"Invalid columns {', '.join(map(repr, bad))}: expected names from "
            f"{', '.join(COLUMN_NAMES)}, separated by commas (name always shows)."
        )
    return frozenset(c[0] for c in COLUMNS) if not names else frozenset(names) - {"name"}


def columns_param(shown: frozenset[str]) -> str:
    """The shortest ``columns=`` value for ``shown``: "" when every group shows."""
    if len(shown) == len(COLUMNS):
        return ""
    return ",".join(c[0] for c in COLUMNS if c[0] in shown) or "name"


def versions_url(
    experiment_id: str, *, filter_string: str, order_by: str, columns: str, page_token: str = ""
) -> str:
    pairs = (
        ("filter", filter_string),
        ("order_by", order_by),
        ("columns", columns),
        ("page_token", page_token),
    )
    return "/versions?" + urlencode([("experiment", experiment_id), *((k, v) for k, v in pairs if v)])


def versions_view(
    client: GenverClient,
    experiment: Experiment,
    *,
    filter_string: str | None,
    order_by: str | None,
    page_token: str | None,
    max_results: int,
    columns: Sequence[str] = (),
) -> VersionsView:
    shown = parse_columns(columns)
    by_stat = stat_order(order_by)
    if by_stat is None:  # the store sorts: one search and one statistics call for the page
        page = client.search_logged_models(
            [experiment.experiment_id],
            filter_string or None,
            None,
            max_results,
            order_by_param(order_by),
            page_token,
        )
        stats: dict[str, TraceStats] = (
            {s.model_id or "": s for s in client.get_trace_stats(model_ids=[m.model_id for m in page])}
            if page
            else {}
        )
    else:
        found = search_by_trace_stat(
            client,
            experiment.experiment_id,
            filter_string=filter_string,
            order=by_stat,
            max_results=max_results,
            page_token=page_token,
        )
        page, stats = found.models, found.stats
    metric_columns = _metric_columns(page) if "metrics" in shown else ()
    rows = tuple(
        VersionRow(
            model=m,
            git=GitState.from_tags(m.tags),
            stats=stats.get(m.model_id),
            metrics=tuple(_metric_cell(m, c) for c in metric_columns),
        )
        for m in page
    )
    link = {"filter_string": filter_string or "", "columns": columns_param(shown)}
    headers, sorted_by = _headers(
        experiment.experiment_id, link, split_order(order_by), shown, metric_columns
    )
    next_href = (
        versions_url(experiment.experiment_id, order_by=order_by or "", page_token=page.token, **link)
        if page.token
        else None
    )
    return VersionsView(
        experiment=experiment,
        rows=rows,
        metric_columns=metric_columns,
        next_page_token=page.token,
        shown=shown,
        columns=link["columns"],
        headers=headers,
        sorted_by=sorted_by,
        next_href=next_href,
    )


def _headers(
    experiment_id: str,
    link: dict[str, str],
    current: tuple[str, bool] | None,
    shown: frozenset[str],
    metric_columns: Sequence[MetricColumn],
) -> tuple[tuple[Header, ...], str]:
    """The headers, each a link sorting by its column (descending first, then toggling), and the
    current order in words."""
    field_name, ascending = current or DEFAULT_ORDER
    wanted: list[tuple[str, str, str | None]] = [("Name", "", "name")]
    wanted += [(label, "", key) for name, label, key in COLUMNS if name in shown and name != "metrics"]
    wanted += [(c.key, c.dataset, "metrics." + c.key) for c in metric_columns]
    headers = []
    for label, note, key in wanted:
        if key is None:
            headers.append(Header(label, note))
            continue
        is_sorted = key == field_name
        order = f"{key} {'ASC' if is_sorted and not ascending else 'DESC'}"
        headers.append(
            Header(
                label,
                note,
                href=versions_url(experiment_id, order_by=order, **link),
                aria_sort=("ascending" if ascending else "descending") if is_sorted else None,
            )
        )
    labels = {"name": "Name", **{key: label for _, label, key in COLUMNS if key}}
    words = f"Sorted by {labels.get(field_name, field_name)}, {'ascending' if ascending else 'descending'}"
    if field_name.startswith(("traces.", "metrics.")):
        words += "; versions without a value last"
    return tuple(headers), words + "."


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


# -- traces ------------------------------------------------------------------------------------------
HOUR_MS = 3_600_000
#: The traces list's time windows (``window=``); empty is all time.
WINDOWS: dict[str, int] = {
    "1h": HOUR_MS,
    "24h": 24 * HOUR_MS,
    "7d": 7 * 24 * HOUR_MS,
    "30d": 30 * 24 * HOUR_MS,
}
#: ``since`` must be a time the page can print (year 1970 to 9999).
MAX_SINCE_MS = 253_402_300_800_000


def check_window(window: str) -> int | None:
    """The window's length in ms, None for all time; an unknown window is an error."""
    if not window:
        return None
    if window not in WINDOWS:
        raise InvalidArgumentError(
            f"Invalid window {window!r}: expected one of {', '.join(WINDOWS)}, or empty for all time."
        )
    return WINDOWS[window]


def check_since(since: str) -> int | None:
    """``since`` (epoch ms, the window's start fixed at the first load) as an int; "" → None."""
    if not since:
        return None
    try:
        value = int(since)
    except ValueError:
        value = -1
    if not 0 <= value < MAX_SINCE_MS or not since.strip().isdigit():
        raise InvalidArgumentError(
            f"Invalid since {since!r}: expected a time in epoch milliseconds, from 0 to {MAX_SINCE_MS - 1}."
        )
    return value


def windowed_filter(filter_string: str, since: int | None) -> str:
    """The trace filter of the list's time window: the user's filter, after ``since`` (ANDed).

    The user's filter is parsed alone first, so an error points into the text they wrote and a
    filter such as ``a = 1) OR (b = 2`` cannot escape its parentheses."""
    if since is None:
        return filter_string
    parse_filter(filter_string, TRACES)
    return f"timestamp_ms >= {since}" + (f" AND ({filter_string})" if filter_string.strip() else "")
