#!/usr/bin/env python
"""Server benchmark: ``genver server`` vs ``mlflow server`` (MLflow 3.17.2), each client talking
to its own server over loopback HTTP.

Run it with genver's venv::

    .venv/bin/python bench/bench_server.py            # default run, about 1.5 minutes
    .venv/bin/python bench/bench_server.py --quick    # smoke run, about 45 seconds

For each backend (genver, then MLflow) and round, the parent makes a temp dir with a fresh
SQLite file (or, with ``--backend postgres``, a fresh PostgreSQL database), creates the schema and seeds N search versions with ``bench_core.populate_search``
(plain SQL, before the server starts), starts the server as a subprocess on a free loopback port
with ``--workers W`` (the same W for both), waits for ``GET /health``, runs the client workloads
in a worker subprocess of that backend's python (``import genver as mlflow`` / ``import mlflow``
pointed at ``http://127.0.0.1:PORT``), and always stops the server's process group.

Workloads (see bench/README.md): create_external_model through the server; traces stored per
second end to end (flush, then counted on the server); search_logged_models with a params+tags
filter over N versions; p50/p95 latency of mixed requests from 50 concurrent client threads.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from types import ModuleType
from typing import Any

from _harness import (
    BACKENDS,
    RunLog,
    add_run_flags,
    aggregate,
    call_worker,
    fmt,
    import_backend,
    new_parser,
    print_table,
    resolve_mlflow_python,
    time_calls,
    write_json,
)
from bench_core import SEARCH_FILTER, populate_search, search_rows

# Goals from the issue (genver / MLflow, both through their servers), and the MLflow figures it quotes.
GOALS = {"create": 20.0, "traces": 20.0, "search": 10.0}
ISSUE_MLFLOW = {"create": 5.2, "traces": 31.0, "search": 281.0}
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
QUIET_LOGGERS = ("mlflow", "genver", "alembic", "sqlalchemy", "opentelemetry", "httpx", "urllib3")
PARAMS = {"llm": "gpt-4", "temperature": "0.7", "max_tokens": "512", "prompt_version": "v3"}
TAGS = {"team": "search", "env": "prod", "owner": "bench"}
KINDS = ("get", "search", "set_tag")  # the mixed requests of the concurrency workload


@dataclass(frozen=True)
class Sizes:
    creates: int  # create_external_model calls timed
    traces: int  # traced calls (root + 2 children) whose storage is timed
    searches: int  # search_logged_models calls timed
    requests_per_client: int  # mixed requests per client thread (cycling get, search, set_tag)
    search_models: int = 10_000  # versions seeded before the server starts
    clients: int = 50  # concurrent client threads


# MLflow through its server is ~5 versions/s and ~30 traces/s (the issue): its sizes are smaller
# so each workload takes a few seconds. Rates are per second, so the sizes need not match.
DEFAULT_SIZES = {
    "genver": Sizes(creates=500, traces=2000, searches=50, requests_per_client=30),
    "mlflow": Sizes(creates=20, traces=60, searches=10, requests_per_client=3),
}
QUICK_SIZES = {
    "genver": Sizes(
        creates=50, traces=100, searches=5, requests_per_client=3, search_models=1000, clients=10
    ),
    "mlflow": Sizes(creates=5, traces=20, searches=3, requests_per_client=3, search_models=1000, clients=10),
}


# ---------------------------------------------------------------------------------------------
# Worker: the client workloads against one running server (or, with --init, the schema only).
# ---------------------------------------------------------------------------------------------
def init_schema(backend: str, uri: str) -> dict[str, Any]:
    """Open the backend's store at ``uri`` so its schema (and experiment 0) exists."""
    mlflow = import_backend(backend, QUIET_LOGGERS, logging.WARNING)
    mlflow.set_tracking_uri(uri)
    mlflow.search_logged_models(experiment_ids=["0"], max_results=1, output_format="list")
    return {"backend": backend, "version": getattr(mlflow, "__version__", "?")}


def bench_create(mlflow: ModuleType, n: int) -> float:
    mlflow.set_experiment("bench-server-create")
    for i in range(3):  # warm-up: connections, first-call costs on both sides
        mlflow.create_external_model(name=f"bench-warmup-{i}", params=PARAMS, tags=TAGS)
    start = time.perf_counter()
    for i in range(n):
        mlflow.create_external_model(name=f"bench-model-{i}", params=PARAMS, tags=TAGS)
    return n / (time.perf_counter() - start)


def count_traces(mlflow: ModuleType, model_id: str, experiment_id: str, n: int) -> int:
    found = mlflow.search_traces(
        model_id=model_id,
        locations=[experiment_id],
        max_results=n + 10,
        return_type="list",
        include_spans=False,
    )
    return len(found)


