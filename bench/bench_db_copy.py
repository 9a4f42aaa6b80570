#!/usr/bin/env python
"""``genver db copy`` throughput: a SQLite store of traces of 6 spans copied into PostgreSQL.
genver only; a script, not a test.

    .venv/bin/python bench/bench_db_copy.py                        # 50,000 traces, ~1 minute
    .venv/bin/python bench/bench_db_copy.py --full                 # 100,000 traces (the issue's size)
    .venv/bin/python bench/bench_db_copy.py --inserts both         # also PostgreSQL executemany
    .venv/bin/python bench/bench_db_copy.py --quick                # 1,000 traces, a smoke run

The source is built once, untimed: N traces of bench_trace_store.py (6 spans, 6 metadata keys, a
tag, tokens and cost; 10 versions, 5 % errors), plus 10 versions with params, tags and metrics
and an evaluation run with feedback on 1 % of the traces, so every kind of table has rows. Each
copy goes into a new throwaway database next to ``--postgres`` (dropped at the end) through
``genver.store.sql.copy.copy_store``, as ``genver db copy`` runs it; the copy phase (read,
write, commit each batch with its resume marker) and the verification (both sides read again
and hashed) are timed apart from the progress callback. ``--inserts executemany`` writes
PostgreSQL batches with psycopg's pipelined ``executemany`` instead of ``COPY FROM STDIN``, to
show what ``COPY`` pays.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

import bench_trace_store as traces_bench
from genver.entities import Assessment, Metric
from genver.entities.retention import EVALUATION_RUN_TAG, EVALUATION_RUN_TYPE
from genver.store.sql import tables
from genver.store.sql.copy import Progress, copy_store
from genver.store.sql.copy_rows import TableCopy
from genver.store.sql.store import SqlStore

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def build_source(path: str, n: int) -> dict[str, int]:
    """The SQLite store to copy; returns its row count per table."""
    store = SqlStore(f"sqlite:///{path}")
    try:
        models = []
        for i in range(10):
            m = store.create_logged_model(
                experiment_id="0", name=f"bot-v{i}", params={"llm": "gpt-4o", "k": str(i)}, tags={"team": "x"}
            )
            models.append(m.model_id)
        run = store.create_run(experiment_id="0", tags={EVALUATION_RUN_TAG: EVALUATION_RUN_TYPE})
        metrics = [
            Metric(key="exact_match/mean", value=0.5 + i / 100, timestamp=i, model_id=m)
            for i, m in enumerate(models)
        ]
        store.log_batch(run.info.run_id, metrics=metrics)
        traces_bench.MODELS[:] = models  # the traces link to these versions
        for start in range(0, n, 10_000):
            batch = traces_bench.build(start, min(10_000, n - start))
            for i in range(0, len(batch), 1_000):
                store.log_traces(batch[i : i + 1_000])
            scored = batch[::100]
            store.log_assessments(
                [
                    Assessment(
                        assessment_id="a-" + uuid.uuid4().hex,
                        trace_id=t.info.trace_id,
                        name="correct",
                        kind="feedback",
                        value=random.random() < 0.5,
                        run_id=run.info.run_id,
                        create_time_ms=1,
                    )
                    for t in scored
                ]
            )
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        return {
            t.name: conn.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0]
            for t in tables.metadata.sorted_tables
        }


@contextmanager
def throwaway_database(base: str) -> Iterator[str]:
    import psycopg

    name = f"bench_copy_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def executemany_inserts() -> Iterator[None]:
    """PostgreSQL batches through psycopg's executemany (pipelined) instead of COPY."""
    real = TableCopy.write

    def write(self: TableCopy, conn: sa.Connection, rows: Any) -> None:
        if conn.dialect.name != "postgresql" or not rows:
            real(self, conn, rows)
            return
        q = conn.dialect.identifier_preparer.quote
        json_cols = {c.name for c in self.table.columns if isinstance(c.type, sa.JSON)}
        marks = ", ".join("CAST(%s AS JSON)" if c in json_cols else "%s" for c in self.columns)
        sql = f"INSERT INTO {q(self.name)} ({', '.join(q(c) for c in self.columns)}) VALUES ({marks})"
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()

    TableCopy.write = write  # type: ignore[method-assign]
    try:
        yield
    finally:
        TableCopy.write = real  # type: ignore[method-assign]


def timed_copy(src: str, dst: str, batch: int) -> dict[str, Any]:
    marks: dict[str, float] = {}
    started = time.perf_counter()

    def progress(p: Progress) -> None:
        if p.phase == "verify" and "verify" not in marks:
            marks["verify"] = time.perf_counter()

    report = copy_store(src, dst, batch_rows=batch, progress=progress)
    ended = time.perf_counter()
    assert report.ok, [t.name for t in report.mismatched]
    # the verify mark is taken after the first table is hashed: small (datasets), so close enough
    copy_s = marks["verify"] - started
    return {
        "rows": report.copied_rows,
        "copy_s": copy_s,
        "verify_s": ended - marks["verify"],
        "total_s": ended - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--postgres", metavar="URI", default=DEFAULT_PG, help=f"a PostgreSQL server (default {DEFAULT_PG})"
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="100,000 traces (the issue's size)")
    size.add_argument("--quick", action="store_true", help="1,000 traces, a smoke run")
    size.add_argument("--traces", type=int, help="this many traces (default 50,000)")
    parser.add_argument("--batch-size", type=int, default=5_000, help="rows per transaction (default 5,000)")
    parser.add_argument("--inserts", choices=["copy", "executemany", "both"], default="copy")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    n = args.traces or (100_000 if args.full else 1_000 if args.quick else 50_000)

    folder = tempfile.mkdtemp(prefix="bench_copy_")
    results: dict[str, Any] = {"traces": n, "batch_size": args.batch_size, "machine": platform.platform()}
    try:
        src_path = os.path.join(folder, "source.db")
        began = time.perf_counter()
        counts = build_source(src_path, n)
        rows = sum(counts.values())
        results |= {"rows": rows, "counts": counts, "source_mb": round(os.path.getsize(src_path) / 1e6, 1)}
        print(
            f"source: {n:,} traces x 6 spans, {rows:,} rows in {len(counts)} tables, "
            f"{results['source_mb']} MB SQLite (built in {time.perf_counter() - began:.0f} s, untimed)"
        )
        kinds = ["copy", "executemany"] if args.inserts == "both" else [args.inserts]
        for kind in kinds:
            with throwaway_database(args.postgres) as dst:
                if kind == "executemany":
                    with executemany_inserts():
                        figures = timed_copy(f"sqlite:///{src_path}", dst, args.batch_size)
                else:
                    figures = timed_copy(f"sqlite:///{src_path}", dst, args.batch_size)
            results[kind] = figures
            print(
                f"SQLite -> PostgreSQL ({'COPY' if kind == 'copy' else 'executemany'}): "
                f"copy {figures['copy_s']:.1f} s = {figures['rows'] / figures['copy_s']:,.0f} rows/s "
                f"({n / figures['copy_s']:,.0f} traces/s); verify {figures['verify_s']:.1f} s "
                f"({2 * figures['rows'] / figures['verify_s']:,.0f} rows/s hashed, both sides); "
                f"total {figures['total_s']:.1f} s = {figures['rows'] / figures['total_s']:,.0f} rows/s"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
