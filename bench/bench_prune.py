#!/usr/bin/env python
"""``SqlStore.prune_traces`` while an app keeps logging: how fast old traces go, and what the
prune costs ingest meanwhile. genver only; a script, not a test.

    .venv/bin/python bench/bench_prune.py                  # SQLite, 30,000 traces, ~1 minute
    .venv/bin/python bench/bench_prune.py --postgres postgresql://postgres@127.0.0.1:5432/postgres

N old traces of bench_trace_store.py (6 spans each) are logged untimed; then one thread prunes
every trace older than a day (500 per transaction, as ``genver traces prune`` and the server do)
while another logs one trace every 50 ms and times each ``log_traces`` call. PostgreSQL runs in a
throwaway database next to the one named, dropped at the end.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
import uuid

import sqlalchemy as sa

import bench_trace_store as traces_bench
from genver.entities.retention import RetentionPolicy
from genver.store.sql.store import SqlStore


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", metavar="URI", help="a PostgreSQL server (default: a SQLite file)")
    parser.add_argument("--traces", type=int, default=30_000, help="old traces to prune (default 30,000)")
    parser.add_argument("--batch-size", type=int, help="traces per transaction (default: the store's)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench_prune_")
    name = f"bench_prune_{uuid.uuid4().hex[:10]}"
    if args.postgres:
        import psycopg

        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        uri = sa.engine.make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    else:
        uri = f"sqlite:///{folder}/prune.db"
    store = SqlStore(uri)
    try:
        for start in range(0, args.traces, 10_000):
            batch = traces_bench.build(start, min(10_000, args.traces - start))
            for i in range(0, len(batch), 1_000):
                store.log_traces(batch[i : i + 1_000])
        latencies: list[float] = []
        stop = threading.Event()
        ids = iter(
            range(10**9, 2 * 10**9)
        )  # ids of their own; old request times too, so the prune meets them

        def ingest() -> None:
            while not stop.is_set():
                trace = traces_bench.build(next(ids), 1)
                began = time.perf_counter()
                store.log_traces(trace)
                latencies.append(time.perf_counter() - began)
                time.sleep(0.05)

        baseline = threading.Thread(target=ingest)  # the same logging with no prune, for reference
        baseline.start()
        time.sleep(5)
        stop.set()
        baseline.join()
        print(f"{store.dialect}: log_traces alone: {_percentiles(latencies)}")
        latencies.clear()
        stop.clear()
        writer = threading.Thread(target=ingest)
        writer.start()
        began = time.perf_counter()
        sized = {} if args.batch_size is None else {"batch_size": args.batch_size}
        result = store.prune_traces(RetentionPolicy(older_than_ms=86_400_000), **sized)
        seconds = time.perf_counter() - began
        stop.set()
        writer.join()
        print(
            f"{store.dialect}: pruned {result.deleted:,} traces of 6 spans in {seconds:.1f} s "
            f"({result.deleted / seconds:,.0f} traces/s, {result.batches} batches); log_traces "
            f"meanwhile: {_percentiles(latencies)}"
        )
    finally:
        store.close()
        shutil.rmtree(folder, ignore_errors=True)
        if args.postgres:
            import psycopg

            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _percentiles(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p50, p99 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)]
    return f"{len(ordered)} calls, p50 {p50 * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms, max {ordered[-1] * 1e3:.0f} ms"


if __name__ == "__main__":
    main()
