"""Per-version trace statistics, computed in SQL.

Latency percentiles are nearest-rank on both databases: the value at rank ``ceil(p/100 * n)`` of
a version's ``n`` known durations in ascending order (no interpolation, so always a duration that
was measured). Counts, sums and percentiles read only ``ix_traces_model_duration``, whose
trailing columns cover every column the statistics filter on or add up.

- PostgreSQL: one grouped query; ``percentile_disc`` *is* nearest-rank ("the first value whose
  position in the ordering equals or exceeds the fraction", i.e. ``ceil(p * n)`` in float8, which
  equals the integer ``(100p * n + 99) // 100`` for 0.5, 0.95 and 0.99 at any realistic ``n``).
- SQLite (no ordered-set aggregates): the grouped query, then the percentiles. A version with
  many durations gets one statement picking each rank with ``ORDER BY execution_duration LIMIT 1
  OFFSET rank - 1`` on the same index (window functions ran 3-4x slower on 100,000 traces); the
  versions with at most ``WINDOW_MAX`` durations share one statement numbering them with
  ``row_number()`` (a statement per version would cost more than numbering its few rows).

With ``bucket_ms`` the groups are (version, time bucket): PostgreSQL groups the same query by
both; SQLite numbers each bucket's durations with ``row_number()`` in one statement and keeps the
three ranks. One statement for every bucket, because one ``trace_stats`` call per bucket scans
each version's index entries again: on SQLite with 100,000 traces (10 versions), 24 hourly
buckets of 4 versions took 0.4-0.5 s as 24 calls and 13 ms bucketed; 168 buckets 3.2-3.6 s and
58 ms (PostgreSQL: 104 ms and 9 ms; 391 ms and 26 ms).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genver.entities import TraceState, TraceStats
from genver.store.sql import tables as t

_T = t.traces
PERCENTILES = (50, 95, 99)
#: SQLite: versions with at most this many durations get their percentiles from one windowed
#: statement, the others one ``OFFSET`` statement each. Measured (1,000 versions of 10 traces):
#: the windowed statement costs ~3.5 us per trace, a statement per version ~0.46 ms, so a
#: versions list of 50 went from 23 ms to 3.5 ms and all 1,000 from 2.9 s to 36 ms.
WINDOW_MAX = 200
_BUCKET = "bucket_index"
_MODEL = "model_key"


def nearest_rank(p: int, n: int) -> int:
    """The 1-based rank of the ``p``-th percentile of ``n`` values: ``ceil(p * n / 100)``."""
    return max(1, (p * n + 99) // 100)


def compute_stats(
    conn: Connection,
    *,
    experiment_ids: Sequence[int] | None,
    model_ids: Sequence[str] | None,
    start_time: int | None,
    end_time: int | None,
    bucket_ms: int | None = None,
) -> list[TraceStats]:
    """Statistics per ``model_id`` (None: traces without a version) of the traces in these
    experiments and versions with ``start_time <= request_time < end_time``; with ``bucket_ms``
    (and ``start_time``), per version and bucket ``start_time + k * bucket_ms``."""
    postgres = conn.dialect.name == "postgresql"
    exp_col: Any = _T.c.experiment_id
    time_col: Any = _T.c.request_time
    if not postgres:
        # ``column + 0`` keeps SQLite's planner (no statistics) from choosing
        # ix_traces_experiment_time or ix_traces_model_time and reading every wide row.
        exp_col, time_col = exp_col + 0, time_col + 0
    if postgres and experiment_ids is None and (start_time is not None or end_time is not None):
        # Every experiment by name: a time window is then one range of ix_traces_experiment_time
        # (which carries what statistics read) per experiment, where without it PostgreSQL read
        # the whole table (no index leads with the time).
        experiment_ids = list(conn.execute(sa.select(t.experiments.c.experiment_id)).scalars())
    conds: list[sa.ColumnElement[bool]] = []
    if experiment_ids is not None:
        conds.append(exp_col.in_(experiment_ids))
    if model_ids is not None:
        conds.append(_T.c.model_id.in_(model_ids))
    if start_time is not None:
        conds.append(time_col >= start_time)
    if end_time is not None:
        conds.append(time_col < end_time)
    d = _T.c.execution_duration
    bucket: Any = sa.null()
    origin = start_time or 0
    if bucket_ms is not None:
        bucket = (time_col - origin) // bucket_ms
    model: Any = _T.c.model_id
    if postgres:
        # Grouped in byte order: the groups are the same (the default collation is
        # deterministic), but the sort that forms them no longer compares by locale; a day of
        # 1,000 versions at 10 million traces (333,000 rows sorted) went from ~320 to ~230 ms.
        model = _T.c.model_id.collate("C").label(_MODEL)
    columns: list[Any] = [
        model,
        bucket.label(_BUCKET),
        sa.func.count(),
        sa.func.count(d),
        sa.func.sum(sa.case((_T.c.state == TraceState.ERROR.value, 1), else_=0)),
        sa.func.sum(_T.c.input_tokens),
        sa.func.sum(_T.c.output_tokens),
        sa.func.sum(_T.c.total_tokens),
        sa.func.sum(_T.c.cost),
        sa.func.min(_T.c.request_time),
        sa.func.max(_T.c.request_time),
    ]
    if postgres:
        fractions = sa.literal([p / 100 for p in PERCENTILES], sa.ARRAY(sa.Float))
        columns.append(sa.func.percentile_disc(fractions).within_group(d))
    # GROUP BY output names: PostgreSQL would not match the bucket's expression repeated with its
    # own bound parameters, and reads a bare ``model_id`` as the input column, not the collated one.
    group_model = sa.literal_column(_MODEL) if postgres else _T.c.model_id
    groups = [group_model] if bucket_ms is None else [group_model, sa.literal_column(_BUCKET)]
    rows = conn.execute(sa.select(*columns).where(*conds).group_by(*groups)).all()
    ranked: dict[tuple[str | None, int | None], list[Any]] = {}
    if bucket_ms is not None and not postgres and any(row[3] for row in rows):
        ranked = _bucket_percentiles(conn, bucket, conds)
    elif not postgres:  # versions with few durations: their percentiles in one statement
        few = [row[0] for row in rows if 0 < row[3] <= WINDOW_MAX]
        if few:
            ranked = _bucket_percentiles(conn, sa.null(), [*conds, _one_of(few)])
    out: list[TraceStats] = []
    for row in rows:
        model_id, index, count, known, errors, tin, tout, ttotal, cost, first, last = row[:11]
        if not known:
            latency: Sequence[Any] = (None,) * len(PERCENTILES)
        elif postgres:
            latency = row[11]
        elif (model_id, index) in ranked:
            latency = ranked[(model_id, index)]
        else:
            latency = _percentiles(conn, model_id, known, conds)
        p50, p95, p99 = (None if v is None else float(v) for v in latency)
        stats = TraceStats(
            model_id=model_id,
            trace_count=count,
            error_count=int(errors or 0),
            latency_p50_ms=p50,
            latency_p95_ms=p95,
            latency_p99_ms=p99,
            input_tokens=int(tin or 0),
            output_tokens=int(tout or 0),
            total_tokens=int(ttotal or 0),
            cost=float(cost or 0.0),
            first_trace_time=first,
            last_trace_time=last,
            bucket_start=None if bucket_ms is None else origin + index * bucket_ms,
        )
        out.append(stats)
    return out


def _percentiles(
    conn: Connection, model_id: str | None, n: int, conds: Sequence[sa.ColumnElement[bool]]
) -> Sequence[Any]:
    d = _T.c.execution_duration
    same_model = _T.c.model_id.is_(None) if model_id is None else _T.c.model_id == model_id

    def at(rank: int) -> Any:
        query = sa.select(d).where(same_model, *conds, d.is_not(None)).order_by(d)
        return query.limit(1).offset(rank - 1).scalar_subquery()

    return conn.execute(sa.select(*(at(nearest_rank(p, n)) for p in PERCENTILES))).one()


def _one_of(model_ids: Sequence[str | None]) -> sa.ColumnElement[bool]:
    """``model_id`` is one of ``model_ids`` (None: traces without a version)."""
    named = [m for m in model_ids if m is not None]
    cond = _T.c.model_id.in_(named)
    return sa.or_(cond, _T.c.model_id.is_(None)) if len(named) < len(model_ids) else cond


def _bucket_percentiles(
    conn: Connection, bucket: Any, conds: Sequence[sa.ColumnElement[bool]]
) -> dict[tuple[str | None, int | None], list[Any]]:
    """SQLite: the nearest-rank percentiles of every (version, bucket), in one statement."""
    d = _T.c.execution_duration
    rows = sa.select(_T.c.model_id, bucket.label("b"), d.label("d")).where(*conds, d.is_not(None)).subquery()
    group = [rows.c.model_id, rows.c.b]
    numbered = sa.select(
        rows.c.model_id,
        rows.c.b,
        rows.c.d,
        sa.func.row_number().over(partition_by=group, order_by=rows.c.d).label("rn"),
        sa.func.count().over(partition_by=group).label("n"),
    ).subquery()
    n = numbered.c.n
    wanted = [numbered.c.rn == sa.func.max(1, (p * n + 99) // 100) for p in PERCENTILES]
    query = sa.select(numbered.c.model_id, numbered.c.b, numbered.c.rn, numbered.c.n, numbered.c.d)
    out: dict[tuple[str | None, int | None], list[Any]] = {}
    for model_id, index, rn, count, value in conn.execute(query.where(sa.or_(*wanted))).all():
        found = out.setdefault((model_id, index), [None] * len(PERCENTILES))
        for i, p in enumerate(PERCENTILES):
            if rn == nearest_rank(p, count):
                found[i] = value
    return out


def empty_stats(model_id: str) -> TraceStats:
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
