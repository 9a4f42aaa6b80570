#!/usr/bin/env python
"""What a ClickHouse trace store would change (issue 15, item 5), measured with ClickHouse's own
engine in-process (PyPI's ``chdb``) against genver's PostgreSQL store, in the same run, on the
same traces. A script, not a test; it needs a venv with chdb and genver:

    python3 -m venv /work/.venvs/chdb && /work/.venvs/chdb/bin/pip install chdb -e ".[postgres]"
    /work/.venvs/chdb/bin/python bench/bench_clickhouse.py --postgres postgresql://postgres@127.0.0.1:5432/test

Both stores get ``bench_scale``'s traces (6 spans, 1,000 versions, time-ordered ids, 333,000
traces a day with the default ``--days``), written in batches of 1,000, and both start from
genver's own rows (``TraceRows``: validated, JSON-encoded, span payloads deflated as stored):

- PostgreSQL: ``SqlStore.log_traces`` (COPY). CPU is this process's plus the backend's (read from
  ``/proc``), since the database does its part in another process.
- ClickHouse: the same rows as Arrow columns into two ``MergeTree`` tables (traces ordered by
  experiment and time; spans by trace id), ``INSERT ... SELECT * FROM Python(table)``. CPU is this
  process's, engine threads and background merges included (chdb runs inside it).

Then, on each: bytes a span (PostgreSQL: the spans table with indexes and TOAST; ClickHouse: the
spans parts on disk), one version's 100 newest traces' spans (by ``model_id``; the rows as the
engine returns them, and on PostgreSQL also as genver's ``search_traces`` with its decoding), and
every version's statistics over the newest day (count, errors, tokens, cost, exact nearest-rank
p50/p95/p99: ``percentile_disc`` there, ``quantilesExactLow`` here).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import bench_scale as scale
import bench_trace_store as ts
from genver.store.sql.trace_rows import KV_INSERT, SPAN_INSERT, TRACE_INSERT, TraceRows

BATCH = 1000
DAY_MS = 86_400_000

CH_TABLES = """
CREATE TABLE traces (
    trace_id String, experiment_id UInt32, request_time Int64, execution_duration Nullable(Int64),
    state LowCardinality(String), name Nullable(String), request_preview Nullable(String),
    response_preview Nullable(String), client_request_id Nullable(String),
    model_id LowCardinality(Nullable(String)), run_id Nullable(String), session_id Nullable(String),
    user_id Nullable(String), input_tokens Nullable(Int64), output_tokens Nullable(Int64),
    total_tokens Nullable(Int64), cost Nullable(Float64)
) ENGINE = MergeTree ORDER BY (experiment_id, request_time, trace_id);
CREATE TABLE trace_metadata (trace_id String, key LowCardinality(String), value String)
    ENGINE = MergeTree ORDER BY (trace_id, key);
