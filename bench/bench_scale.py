#!/usr/bin/env python
"""How the trace store holds up as it grows (issue 15, item 2): ingest rate, bytes per span and
read latencies measured at checkpoints while one store is loaded to N traces. genver only; a
script, not a test.

    .venv/bin/python bench/bench_scale.py --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/bench_scale.py --postgres ... --traces 1000000 --every 100000
    .venv/bin/python bench/bench_scale.py --quick            # SQLite, 20,000 traces, a smoke run
    .venv/bin/python bench/bench_scale.py --via server --postgres ... --traces 5000000 --every 250000
    .venv/bin/python bench/bench_scale.py --plot-only defaults=a.json tuned=b.json --plot scale.png

The store is new (a throwaway PostgreSQL database next to the one named, dropped at the end
unless ``--keep``; or a SQLite file in a temp folder). Traces are ``bench_trace_store``'s: 6 spans
(a root and five children), six metadata keys, a tag, token usage and cost, 5 % errors; here
spread over 1,000 versions and over 30 days (``--days``) of request times (the newest last, as production
traffic arrives). Trace ids are time-ordered, as genver makes them (``--trace-ids random`` for
other SDKs' ids); ``--payload prose`` replaces the inputs and outputs (mostly one repeated letter)
with prose of the same length, which compresses like English.

- ``--via store`` (default): written with ``SqlStore.log_traces`` in batches of 1,000; building a
  batch is not timed, writing it is.
- ``--via server``: two ``genver server`` replicas on the store, loaded by two client processes
  that alternate OTLP/HTTP protobuf requests and genver's REST client, 100 traces a request
  (``_scale_server.py``). The rate is wall time with the clients running on the same cores; the
  CPU they used is reported beside it ("client cores").

At each checkpoint (every ``--every`` traces):

- ingest: traces/s and spans/s of the segment since the last checkpoint;
- size: the spans table with its indexes and TOAST, per span; the traces table likewise, per
  trace (PostgreSQL: ``pg_total_relation_size``; SQLite: the file, per span);
- ``search_traces`` for one version (``metadata.`mlflow.modelId` = ...``), the 100 newest with
  their spans: p50/p95 over 20 versions;
- ``trace_stats`` for one version over the last day, and for every version over the last day:
  p50/p95 over 5 calls.

The goals the issue sets (at 1 million traces and beyond): search p95 ≤ 50 ms, one version's
day ≤ 200 ms, every version ≤ 1 s, ingest ≥ 20,000 spans/s through the server with the last
segment within 80 % of the first. ``--plot`` draws ingest and p95 latencies against N (PNG,
matplotlib: ``pip install -e ".[bench]"``); the run fails unless every trace was stored.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa

import _scale_server as server
import bench_trace_store as ts
from _harness import fmt, print_table
from genver.store.sql.store import SqlStore

VERSIONS = [f"m-{i:032x}" for i in range(1000)]
DAY_MS = 86_400_000
#: Days the request times spread over (``--days``; an environment variable so that the client
#: processes of ``--via server``, which import this module afresh, spread theirs alike).
SPAN_DAYS = int(os.environ.get("GENVER_BENCH_SCALE_DAYS", "30"))
BATCH = 1000


def time_ordered_id(when_ms: int, rnd: random.Random) -> str:
    """A trace id whose first 48 bits are its start time in ms and the other 80 random (as AWS
    X-Ray's and UUIDv7's are): ids made in time order sort in time order."""
    return f"tr-{(when_ms << 80) | rnd.getrandbits(80):032x}"


def batch(
    start: int, n: int, total: int, ids: str = "time", versions: list[str] = VERSIONS, payload: str = "repeat"
) -> list[Any]:
    """Traces ``start``..``start + n`` of ``total``, request times spread over ``SPAN_DAYS``;
    ``ids`` is ``time`` (time-ordered, as genver makes them) or ``random`` (as most SDKs do);
    ``payload`` is ``repeat`` (``bench_trace_store``'s inputs and outputs, mostly one repeated
    letter) or ``prose`` (words drawn from a 200-word vocabulary: compresses like English)."""
    step = SPAN_DAYS * DAY_MS // max(total, 1)
    rnd = random.Random(start)
    out = []
    for i in range(start, start + n):
        when = ts.T0 + i * step
        tid = time_ordered_id(when, rnd) if ids == "time" else None
        trace = ts.make_trace(i, rnd, request_time=when, model_id=versions[i % len(versions)], trace_id=tid)
        if payload == "prose":
            trace = with_prose(trace, random.Random(i))
        out.append(trace)
    return out


_VOCABULARY = (
    "the of and to in is you that it he was for on are as with his they at be this have from or one "
    "had by word but not what all were we when your can said there use an each which she do how their "
    "if will up other about out many then them these so some her would make like him into time has "
    "look two more write go see number no way could people my than first water been call who oil its "
    "now find long down day did get come made may part refund policy order account model answer cites "
    "passage request issued within days customer support agent tool search result context question "
    "price plan upgrade invoice billing error retry timeout latency token cost version prompt review "
    "summary document page section table chart figure source link user session trace span evaluation "
    "score judge correct relevant grounded safe helpful concise detailed"
)
_WORDS = _VOCABULARY.split()


def with_prose(trace: Any, rnd: random.Random) -> Any:
    """``trace`` with each span's inputs and outputs replaced by prose of the same length."""
    import dataclasses

    def prose(chars: int) -> str:
        words: list[str] = []
        size = 0
        while size < chars:
            words.append(rnd.choice(_WORDS))
            size += len(words[-1]) + 1
        return " ".join(words)

    spans = [
        dataclasses.replace(
            s,
            inputs={"question": prose(170), "k": s.inputs["k"]},
            outputs={"answer": prose(200), "score": 0.5},
        )
        for s in trace.data.spans
    ]
    return dataclasses.replace(trace, data=dataclasses.replace(trace.data, spans=spans))


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


