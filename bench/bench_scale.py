#!/usr/bin/env python
"""How the trace store holds up as it grows (issue 15, item 2): ingest rate, bytes per span and
read latencies measured at checkpoints while one store is loaded to N traces. genver only; a
script, not a test.

    .venv/bin/python bench/bench_scale.py --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/bench_scale.py --postgres ... --traces 1000000 --every 100000
    .venv/bin/python bench/bench_scale.py --quick            # SQLite, 20,000 traces, a smoke run

The store is new (a throwaway PostgreSQL database next to the one named, dropped at the end
unless ``--keep``; or a SQLite file in a temp folder). Traces are ``bench_trace_store``'s: 6 spans
(a root and five children), six metadata keys, a tag, token usage and cost, 5 % errors; here
spread over 1,000 versions and over 30 days of request times (the newest last, as production
traffic arrives). They are written with ``SqlStore.log_traces`` in batches of 1,000; building a
batch is not timed, writing it is.

At each checkpoint (every ``--every`` traces):

- ingest: traces/s and spans/s of the segment since the last checkpoint;
- size: the spans table with its indexes and TOAST, per span; the traces table likewise, per
  trace (PostgreSQL: ``pg_total_relation_size``; SQLite: the file, per span);
- ``search_traces`` for one version (``metadata.`mlflow.modelId` = ...``), the 100 newest with
  their spans: p50/p95 over 20 versions;
- ``trace_stats`` for one version over the last day, and for every version over the last day:
  p50/p95 over 5 calls.

The goals the issue sets (at 1 million traces and beyond): search p95 ≤ 50 ms, one version's
day ≤ 200 ms, every version ≤ 1 s, the last segment's ingest within 80 % of the first.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa

import bench_trace_store as ts
from _harness import fmt, print_table
from genver.store.sql.store import SqlStore

VERSIONS = [f"m-{i:032x}" for i in range(1000)]
DAY_MS = 86_400_000
SPAN_DAYS = 30
BATCH = 1000


def time_ordered_id(when_ms: int, rnd: random.Random) -> str:
    """A trace id whose first 48 bits are its start time in ms and the other 80 random (as AWS
    X-Ray's and UUIDv7's are): ids made in time order sort in time order."""
    return f"tr-{(when_ms << 80) | rnd.getrandbits(80):032x}"


def batch(start: int, n: int, total: int, ids: str = "random") -> list[Any]:
    """Traces ``start``..``start + n`` of ``total``, request times spread over ``SPAN_DAYS``;
    ``ids`` is ``random`` (OpenTelemetry's default) or ``time`` (time-ordered)."""
    step = SPAN_DAYS * DAY_MS // max(total, 1)
    rnd = random.Random(start)
    out = []
    for i in range(start, start + n):
        when = ts.T0 + i * step
        tid = time_ordered_id(when, rnd) if ids == "time" else None
        trace = ts.make_trace(i, rnd, request_time=when, model_id=VERSIONS[i % len(VERSIONS)], trace_id=tid)
        out.append(trace)
    return out


def timed(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    """p50 and p95 of ``repeat`` calls, in ms."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def sizes(store: SqlStore, path: str | None) -> dict[str, float]:
    if path is not None:
        return {"file_bytes": float(os.path.getsize(path))}
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT pg_total_relation_size('spans'), pg_relation_size('spans'), "
                "pg_indexes_size('spans'), pg_total_relation_size('traces'), "
                "(SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "WHERE c.relname IN ('trace_metadata', 'trace_tags'))"
            )
        ).one()
    keys = ("spans_total", "spans_heap", "spans_indexes", "traces_total", "trace_side_tables")
    return {k: float(v or 0) for k, v in zip(keys, row, strict=True)}


def checkpoint(store: SqlStore, loaded: int, total: int, rnd: random.Random) -> dict[str, Any]:
    step = SPAN_DAYS * DAY_MS // max(total, 1)
    newest = ts.T0 + (loaded - 1) * step
    versions = rnd.sample(VERSIONS, 20)
    it = iter(versions * 2)

    def search() -> object:
        return store.search_traces(
            experiment_ids=["0"],
            filter_string=f"metadata.`mlflow.modelId` = '{next(it)}'",
            max_results=100,
            include_spans=True,
        )

    out: dict[str, Any] = {"search": timed(search, len(versions))}
    day = {"start_time": newest - DAY_MS, "end_time": newest + 1}
    one = versions[0]
    out["stats_one_day"] = timed(lambda: store.trace_stats(model_ids=[one], **day), 5)
    out["stats_all_day"] = timed(lambda: store.trace_stats(**day), 5)
    return out


@contextlib.contextmanager
def fresh_store(postgres: str | None, keep: bool) -> Iterator[tuple[SqlStore, str | None]]:
    dbs = ts.Databases(postgres)
    try:
        with dbs.fresh() as store:
            path = None if postgres else store.engine.url.database
            yield store, path
    finally:
        if not keep:
            dbs.close()
            with contextlib.suppress(Exception):
                drop_databases(postgres, dbs.created)


def drop_databases(postgres: str | None, names: list[str]) -> None:
    if postgres is None:
        return
    import psycopg

    with psycopg.connect(postgres, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--postgres", help="a PostgreSQL URI: a throwaway database is created next to it")
    p.add_argument("--traces", type=int, default=300_000, help="traces to load (default 300,000)")
    p.add_argument("--every", type=int, default=50_000, help="traces between checkpoints")
    p.add_argument("--quick", action="store_true", help="20,000 traces, checkpoints every 5,000")
    p.add_argument(
        "--trace-ids",
        choices=["random", "time"],
        default="random",
        help="random ids (OpenTelemetry's default) or time-ordered ones (48-bit ms prefix)",
    )
    p.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    p.add_argument("--json", metavar="PATH", help="write the checkpoints as JSON")
    args = p.parse_args(argv)
    total, every = (20_000, 5_000) if args.quick else (args.traces, args.every)
    rnd = random.Random(7)
    rows: list[dict[str, Any]] = []
    began = time.time()
    load_before = os.getloadavg()[0]
    with fresh_store(args.postgres, args.keep) as (store, path):
        print(
            f"store: {store.engine.url.render_as_string(hide_password=True)}; {total:,} traces, 6 spans each"
        )
        loaded, segment_s, segment_n = 0, 0.0, 0
        while loaded < total:
            n = min(BATCH, total - loaded)
            traces = batch(loaded, n, total, args.trace_ids)
            start = time.perf_counter()
            store.log_traces(traces)
            segment_s += time.perf_counter() - start
            loaded += n
            segment_n += n
            if loaded % every == 0 or loaded == total:
                if args.postgres:
                    with store.engine.connect() as conn:  # what autovacuum would have done by now
                        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
                row = {
                    "traces": loaded,
                    "traces_per_s": segment_n / segment_s,
                    "spans_per_s": 6 * segment_n / segment_s,
                    **sizes(store, path),
                    **checkpoint(store, loaded, total, rnd),
                    "load": os.getloadavg()[0],
                }
                rows.append(row)
                print(
                    f"{loaded:>10,} traces: {row['traces_per_s']:,.0f} traces/s, "
                    f"search p95 {row['search'][1]:.1f} ms, stats one/all {row['stats_one_day'][1]:.0f}/"
                    f"{row['stats_all_day'][1]:.0f} ms",
                    flush=True,
                )
                segment_s, segment_n = 0.0, 0
    per_span = "spans_total" if args.postgres else "file_bytes"
    table = [
        [
            f"{r['traces']:,}",
            fmt(r["traces_per_s"]),
            fmt(r["spans_per_s"]),
            fmt(r[per_span] / (6 * r["traces"])),
            *(f"{r[k][0]:.1f} / {r[k][1]:.1f}" for k in ("search", "stats_one_day", "stats_all_day")),
            f"{r['load']:.1f}",
        ]
        for r in rows
    ]
    print()
    print_table(
        [
            [
                "traces",
                "traces/s",
                "spans/s",
                "bytes/span" if args.postgres else "file bytes/span",
                "search p50/p95 ms",
                "stats 1 version, day",
                "stats all, day",
                "load",
            ],
            *table,
        ]
    )
    first, last = rows[0]["traces_per_s"], rows[-1]["traces_per_s"]
    print(f"last segment's ingest / first: {last / first:.0%} (goal >= 80%)")
    print(f"total {time.time() - began:,.0f} s; load average {load_before:.1f} before")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