CREATE TABLE spans (
    trace_id String, span_id String, parent_id Nullable(String), name LowCardinality(String),
    span_type LowCardinality(String), status LowCardinality(String), status_message Nullable(String),
    start_time_ns Int64, end_time_ns Nullable(Int64), inputs Nullable(String), outputs Nullable(String),
    attributes Nullable(String), events Nullable(String), payload Nullable(String)
) ENGINE = MergeTree ORDER BY (trace_id, start_time_ns)
"""


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid``."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p50(call: Callable[[], object], repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def batches(total: int) -> Iterator[list[Any]]:
    for start in range(0, total, BATCH):
        yield scale.batch(start, min(BATCH, total - start), total)


# -- PostgreSQL ---------------------------------------------------------------------------------
def run_postgres(uri: str, total: int) -> dict[str, float]:
    dbs = ts.Databases(uri)
    try:
        with dbs.fresh() as store:
            backends: set[int] = set()
            client = backend = wall = 0.0
            for traces in batches(total):
                with store.engine.connect() as conn:  # the pool's connection: its backend pid
                    backends.add(int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()))
                before_b = sum(cpu_of(p) for p in backends)
                c0, w0 = time.process_time(), time.perf_counter()
                store.log_traces(traces)
                client += time.process_time() - c0
                wall += time.perf_counter() - w0
                backend += sum(cpu_of(p) for p in backends) - before_b
            dbs.analyze(store)
            with store.engine.connect() as conn:
                spans_bytes = conn.exec_driver_sql("SELECT pg_total_relation_size('spans')").scalar_one()
                newest = conn.exec_driver_sql("SELECT max(request_time) FROM traces").scalar_one()
            model = scale.VERSIONS[7]
            search = p50(
                lambda: store.search_traces(
                    experiment_ids=["0"],
                    filter_string=f"metadata.`mlflow.modelId` = '{model}'",
                    max_results=100,
                )
            )
            raw_sql = (
                "SELECT * FROM spans WHERE trace_id IN (SELECT trace_id FROM traces WHERE experiment_id = 0 "
                f"AND model_id = '{model}' ORDER BY request_time DESC LIMIT 100)"
            )

            def raw() -> object:
                with store.engine.connect() as conn:
                    return conn.exec_driver_sql(raw_sql).all()

            raw_search = p50(raw)
            stats = p50(lambda: store.trace_stats(start_time=newest - DAY_MS, end_time=newest + 1))
            return {
                "wall_us": wall / total * 1e6,
                "client_cpu_us": client / total * 1e6,
                "db_cpu_us": backend / total * 1e6,
                "bytes_per_span": spans_bytes / (6 * total),
                "search_ms": search,
                "raw_search_ms": raw_search,
                "stats_all_day_ms": stats,
            }
    finally:
        dbs.close()
        with contextlib.suppress(Exception):
            scale.drop_databases(uri, dbs.created)


# -- ClickHouse (chdb) --------------------------------------------------------------------------
def arrow_of(rows: list[tuple[Any, ...]], columns: tuple[str, ...]) -> Any:
    import pyarrow as pa

    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in columns]
    arrays = []
    for name, values in zip(columns, cols, strict=True):
        if name == "payload":  # bytes: ClickHouse String holds them as they are
            arrays.append(pa.array(values, pa.binary()))
        else:
            arrays.append(pa.array(values))
    return pa.Table.from_arrays(arrays, names=list(columns))


def run_clickhouse(total: int) -> dict[str, float]:
    from chdb import session

    with tempfile.TemporaryDirectory() as tmp:
        sess = session.Session(tmp)
        sess.query("CREATE DATABASE IF NOT EXISTS g")
        sess.query("USE g")
        for statement in CH_TABLES.split(";"):
            if statement.strip():
                sess.query(statement)
        cpu = wall = 0.0
        for traces in batches(total):
            c0, w0 = time.process_time(), time.perf_counter()
            rows = TraceRows()
            for trace in traces:
                rows.add(trace.info.trace_id, 0, trace)
            # chdb's Python(name) table function reads these local variables by name.
            t_tbl = arrow_of(rows.traces, TRACE_INSERT)  # noqa: F841
            m_tbl = arrow_of(rows.metadata, KV_INSERT)  # noqa: F841
            s_tbl = arrow_of(rows.spans, SPAN_INSERT)  # noqa: F841
            sess.query("INSERT INTO traces SELECT * FROM Python(t_tbl)")
            sess.query("INSERT INTO trace_metadata SELECT * FROM Python(m_tbl)")
            sess.query("INSERT INTO spans SELECT * FROM Python(s_tbl)")
            cpu += time.process_time() - c0
            wall += time.perf_counter() - w0
        c0 = time.process_time()
        sess.query("OPTIMIZE TABLE spans FINAL")  # the merges a long-running server does in the background
        sess.query("OPTIMIZE TABLE traces FINAL")
        merge_cpu = time.process_time() - c0
        spans_bytes = float(
            sess.query("SELECT sum(bytes_on_disk) FROM system.parts WHERE table = 'spans' AND active", "CSV")
            .bytes()
            .decode()
            .strip()
        )
        newest = int(sess.query("SELECT max(request_time) FROM traces", "CSV").bytes().decode().strip())
        model = scale.VERSIONS[7]
        search_sql = (
            "SELECT * FROM spans WHERE trace_id IN (SELECT trace_id FROM traces WHERE experiment_id = 0 "
            f"AND model_id = '{model}' ORDER BY request_time DESC LIMIT 100) FORMAT JSONCompact"
        )
        stats_sql = (
            "SELECT model_id, count(), countIf(state = 'ERROR'), sum(input_tokens), sum(output_tokens), "
            "sum(total_tokens), sum(cost), quantilesExactLow(0.5, 0.95, 0.99)(execution_duration) "
            f"FROM traces WHERE experiment_id = 0 AND request_time >= {newest - DAY_MS} "
            f"AND request_time <= {newest} GROUP BY model_id FORMAT JSONCompact"
        )
        return {
            "wall_us": wall / total * 1e6,
            "cpu_us": cpu / total * 1e6,
            "merge_cpu_us": merge_cpu / total * 1e6,
            "bytes_per_span": spans_bytes / (6 * total),
            "raw_search_ms": p50(lambda: sess.query(search_sql)),
            "stats_all_day_ms": p50(lambda: sess.query(stats_sql)),
        }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--traces", type=int, default=200_000, help="traces loaded into each store (200,000)")
    p.add_argument(
        "--days", type=int, default=None, help="days the traces spread over (default: 333,000 a day)"
    )
    args = p.parse_args(argv)
    days = args.days or max(1, round(args.traces / 333_000))
    scale.SPAN_DAYS = days
    print(f"{args.traces:,} traces of 6 spans over {days} day(s), load average {os.getloadavg()[0]:.1f}")
    pg = run_postgres(args.postgres, args.traces)
    ch = run_clickhouse(args.traces)
    print(f"{'':28} {'PostgreSQL':>12} {'ClickHouse':>12}")
    print(f"{'write wall, us a trace':28} {pg['wall_us']:12.0f} {ch['wall_us']:12.0f}")
    pg_cpu = pg["client_cpu_us"] + pg["db_cpu_us"]
    print(f"{'write CPU, us a trace':28} {pg_cpu:12.0f} {ch['cpu_us']:12.0f}")
    print(f"{'  of it the database':28} {pg['db_cpu_us']:12.0f} {'(in-process)':>12}")
    print(f"{'merges after, us a trace':28} {'':>12} {ch['merge_cpu_us']:12.0f}")
    print(f"{'bytes a span':28} {pg['bytes_per_span']:12.0f} {ch['bytes_per_span']:12.0f}")
    print(f"{'one version, 100 newest, ms':28} {pg['raw_search_ms']:12.1f} {ch['raw_search_ms']:12.1f}")
    print(f"{'  same, as genver Traces, ms':28} {pg['search_ms']:12.1f} {'(not built)':>12}")
    print(f"{'every version, a day, ms':28} {pg['stats_all_day_ms']:12.1f} {ch['stats_all_day_ms']:12.1f}")
    print(f"load average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