def bench_traces(mlflow: ModuleType, n: int) -> dict[str, Any]:
    """N traced calls with the client's async export, timed until the server holds them all:
    the flush, then (if the count is short) re-counting until it stops growing."""
    experiment_id = str(mlflow.set_experiment("bench-server-traces").experiment_id)

    @mlflow.trace
    def child(x: Any) -> Any:
        return x

    @mlflow.trace
    def root(x: Any) -> Any:
        child(x)
        child(x)
        return x

    mlflow.set_active_model(name="bench-server-warmup")
    for i in range(5):
        root(i)
    mlflow.flush_trace_async_logging()
    model = mlflow.set_active_model(name="bench-server-model")
    start = time.perf_counter()
    for i in range(n):
        root(i)
    calls_done = time.perf_counter()
    mlflow.flush_trace_async_logging()
    stored_at = time.perf_counter()
    stored = count_traces(mlflow, model.model_id, experiment_id, n)
    give_up = time.perf_counter() + 10
    while stored < n and time.perf_counter() < give_up:  # stragglers the flush did not wait for
        time.sleep(0.5)
        again = count_traces(mlflow, model.model_id, experiment_id, n)
        if again > stored:
            stored, stored_at = again, time.perf_counter()
    mlflow.clear_active_model()
    elapsed = stored_at - start
    return {
        "n": n,
        "stored": stored,
        "seconds": elapsed,
        "calls_seconds": calls_done - start,
        "traces": stored / elapsed,
    }


def search_once(mlflow: ModuleType) -> int:
    found = mlflow.search_logged_models(
        experiment_ids=["0"], filter_string=SEARCH_FILTER, max_results=100, output_format="list"
    )
    return len(found)


def bench_search(mlflow: ModuleType, n: int) -> dict[str, Any]:
    matches = search_once(mlflow)
    timings = time_calls(lambda: search_once(mlflow), n)  # after 2 warm-up searches
    return {
        "search": 1000 * statistics.fmean(timings),
        "search_median": 1000 * statistics.median(timings),
        "search_matches": matches,
    }


def bench_concurrent(mlflow: ModuleType, sizes: Sizes) -> dict[str, Any]:
    """``clients`` threads, each issuing ``requests_per_client`` requests cycling get a seeded
    version by id, search with the filter, set a tag on a seeded version; all start together."""
    ids = [row[0] for row in search_rows(min(sizes.search_models, 1000), "", 0)]
    calls: dict[str, Callable[[int], object]] = {
        "get": lambda i: mlflow.get_logged_model(ids[i % len(ids)]),
        "search": lambda i: search_once(mlflow),
        "set_tag": lambda i: mlflow.set_logged_model_tags(ids[(i * 7) % len(ids)], {"bench.touch": str(i)}),
    }
    for kind in KINDS:  # warm-up, untimed
        calls[kind](0)
    latencies: dict[str, list[float]] = {k: [] for k in KINDS}
    errors: Counter[str] = Counter()
    first_error: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(sizes.clients + 1)

    def client(c: int) -> None:
        barrier.wait()
        for j in range(sizes.requests_per_client):
            kind, i = KINDS[(c + j) % len(KINDS)], c * sizes.requests_per_client + j
            t0 = time.perf_counter()
            try:
                calls[kind](i)
            except Exception as e:  # counted and reported: the figure is how many fail
                with lock:
                    errors[type(e).__name__] += 1
                    first_error.append(f"{kind}: {type(e).__name__}: {str(e)[:300]}")
                continue
            with lock:
                latencies[kind].append(time.perf_counter() - t0)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(sizes.clients)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ok = sorted(x for v in latencies.values() for x in v)
    return {
        "requests": sizes.clients * sizes.requests_per_client,
        "ok": len(ok),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "first_error": first_error[:1],
        "p50": 1000 * percentile(ok, 50),
        "p95": 1000 * percentile(ok, 95),
        "per_kind_p95": {k: 1000 * percentile(sorted(v), 95) for k, v in latencies.items()},
        "throughput": len(ok) / wall,
    }


def percentile(sorted_values: list[float], p: int) -> float:
    """The ``p``-th percentile (inclusive method); nan for no values."""
    if not sorted_values:
        return float("nan")
    if len(sorted_values) == 1:
        return sorted_values[0]
    return statistics.quantiles(sorted_values, n=100, method="inclusive")[p - 1]


def run_client(backend: str, url: str, sizes: Sizes) -> dict[str, Any]:
    mlflow = import_backend(backend, QUIET_LOGGERS, logging.ERROR)
    mlflow.set_tracking_uri(url)
    result: dict[str, Any] = {"backend": backend, "version": getattr(mlflow, "__version__", "?")}
    result["create"] = bench_create(mlflow, sizes.creates)
    result.update(bench_traces(mlflow, sizes.traces))
    result.update(bench_search(mlflow, sizes.searches))
    result["concurrent"] = bench_concurrent(mlflow, sizes)
    mlflow.flush_trace_async_logging()
    return result


