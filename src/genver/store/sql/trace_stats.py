"""Per-version trace statistics, computed in SQL.

Latency percentiles are nearest-rank on both databases: the value at rank ``ceil(p/100 * n)`` of
a version's ``n`` known durations in ascending order (no interpolation, so always a duration that
was measured). Counts, sums and percentiles read only ``ix_traces_model_duration``, whose
trailing columns cover every column the statistics filter on or add up.

- PostgreSQL: one grouped query; ``percentile_disc`` *is* nearest-rank ("the first value whose
  position in the ordering equals or exceeds the fraction", i.e. ``ceil(p * n)`` in float8, which
  equals the integer ``(100p * n + 99) // 100`` for 0.5, 0.95 and 0.99 at any realistic ``n``).
- SQLite (no ordered-set aggregates): the grouped query, then per version one statement picking
  each rank with ``ORDER BY execution_duration LIMIT 1 OFFSET rank - 1`` on the same index.
  SQLite's window functions would do it in one statement but ran 3-4x slower on 100,000 traces.
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
) -> dict[str | None, TraceStats]:
    """Statistics per ``model_id`` (None: traces without a version) of the traces in these
    experiments and versions with ``start_time <= request_time < end_time``."""
    postgres = conn.dialect.name == "postgresql"
    exp_col: Any = _T.c.experiment_id
    time_col: Any = _T.c.request_time
    if not postgres:
        # ``column + 0`` keeps SQLite's planner (no statistics) from choosing
        # ix_traces_experiment_time or ix_traces_model_time and reading every wide row.
        exp_col, time_col = exp_col + 0, time_col + 0
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
    columns: list[Any] = [
        _T.c.model_id,
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
    out: dict[str | None, TraceStats] = {}
    for row in conn.execute(sa.select(*columns).where(*conds).group_by(_T.c.model_id)).all():
        model_id, count, known, errors, tin, tout, ttotal, cost, first, last = row[:10]
        if not known:
            latency: Sequence[Any] = (None,) * len(PERCENTILES)
        elif postgres:
            latency = row[10]
        else:
            latency = _percentiles(conn, model_id, known, conds)
        p50, p95, p99 = (None if v is None else float(v) for v in latency)
        out[model_id] = TraceStats(
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
        )
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