def checkpoint(
    store: SqlStore, loaded: int, total: int, rnd: random.Random, all_versions: list[str] = VERSIONS
) -> dict[str, Any]:
    step = SPAN_DAYS * DAY_MS // max(total, 1)
    newest = ts.T0 + (loaded - 1) * step
    versions = rnd.sample(all_versions, 20)
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--postgres", help="a PostgreSQL URI: a throwaway database is created next to it")
    p.add_argument("--traces", type=int, default=300_000, help="traces to load (default 300,000)")
    p.add_argument("--every", type=int, default=50_000, help="traces between checkpoints")
    p.add_argument("--quick", action="store_true", help="20,000 traces, checkpoints every 5,000")
    p.add_argument(
        "--via",
        choices=["store", "server"],
        default="store",
        help="write with SqlStore.log_traces (default), or through genver server replicas (OTLP and REST)",
    )
    p.add_argument("--replicas", type=int, default=2, help="--via server: genver server processes (2)")
    p.add_argument("--clients", type=int, default=2, help="--via server: client processes (2)")
    p.add_argument(
        "--trace-ids",
        choices=["random", "time"],
        default="time",
        help="time-ordered ids (48-bit ms prefix, genver's own; the default) or random ones (as other SDKs make)",
    )
    p.add_argument(
        "--payload",
        choices=["repeat", "prose"],
        default="repeat",
        help="span inputs/outputs: the benchmark's (a repeated letter) or prose of the same length",
    )
    p.add_argument(
        "--days",
        type=int,
        default=SPAN_DAYS,
        help="days the request times spread over (30): --traces 1000000 --days 3 gives each day the "
        "333,000 traces of a 10-million-trace month",
    )
    p.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    p.add_argument("--json", metavar="PATH", help="write the checkpoints as JSON")
    p.add_argument("--plot", metavar="PNG", help="plot ingest and latencies against N (needs matplotlib)")
    p.add_argument(
        "--plot-only",
        nargs="+",
        metavar="LABEL=JSON",
        help="no run: plot earlier --json outputs, one series each, into --plot",
    )
    args = p.parse_args(argv)
    if args.days < 1:
        p.error(f"--days must be at least 1, not {args.days}")
    if args.quick:
        args.traces, args.every = 20_000, 5_000
    return args


def main(argv: list[str] | None = None) -> None:
    global SPAN_DAYS
    args = parse_args(argv)
    SPAN_DAYS = args.days
    os.environ["GENVER_BENCH_SCALE_DAYS"] = str(args.days)
    if args.plot_only:
        series = {}
        for item in args.plot_only:
            label, _, path = item.rpartition("=")
            with open(path) as f:
                series[label or path] = json.load(f)
        plot(series, args.plot or "bench_scale.png")
        return
    total, every = args.traces, args.every
    rows: list[dict[str, Any]] = []
    began = time.time()
    load_before = os.getloadavg()[0]
    with fresh_store(args.postgres, args.keep) as (store, path):
        print(
            f"store: {store.engine.url.render_as_string(hide_password=True)}; {total:,} traces, 6 spans "
            f"each over {args.days} days, via {args.via}"
        )
        with loader(args, store) as load:
            loaded = 0
            while loaded < total:
                n = min(every, total - loaded)
                segment = load(loaded, n, total)
                loaded += n
                if args.postgres:
                    with store.engine.connect() as conn:  # what autovacuum would have done by now
                        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
                row = {
                    "traces": loaded,
                    "traces_per_s": n / segment["wall_s"],
                    "spans_per_s": 6 * n / segment["wall_s"],
                    **segment,
                    **sizes(store, path),
                    **checkpoint(store, loaded, total, random.Random(loaded), load.versions),  # type: ignore[attr-defined]
                    "load": os.getloadavg()[0],
                }
                rows.append(row)
                if args.json:  # after each checkpoint: a run stopped early keeps what it measured
                    with open(args.json, "w") as f:
                        json.dump(rows, f, indent=1)
                print(
                    f"{loaded:>10,} traces: {row['traces_per_s']:,.0f} traces/s, "
                    f"search p95 {row['search'][1]:.1f} ms, stats one/all {row['stats_one_day'][1]:.0f}/"
                    f"{row['stats_all_day'][1]:.0f} ms",
                    flush=True,
                )
        stored = count_traces(store)
    report(args, rows, stored, total)
    print(f"total {time.time() - began:,.0f} s; load average {load_before:.1f} before")
    if args.plot:
        plot({args.via: rows}, args.plot)