# ---------------------------------------------------------------------------------------------
# Parent: servers as subprocesses, always torn down.
# ---------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_command(backend: str, python: str, uri: str, port: int, workers: int, tmp: str) -> list[str]:
    common = [
        "--backend-store-uri",
        uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    if backend == "genver":
        return [os.path.join(os.path.dirname(python), "genver"), "server", *common]
    artifacts = os.path.join(tmp, "mlartifacts")  # MLflow proxies artifacts (its default) to here
    return [
        os.path.join(os.path.dirname(python), "mlflow"),
        "server",
        *common,
        "--artifacts-destination",
        artifacts,
    ]


@contextlib.contextmanager
def running_server(cmd: list[str], url: str, cwd: str, timeout: float = 180) -> Iterator[None]:
    """Start ``cmd`` in a new process group, wait for ``GET url/health``, and stop the whole group
    on the way out (SIGTERM, then SIGKILL after 15 s), whatever happens in between."""
    log_path = os.path.join(cwd, "server.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"server exited ({proc.returncode}): {' '.join(cmd)}\n{tail(log_path)}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"server not healthy after {timeout:.0f} s: {' '.join(cmd)}\n{tail(log_path)}"
                )
            time.sleep(0.25)
        yield
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)  # the server and the workers it forked (uvicorn)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(path: str, chars: int = 3000) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()[-chars:]


