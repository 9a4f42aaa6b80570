#!/usr/bin/env python
"""Storage side of traces: ``SqlStore.log_traces`` throughput, ``search_traces`` latency and
``trace_stats`` latency, on SQLite (default) or PostgreSQL. genver only; a script, not a test.

    .venv/bin/python bench/bench_trace_store.py                 # SQLite, ~2 minutes
    .venv/bin/python bench/bench_trace_store.py --quick         # SQLite, ~15 seconds
    .venv/bin/python bench/bench_trace_store.py --postgres postgresql://postgres@127.0.0.1:5432/test

Workloads (every one on a fresh database; on PostgreSQL a throwaway database next to the one
named, dropped at the end, with VACUUM ANALYZE run after loading, as autovacuum would):

- log_traces: N traces of 6 spans each (a root and five children: retriever, LLM, tool, LLM,
  parser), six metadata keys, a tag, token usage and cost, in batches of 100 and of 500.
- search_traces: ``metadata.`mlflow.modelId` = '<one of 10 versions>'``, 100 results with their
  spans (and without), over 10,000 traces.
- trace_stats: per-version statistics over 100,000 traces across 10 versions: all, a time
  window, two versions, one experiment.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from _harness import time_calls
from genver.entities import (
    Span,
    SpanEvent,
    SpanStatus,
    SpanStatusCode,
    TokenUsage,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from genver.entities.trace import MODEL_ID_KEY, SOURCE_RUN_KEY
from genver.store.sql.store import SqlStore

MODELS = [f"m-{i:032x}" for i in range(10)]
RUN = uuid.uuid4().hex
TYPES = ["CHAIN", "RETRIEVER", "LLM", "TOOL", "LLM", "PARSER"]
T0 = 1_700_000_000_000


def make_trace(
    i: int,
    rnd: random.Random,
    *,
    request_time: int | None = None,
    model_id: str | None = None,
    trace_id: str | None = None,
) -> Trace:
    """The ``i``-th trace: version ``i % 10`` (or ``model_id``), request time ``T0 + i`` (or
    ``request_time``, in ms), a random duration."""
    tid = "tr-" + uuid.uuid4().hex if trace_id is None else trace_id
    duration = rnd.randint(50, 5000)
    when = T0 + i if request_time is None else request_time
    start = when * 1_000_000
    spans: list[Span] = []
    for j, span_type in enumerate(TYPES):
        attributes: dict[str, Any] = {"mlflow.spanType": span_type, "mlflow.spanFunctionName": f"fn_{j}"}
        if span_type == "LLM":
            attributes |= {"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 120}
        spans.append(
            Span(
                trace_id=tid,
                span_id=f"{rnd.getrandbits(64):016x}",
                parent_id=None if j == 0 else spans[0].span_id,
                name=f"step_{j}" if j else "answer",
                span_type=span_type,
                start_time_ns=start + j * 1000,
                end_time_ns=start + duration * 1_000_000 - j,
                status=SpanStatus(SpanStatusCode.OK),
                inputs={"question": f"What is item {i}? " + "x" * 150, "k": j},
                outputs={"answer": "y" * 200, "score": 0.5},
                attributes=attributes,
                events=(SpanEvent("retry", start, {"n": 1}),) if j == 3 else (),
            )
        )
    info = TraceInfo(
        trace_id=tid,
        experiment_id="0",
        request_time=when,
        execution_duration=duration,
        state=TraceState.ERROR if rnd.random() < 0.05 else TraceState.OK,
        request_preview='{"question": "What is item ..."}',
        response_preview='{"answer": "yyyy..."}',
        trace_metadata={
            MODEL_ID_KEY: MODELS[i % len(MODELS)] if model_id is None else model_id,
            SOURCE_RUN_KEY: RUN,
            "mlflow.trace_schema.version": "3",
            "mlflow.user": "bench",
            "mlflow.source.name": "bench.py",
            "mlflow.source.type": "LOCAL",
        },
        tags={"mlflow.traceName": "answer"},
        token_usage=TokenUsage(240, 80, 320),
        cost=0.0012,
    )
    return Trace(info, TraceData(spans))


def build(start: int, n: int) -> list[Trace]:
    rnd = random.Random(start)
    return [make_trace(i, rnd) for i in range(start, start + n)]


class Databases:
    """Fresh databases: SQLite files in a temp folder, or throwaway PostgreSQL databases."""

    def __init__(self, postgres: str | None) -> None:
        self.postgres, self.folder = postgres, tempfile.mkdtemp()
        self.created: list[str] = []

    @contextlib.contextmanager
    def fresh(self) -> Iterator[SqlStore]:
        name = f"bench_traces_{uuid.uuid4().hex[:10]}"
        if self.postgres is None:
            store = SqlStore(f"sqlite:///{self.folder}/{name}.db")
        else:
            import psycopg
            import sqlalchemy as sa

            with psycopg.connect(self.postgres, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            self.created.append(name)
            url = sa.engine.make_url(self.postgres).set(database=name)
            store = SqlStore(url.render_as_string(hide_password=False))
        try:
            yield store
        finally:
            store.close()

    def analyze(self, store: SqlStore) -> None:
        if self.postgres is not None:  # what autovacuum does after a bulk load
            with store.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.created:
            import psycopg

            with psycopg.connect(self.postgres or "", autocommit=True) as conn:
                for name in self.created:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def log_all(store: SqlStore, traces: list[Trace], batch: int) -> float:
    started = time.perf_counter()
    for i in range(0, len(traces), batch):
        store.log_traces(traces[i : i + batch])
    return time.perf_counter() - started


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, min) in ms over ``repeat`` calls, after two warm-up calls."""
    times = time_calls(fn, repeat, warmup=2)
    return statistics.median(times) * 1e3, min(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", metavar="URI", help="a PostgreSQL server (default: SQLite files)")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    args = parser.parse_args()
    n_log, n_search, n_stats, repeat = (
        (2_000, 2_000, 10_000, 20) if args.quick else (10_000, 10_000, 100_000, 100)
    )
    dbs = Databases(args.postgres)
    print(f"backend: {'postgresql' if args.postgres else 'sqlite'}")
    try:
        traces = build(0, n_log)
        for batch in (100, 500):
            with dbs.fresh() as store:
                seconds = log_all(store, traces, batch)
            print(
                f"log_traces, batches of {batch}: {n_log / seconds:,.0f} traces/s ({n_log} traces x 6 spans)"
            )

        with dbs.fresh() as store:
            log_all(store, build(0, n_search), 500)
            dbs.analyze(store)
            model = MODELS[3]
            found = store.search_traces(
                experiment_ids=["0"], filter_string=f"model_id = '{model}'", max_results=100
            )
            assert len(found) == 100 and all(len(t.data.spans) == 6 for t in found)
            query = f"metadata.`mlflow.modelId` = '{model}'"
            for label, spans in (("with spans", True), ("without spans", False)):

                def search(spans: bool = spans) -> object:
                    return store.search_traces(
                        experiment_ids=["0"], filter_string=query, max_results=100, include_spans=spans
                    )

                median, best = timed(search, repeat)
                print(
                    f"search_traces(model_id) over {n_search:,} traces, 100 results {label}: "
                    f"median {median:.2f} ms, min {best:.2f} ms"
                )

        with dbs.fresh() as store:
            for start in range(0, n_stats, 10_000):
                log_all(store, build(start, min(10_000, n_stats - start)), 1000)
            dbs.analyze(store)
            mid = T0 + n_stats // 2
            windows: list[tuple[str, dict[str, Any]]] = [
                ("all", {}),
                ("half the time", {"start_time": mid - n_stats // 4, "end_time": mid + n_stats // 4}),
                ("two versions", {"model_ids": MODELS[:2]}),
                ("one experiment", {"experiment_ids": ["0"]}),
            ]
            for label, kwargs in windows:

                def stats(kwargs: dict[str, Any] = kwargs) -> object:
                    return store.trace_stats(**kwargs)

                median, best = timed(stats, max(5, repeat // 10))
                print(
                    f"trace_stats over {n_stats:,} traces, 10 versions ({label}): "
                    f"median {median:.1f} ms, min {best:.1f} ms"
                )
    finally:
        dbs.close()


if __name__ == "__main__":
    main()
