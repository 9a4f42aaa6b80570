"""Versions sorted by a trace statistic: a genver extension of ``GET /api/v1/models``'s
``order_by``, shared by that route and the web UI's versions list (its twin), so both list the
same ids in the same order.

Order keys (``"<key> [ASC|DESC]"``, ascending when no direction is given):

- ``traces.count``: number of traces linked to the version;
- ``traces.p95_latency_ms``: 95th-percentile trace latency in ms (nearest rank);
- ``traces.cost_per_request``: mean cost of a trace;
- ``traces.error_rate``: share of traces in state ERROR, 0 to 1.

The store cannot order versions by these, so this module reads every version the filter matches
(at most :data:`MAX_SORTED_VERSIONS`), their statistics in one call, sorts in Python and pages
with an offset token in the stores' own format. Versions without a value (no traces; for the
p95, no trace with a duration) come last in both directions; ties keep the store's default
order (creation time descending, then model id), since the versions are read in that order and
the sort is stable.

The statistics come from one ``get_trace_stats`` call for every id: on SQLite the percentiles of
versions with few traces are one windowed statement (``store/sql/trace_stats.WINDOW_MAX``; a
statement per version made 10,000 ids take 509 s, now under a second). Reading 10,000 versions
in pages of 5,000 took 0.3 s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from genver.client import GenverClient
from genver.entities import LoggedModel, PagedList, TraceStats
from genver.exceptions import InvalidArgumentError
from genver.store.paging import check_max_results, decode_token, encode_token

#: Each order key and how it reads a version's statistics (None: no value, sorted last).
STAT_ORDER_KEYS: dict[str, Callable[[TraceStats], float | None]] = {
    "traces.count": lambda s: s.trace_count or None,
    "traces.p95_latency_ms": lambda s: s.latency_p95_ms if s.trace_count else None,
    "traces.cost_per_request": lambda s: s.cost_per_request if s.trace_count else None,
    "traces.error_rate": lambda s: s.error_rate if s.trace_count else None,
}
#: Sorting reads every matching version; past this many, narrowing the filter is the answer.
MAX_SORTED_VERSIONS = 10_000
#: Versions are read in pages of this size (5,000 read 10,000 versions 3.6x faster than 1,000).
READ_PAGE_SIZE = 5_000
_PREFIX = "traces."


@dataclass(frozen=True, slots=True)
class StatOrder:
    """A parsed order key: one of :data:`STAT_ORDER_KEYS` and a direction."""

    key: str
    ascending: bool

    def __str__(self) -> str:
        return f"{self.key} {'ASC' if self.ascending else 'DESC'}"


@dataclass(frozen=True, slots=True)
class StatSortedPage:
    """One page of versions in statistic order, and the statistics of those versions (every
    one of them, with zero traces where none are linked), so a page need not ask again."""

    models: PagedList[LoggedModel]
    stats: dict[str, TraceStats]


def split_order(text: str | None) -> tuple[str, bool] | None:
    """``"metrics.exact/mean DESC"`` → ``("metrics.exact/mean", False)``; blank → None. Without a
    trailing ``ASC``/``DESC`` the whole text is the field, ascending."""
    if text is None or not text.strip():
        return None
    field_name, _, direction = text.strip().rpartition(" ")
    if direction.upper() not in ("ASC", "DESC") or not field_name.strip():
        return text.strip(), True
    return field_name.strip(), direction.upper() == "ASC"


def stat_order(text: str | None) -> StatOrder | None:
    """The statistic ``text`` orders by, or None when it orders by something the store sorts
    (``name``, ``metrics.x`` ...). A ``traces.`` field that is not an order key is an error.

    >>> stat_order("traces.p95_latency_ms DESC")
    StatOrder(key='traces.p95_latency_ms', ascending=False)
    """
    split = split_order(text)
    if split is None or not split[0].lower().startswith(_PREFIX):
        return None
    field_name, ascending = split
    if field_name not in STAT_ORDER_KEYS:
        raise InvalidArgumentError(
            f"Invalid order_by {text!r}: {field_name!r} is not a trace statistic; expected one of "
            f"{', '.join(STAT_ORDER_KEYS)}, optionally followed by ASC or DESC."
        )
    return StatOrder(field_name, ascending)


def search_by_trace_stat(
    client: GenverClient,
    experiment_id: str,
    *,
    filter_string: str | None,
    order: StatOrder,
    max_results: int,
    page_token: str | None,
) -> StatSortedPage:
    """One page of the experiment's versions matching ``filter_string``, in ``order``.

    >>> search_by_trace_stat(client, "0", filter_string=None, order=StatOrder("traces.count", False),
    ...                      max_results=50, page_token=None)  # doctest: +SKIP
    """
    check_max_results(max_results)
    offset = decode_token(page_token)
    models = _every_version(client, experiment_id, filter_string, order)
    stats = _stats(client, [m.model_id for m in models])
    value = STAT_ORDER_KEYS[order.key]
    valued = [(v, m) for m in models if (v := value(stats[m.model_id])) is not None]
    valued.sort(key=lambda pair: pair[0], reverse=not order.ascending)  # stable, also reversed
    ordered = [m for _, m in valued] + [m for m in models if value(stats[m.model_id]) is None]
    chosen = ordered[offset : offset + max_results]
    token = encode_token(offset + max_results) if offset + max_results < len(ordered) else None
    return StatSortedPage(PagedList(chosen, token), {m.model_id: stats[m.model_id] for m in chosen})


def _every_version(
    client: GenverClient, experiment_id: str, filter_string: str | None, order: StatOrder
) -> list[LoggedModel]:
    """Every matching version in the store's default order, or an error past the cap."""
    found: list[LoggedModel] = []
    token: str | None = None
    while True:
        page = client.search_logged_models(
            [experiment_id],
            filter_string or None,
            None,
            min(READ_PAGE_SIZE, MAX_SORTED_VERSIONS + 1 - len(found)),
            None,
            token,
        )
        found.extend(page)
        token = page.token
        if len(found) > MAX_SORTED_VERSIONS:
            raise InvalidArgumentError(
                f"Sorting by {order.key!r} reads every matching version, and more than "
                f"{MAX_SORTED_VERSIONS:,} versions match: narrow the filter to at most "
                f"{MAX_SORTED_VERSIONS:,} versions, or sort by name, creation_time or a metric."
            )
        if not token:
            return found


def _stats(client: GenverClient, model_ids: Sequence[str]) -> dict[str, TraceStats]:
    """Each version's statistics over all time, in one call (see the module docstring)."""
    if not model_ids:
        return {}
    stats = {s.model_id: s for s in client.get_trace_stats(model_ids=list(model_ids)) if s.model_id}
    return {m: stats.get(m) or _no_traces(m) for m in model_ids}


def _no_traces(model_id: str) -> TraceStats:
    return TraceStats(
        model_id=model_id,
        trace_count=0,
        error_count=0,
        latency_p50_ms=None,
        latency_p95_ms=None,
        latency_p99_ms=None,
        input_tokens=0,
        output_tokens=0,
        total_tokens=0,
        cost=0.0,
    )