@contextlib.contextmanager
def fresh_database(backend: str, tmp: str, postgres: str | None) -> Iterator[tuple[str, str]]:
    """(store URI, what ``populate_search`` writes to): a SQLite file in ``tmp``, or a new
    PostgreSQL database next to the one ``postgres`` names, dropped on the way out."""
    if postgres is None:
        path = os.path.join(tmp, f"{backend}.db")
        yield f"sqlite:///{path}", path
        return
    import psycopg  # genver's venv only: the parent side

    name = f"bench_server_{backend}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        uri = postgres.rsplit("/", 1)[0] + f"/{name}"
        yield uri, uri
    finally:
        with psycopg.connect(postgres, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_backend(
    backend: str, python: str, sizes: Sizes, workers: int, postgres: str | None
) -> dict[str, Any]:
    """One round of one backend: fresh DB, seeded, served, measured, stopped."""
    with (
        tempfile.TemporaryDirectory(prefix=f"bench-server-{backend}-") as tmp,
        fresh_database(backend, tmp, postgres) as (uri, target),
    ):
        call_worker(python, __file__, ["--worker", backend], ["--init", uri], cwd=tmp)
        populate_search(backend, target, sizes.search_models, os.path.join(tmp, "artifacts"))
        if postgres is not None:  # planner statistics, as autovacuum would gather them in production
            import psycopg

            with psycopg.connect(uri, autocommit=True) as conn:
                conn.execute("ANALYZE")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        with running_server(server_command(backend, python, uri, port, workers, tmp), url, tmp):
            started = time.perf_counter() - t0
            out = call_worker(
                python, __file__, ["--worker", backend], ["--url", url, "--sizes", json.dumps(asdict(sizes))]
            )
        out["server_start_s"] = started
        return out


# ---------------------------------------------------------------------------------------------
# Parent: rounds, table.
# ---------------------------------------------------------------------------------------------
def build_table(runs: dict[str, list[dict[str, Any]]], how: str, clients: int) -> list[list[str]]:
    def agg(backend: str, get: Callable[[dict[str, Any]], float], higher: bool) -> float:
        return aggregate([get(r) for r in runs[backend]], higher, how)

    def ratio(g: float, m: float, higher: bool) -> float:
        return (g / m if higher else m / g) if g and m else float("nan")

    rows = [["workload", "unit", "genver", "mlflow", "× better", "goal", "met"]]
    figures: list[tuple[str, str, Callable[[dict[str, Any]], float], bool, str]] = [
        ("1 create_external_model (4 params, 3 tags)", "versions/s", lambda r: r["create"], True, "create"),
        ("2 traces stored/s (root + 2 children)", "traces/s", lambda r: r["traces"], True, "traces"),
        ("3 search_logged_models, mean", "ms/search", lambda r: r["search"], False, "search"),
        ("3 search_logged_models, median", "ms/search", lambda r: r["search_median"], False, ""),
        (f"4 {clients} clients mixed, p50", "ms", lambda r: r["concurrent"]["p50"], False, ""),
        (f"4 {clients} clients mixed, p95", "ms", lambda r: r["concurrent"]["p95"], False, ""),
        (
            f"4 {clients} clients mixed, throughput",
            "requests/s",
            lambda r: r["concurrent"]["throughput"],
            True,
            "",
        ),
    ]
    for label, unit, get, higher, goal_key in figures:
        g, m = agg("genver", get, higher), agg("mlflow", get, higher)
        x = ratio(g, m, higher)
        goal = f"≥ {GOALS[goal_key]:.0f}×" if goal_key else "-"
        met = ("met" if x >= GOALS[goal_key] else "NOT met") if goal_key else ""
        rows.append([label, unit, fmt(g), fmt(m), f"{x:.1f}×", goal, met])
    stored = {b: min(r["stored"] for r in runs[b]) for b in BACKENDS}
    n = {b: runs[b][0]["n"] for b in BACKENDS}
    g_ok = stored["genver"] == n["genver"]
    rows.append(
        ["2 traces stored of N (worst round)", "traces"]
        + [f"{stored[b]:,}/{n[b]:,}" for b in BACKENDS]
        + ["", "all", "met" if g_ok else "NOT met"]
    )
    errors = {b: sum(r["concurrent"]["errors"] for r in runs[b]) for b in BACKENDS}
    sent = {b: sum(r["concurrent"]["requests"] for r in runs[b]) for b in BACKENDS}
    rows.append(
        ["4 errors under concurrency (all rounds)", "requests"]
        + [f"{errors[b]}/{sent[b]:,}" for b in BACKENDS]
        + ["", "0 (genver)", "NOT met" if errors["genver"] else "met"]
    )
    return rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = new_parser(__doc__, quick="~45 s", rounds="default 1")
    p.add_argument(
        "--workers", type=int, default=1, help="server worker processes, the same for both (default 1)"
    )
    p.add_argument("--search-models", type=int, default=None, help="versions searched over (default 10000)")
    p.add_argument("--clients", type=int, default=None, help="concurrent client threads (default 50)")
    add_run_flags(p, per="round")
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite", help="both servers' store")
    p.add_argument(
        "--postgres-uri",
        default=DEFAULT_POSTGRES,
        help=f"with --backend postgres: a database fresh ones are created beside (default {DEFAULT_POSTGRES})",
    )
    p.add_argument("--init", help=argparse.SUPPRESS)  # worker: create the schema at this store URI
    p.add_argument("--url", help=argparse.SUPPRESS)  # worker: run the client workloads against it
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        if args.init:
            print(json.dumps(init_schema(args.worker, args.init)))
        else:
            print(json.dumps(run_client(args.worker, args.url, Sizes(**json.loads(args.sizes)))))
        return 0

    overrides = {"search_models": args.search_models, "clients": args.clients}
    sizes = {
        b: replace(s, **{k: v for k, v in overrides.items() if v is not None})
        for b, s in (QUICK_SIZES if args.quick else DEFAULT_SIZES).items()
    }
    rounds = args.rounds or 1
    pythons = {"genver": sys.executable, "mlflow": resolve_mlflow_python(args.mlflow_python)}
    log = RunLog({b: asdict(s) for b, s in sizes.items()}, rounds, args.aggregate)
    postgres = args.postgres_uri if args.backend == "postgres" else None
    print(f"server workers: {args.workers} (both); backend store: {args.backend}", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {b: [] for b in BACKENDS}
    for r in range(rounds):
        for backend in BACKENDS:
            t0 = time.perf_counter()
            out = run_backend(backend, pythons[backend], sizes[backend], args.workers, postgres)
            runs[backend].append(out)
            c = out["concurrent"]
            print(
                f"round {r + 1}/{rounds} {backend:6s} ({time.perf_counter() - t0:5.1f} s, server up in "
                f"{out['server_start_s']:.1f} s): create={fmt(out['create'])}/s "
                f"traces={fmt(out['traces'])}/s ({out['stored']}/{out['n']}) search={fmt(out['search'])} ms "
                f"({out['search_matches']} matches) p50={fmt(c['p50'])} p95={fmt(c['p95'])} ms "
                f"{fmt(c['throughput'])} req/s errors={c['errors']} {c['error_kinds'] or ''} {c['first_error'] or ''}",
                flush=True,
            )
    versions = {b: str(runs[b][-1]["version"]) for b in BACKENDS}
    clients = sizes["genver"].clients
    rows = build_table(runs, args.aggregate, clients)
    print()
    print(
        f"genver {versions['genver']} vs mlflow {versions['mlflow']}, each through its own server "
        f"(--workers {args.workers}, {args.backend}); {args.aggregate} of {rounds} round(s); search over "
        f"{sizes['genver'].search_models:,} versions; MLflow in the issue: {ISSUE_MLFLOW}"
    )
    print_table(rows)
    log.finish()
    if args.json:
        payload = log.json_head(versions) | {
            "workers": args.workers,
            "backend": args.backend,
            "search_filter": SEARCH_FILTER,
            "runs": runs,
        }
        write_json(args.json, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