def count_traces(store: SqlStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM traces").scalar_one())


@contextlib.contextmanager
def loader(
    args: argparse.Namespace, store: SqlStore
) -> Iterator[Callable[[int, int, int], dict[str, float]]]:
    """A function loading ``n`` traces from ``first`` on: (wall s, and what else it measured)."""
    if args.via == "store":

        def load(first: int, n: int, total: int) -> dict[str, float]:
            spent = 0.0
            for start in range(first, first + n, BATCH):
                traces = batch(
                    start, min(BATCH, first + n - start), total, args.trace_ids, VERSIONS, args.payload
                )
                began = time.perf_counter()
                store.log_traces(traces)
                spent += time.perf_counter() - began
            return {"wall_s": spent}

        load.versions = VERSIONS  # type: ignore[attr-defined]
        yield load
        return

    import multiprocessing
    import tempfile

    if args.payload != "repeat" or args.every % server.REQUEST:
        raise SystemExit(
            f"--via server sends the benchmark's payloads, --every a multiple of {server.REQUEST}"
        )
    versions = [
        store.create_logged_model(experiment_id="0", name=f"app-{i}").model_id for i in range(len(VERSIONS))
    ]
    uri = store.engine.url.render_as_string(hide_password=False)
    with tempfile.TemporaryDirectory() as tmp, server.replicas(uri, args.replicas, tmp) as urls:
        print(f"replicas: {', '.join(urls)}; {args.clients} client processes", flush=True)
        with multiprocessing.get_context("fork").Pool(args.clients) as pool:

            def through(first: int, n: int, total: int) -> dict[str, float]:
                return server.load_segment(pool, first, n, total, args.trace_ids, urls, versions)

            through.versions = versions  # type: ignore[attr-defined]
            yield through


def report(args: argparse.Namespace, rows: list[dict[str, Any]], stored: int, total: int) -> None:
    per_span = "spans_total" if args.postgres else "file_bytes"
    head = ["traces", "traces/s", "spans/s", "bytes/span" if args.postgres else "file bytes/span"]
    head += ["search p50/p95 ms", "stats 1 version, day", "stats all, day", "load"]
    if args.via == "server":
        head.insert(3, "client cores")
    table = []
    for r in rows:
        line = [
            f"{r['traces']:,}",
            fmt(r["traces_per_s"]),
            fmt(r["spans_per_s"]),
            fmt(r[per_span] / (6 * r["traces"])),
        ]
        line += [f"{r[k][0]:.1f} / {r[k][1]:.1f}" for k in ("search", "stats_one_day", "stats_all_day")]
        line.append(f"{r['load']:.1f}")
        if args.via == "server":
            line.insert(3, f"{r['client_cpu_s'] / r['wall_s']:.2f}")
        table.append(line)
    print()
    print_table([head, *table])
    first, last = rows[0]["traces_per_s"], rows[-1]["traces_per_s"]
    print(f"last segment's ingest / first: {last / first:.0%} (goal >= 80%)")
    print(f"traces stored: {stored:,} of {total:,}")
    if stored != total:
        raise SystemExit(f"{total - stored:,} traces were not stored")


def plot(series: dict[str, list[dict[str, Any]]], path: str) -> None:
    """Ingest rate and p95 latencies against N, one line per series, into a PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: matplotlib is not installed (pip install matplotlib)")
        return
    fig, (ingest, latency) = plt.subplots(1, 2, figsize=(13, 6))
    metrics = (("search", "search_traces", "-"), ("stats_one_day", "stats 1 version", ":"))
    metrics += (("stats_all_day", "stats all", "--"),)
    for i, (label, rows) in enumerate(series.items()):
        n, color = [r["traces"] for r in rows], f"C{i}"  # one colour per run, a line style per figure
        ingest.plot(n, [r["spans_per_s"] for r in rows], marker="o", color=color, label=label)
        for key, name, style in metrics:
            latency.plot(
                n, [r[key][1] for r in rows], style, marker=".", color=color, label=f"{label}: {name}"
            )
    ingest.set(title="Ingest rate per segment", xlabel="traces stored", ylabel="spans/s", ylim=(0, None))
    latency.set(title="p95 latency (search -, one version :, all versions --)", xlabel="traces stored")
    latency.set(ylabel="ms", yscale="log")
    for ax in (ingest, latency):
        ax.grid(alpha=0.3)
        ax.ticklabel_format(axis="x", style="plain")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C: the server replicas are stopped and the database dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
