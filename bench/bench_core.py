#!/usr/bin/env python
"""Core benchmark: genver vs MLflow 3.17.2 on the LoggedModel (version tracking) API.

Run it with genver's venv::

    .venv/bin/python bench/bench_core.py            # default run, about 2-3 minutes
    .venv/bin/python bench/bench_core.py --quick    # smoke run, about 15 seconds

genver runs in this process; MLflow runs in a subprocess of the MLflow venv's python, which
executes this same file in worker mode (``--worker mlflow``). The worker is the only place that
imports a backend, and it does so as ``import genver as mlflow`` / ``import mlflow``, so both
backends execute the very same workload code. Rounds alternate genver, mlflow, genver, mlflow...
and every round of every backend uses its own fresh SQLite file in a new temp dir. Results go
from worker to parent as JSON on the last line of stdout.

Workloads (see bench/README.md): create_external_model, set_active_model by name,
search_logged_models with a params-and-tags filter over N versions, log_metric with model_id
inside a run, and import time.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
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
    chdir,
    fmt,
    import_backend,
    new_parser,
    print_table,
    resolve_mlflow_python,
    time_calls,
    write_json,
)

TARGET_SPEEDUP = 10.0
SEARCH_FILTER = "params.llm = 'gpt-4' AND tags.team = 'search'"

# Figures quoted in the issue for MLflow 3.17.2 on this machine (for reference in the output).
ISSUE_MLFLOW = {
    "create": 69.0,
    "set_active": 384.0,
    "search": 39.0,
    "log_metric": 167.0,
    "import": 1.45,
}

# Search data: 10 LLMs x 10 teams, crossed so that exactly 1 version in 100 matches SEARCH_FILTER.
LLMS = (
    "gpt-4",
    "gpt-4o",
    "gpt-4o-mini",
    "claude-3",
    "claude-3.5",
    "llama-3",
    "mistral",
    "gemini",
    "o1",
    "o3",
)
TEAMS = ("search", "chat", "rag", "agents", "eval", "infra", "ads", "support", "growth", "ml")
ENVS = ("dev", "staging", "prod")


@dataclass(frozen=True)
class Sizes:
    creates: int = 500  # create_external_model calls timed
    active_names: int = 50  # distinct names set_active_model cycles through
    active_calls: int = 2000  # set_active_model calls timed
    search_models: int = 10_000  # versions the search runs over
    searches: int = 30  # searches timed (mean ms per search)
    metrics: int = 1000  # log_metric calls timed
    import_repeats: int = 5  # fresh interpreters per backend for the import time (best of)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            creates=40,
            active_names=10,
            active_calls=150,
            search_models=1000,
            searches=10,
            metrics=60,
            import_repeats=2,
        )


@dataclass(frozen=True)
class Workload:
    key: str
    label: str
    unit: str
    higher_is_better: bool


WORKLOADS = (
    Workload("create", "create_external_model (4 params, 3 tags)", "versions/s", True),
    Workload("set_active", "set_active_model(name=...) on existing names", "calls/s", True),
    Workload("search", "search_logged_models, params+tags filter", "ms/search", False),
    Workload("log_metric", "log_metric(model_id=...) in a run", "metrics/s", True),
    Workload("import", "import time (fresh interpreter, best of N)", "s", False),
)


# ---------------------------------------------------------------------------------------------
# Worker: runs the workloads on one backend, in one fresh SQLite file.
# ---------------------------------------------------------------------------------------------
def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def bench_create(mlflow: ModuleType, sizes: Sizes) -> float:
    mlflow.set_experiment("bench-create")
    params = {"llm": "gpt-4", "temperature": "0.7", "max_tokens": "512", "prompt_version": "v3"}
    tags = {"team": "search", "env": "prod", "owner": "bench"}
    for i in range(5):  # warm-up (first-call costs: statement compilation, lazy imports)
        mlflow.create_external_model(name=f"bench-warmup-{i}", params=params, tags=tags)
    start = time.perf_counter()
    for i in range(sizes.creates):
        mlflow.create_external_model(name=f"bench-model-{i}", params=params, tags=tags)
    return rate(sizes.creates, time.perf_counter() - start)


def bench_set_active(mlflow: ModuleType, sizes: Sizes) -> float:
    mlflow.set_experiment("bench-active")
    names = [f"bench-active-{i}" for i in range(sizes.active_names)]
    for name in names:
        mlflow.create_external_model(name=name, params={"llm": "gpt-4"})
    for name in names[:5]:  # warm-up
        mlflow.set_active_model(name=name)
    start = time.perf_counter()
    for i in range(sizes.active_calls):
        mlflow.set_active_model(name=names[i % len(names)])
    elapsed = time.perf_counter() - start
    mlflow.clear_active_model()
    return rate(sizes.active_calls, elapsed)


def bench_log_metric(mlflow: ModuleType, sizes: Sizes) -> float:
    mlflow.set_experiment("bench-metrics")
    model = mlflow.create_external_model(name="bench-metrics-model")
    with mlflow.start_run():
        for i in range(5):  # warm-up
            mlflow.log_metric("warmup", float(i), step=i, model_id=model.model_id)
        start = time.perf_counter()
        for i in range(sizes.metrics):
            mlflow.log_metric("accuracy", i / sizes.metrics, step=i, model_id=model.model_id)
        elapsed = time.perf_counter() - start
    return rate(sizes.metrics, elapsed)


def search_rows(
    n: int, artifact_root: str, base_ms: int
) -> Iterator[tuple[str, str, int, dict[str, str], dict[str, str], str]]:
    """Deterministic versions for the search workload: (model_id, name, created_ms, params,
    tags, artifact_location). ``llm`` cycles with i % 10 and ``team`` with (i // 10) % 10, so
    ``params.llm = 'gpt-4' AND tags.team = 'search'`` matches exactly n / 100 versions."""
    for i in range(n):
        model_id = f"m-{uuid.UUID(int=i + 1).hex}"
        params = {
            "llm": LLMS[i % 10],
            "temperature": f"0.{i % 10}",
            "max_tokens": str(256 * (1 + i % 4)),
            "prompt_version": f"v{i % 7}",
        }
        tags = {
            "team": TEAMS[(i // 10) % 10],
            "env": ENVS[i % 3],
            "owner": f"user-{i % 13}",
            "mlflow.model.isExternal": "true",
        }
        location = os.path.join(artifact_root, "0", "models", model_id, "artifacts")
        yield model_id, f"search-model-{i}", base_ms + i, params, tags, location


class PostgresConnection:
    """Just enough of ``sqlite3.Connection`` for ``populate_search`` over psycopg (genver's venv):
    ``executemany`` with ``?`` placeholders, commit on a clean ``with`` exit, ``close``."""

    def __init__(self, uri: str) -> None:
        import psycopg

        self._conn = psycopg.connect(uri)

    def __enter__(self) -> PostgresConnection:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self._conn.commit()
        else:
            self._conn.rollback()

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), rows)

    def close(self) -> None:
        self._conn.close()


def populate_search(backend: str, db_path: str, n: int, artifact_root: str) -> None:
    """Insert n READY versions in experiment 0 with plain SQL (identical data in both schemas).
    Going through either API would take minutes for MLflow at ~70 versions/s. ``db_path`` is a
    SQLite file or a ``postgresql://`` URI (bench_server.py's ``--backend postgres``)."""
    models: list[tuple[Any, ...]] = []
    params: list[tuple[Any, ...]] = []
    tags: list[tuple[Any, ...]] = []
    base_ms = int(time.time() * 1000) - n
    for model_id, name, created, p, t, location in search_rows(n, artifact_root, base_ms):
        if backend == "mlflow":
            # status 2 = LOGGED_MODEL_READY; params and tags carry the experiment id.
            models.append((model_id, 0, name, location, created, created, 2, "active", None, None, None))
            params.extend((model_id, 0, k, v) for k, v in p.items())
            tags.extend((model_id, 0, k, v) for k, v in t.items())
        else:
            models.append(
                (model_id, 0, name, location, created, created, None, None, "READY", None, "active")
            )
            params.extend((model_id, k, v) for k, v in p.items())
            tags.extend((model_id, k, v) for k, v in t.items())
    pg = db_path.startswith("postgresql://")
    conn: Any = PostgresConnection(db_path) if pg else sqlite3.connect(db_path, timeout=60)
    try:
        with conn:
            if backend == "mlflow":
                conn.executemany(
                    "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, "
                    "creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage, "
                    "model_type, source_run_id, status_message) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    models,
                )
                conn.executemany(
                    "INSERT INTO logged_model_params (model_id, experiment_id, param_key, param_value) "
                    "VALUES (?,?,?,?)",
                    params,
                )
                conn.executemany(
                    "INSERT INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) "
                    "VALUES (?,?,?,?)",
                    tags,
                )
            else:
                conn.executemany(
                    "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, "
                    "creation_timestamp, last_updated_timestamp, model_type, source_run_id, status, "
                    "status_message, lifecycle_stage) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    models,
                )
                conn.executemany(
                    'INSERT INTO logged_model_params (model_id, "key", value) VALUES (?,?,?)', params
                )
                conn.executemany(
                    'INSERT INTO logged_model_tags (model_id, "key", value) VALUES (?,?,?)', tags
                )
    finally:
        conn.close()


def bench_search(
    mlflow: ModuleType, backend: str, db_path: str, artifact_root: str, sizes: Sizes
) -> tuple[float, int]:
    """Mean ms per search (max_results=100, output_format='list') and the number of matches."""
    mlflow.set_experiment(experiment_id="0")
    mlflow.search_logged_models(max_results=1, output_format="list")  # store open, schema ready
    populate_search(backend, db_path, sizes.search_models, artifact_root)

    def search() -> list[Any]:
        found: list[Any] = mlflow.search_logged_models(
            filter_string=SEARCH_FILTER, max_results=100, output_format="list"
        )
        return found

    matches = len(search())
    timings = time_calls(search, sizes.searches)  # after 2 warm-up searches
    return 1000 * statistics.fmean(timings), matches


def run_worker(backend: str, sizes: Sizes) -> dict[str, Any]:
    """All workloads on one backend, in one fresh SQLite file in a new temp dir."""
    mlflow = import_backend(backend, ("mlflow", "genver", "alembic", "sqlalchemy"), logging.WARNING)
    with tempfile.TemporaryDirectory(prefix=f"bench-{backend}-") as tmp, chdir(tmp):
        db_path = os.path.join(tmp, f"{backend}.db")
        mlflow.set_tracking_uri(f"sqlite:///{db_path}")
        # Open the store (and create the schema) before any timing.
        mlflow.search_logged_models(max_results=1, output_format="list")
        artifact_root = os.path.join(tmp, "mlruns" if backend == "mlflow" else "genver-artifacts")
        result: dict[str, Any] = {"backend": backend, "version": getattr(mlflow, "__version__", "?")}
        result["create"] = bench_create(mlflow, sizes)
        result["set_active"] = bench_set_active(mlflow, sizes)
        result["log_metric"] = bench_log_metric(mlflow, sizes)
        result["search"], result["search_matches"] = bench_search(
            mlflow, backend, db_path, artifact_root, sizes
        )
        mlflow.clear_active_model()
        # Leave the temp dir unlocked (genver in-process keeps its engine until the URI changes).
        mlflow.set_tracking_uri(f"sqlite:///{os.path.join(tmp, 'closed.db')}")
    return result


# ---------------------------------------------------------------------------------------------
# Parent: alternates backends, measures import time, prints the table.
# ---------------------------------------------------------------------------------------------
def worker_subprocess(python: str, backend: str, sizes: Sizes) -> dict[str, Any]:
    """All workloads on one backend in a fresh process of ``python`` (this file, worker mode)."""
    return call_worker(python, __file__, ["--worker", backend], ["--sizes", json.dumps(asdict(sizes))])


def import_time(python: str, module: str) -> float:
    """Seconds to import ``module`` in a fresh interpreter, with bytecode caches written and read
    as an installed package has them: PYTHONDONTWRITEBYTECODE (set on some machines) would
    compile genver's editable source on every import while MLflow's were compiled at install."""
    code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="bench-import-") as cwd:
        proc = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=300, check=True
        )
    return float(proc.stdout.strip().splitlines()[-1])


def build_table(
    results: dict[str, dict[str, list[float]]], how: str
) -> tuple[list[list[str]], dict[str, dict[str, Any]]]:
    header = ["workload", "unit", "genver", "mlflow", "speedup ×", "target ≥10×"]
    rows = [header]
    summary: dict[str, dict[str, Any]] = {}
    for w in WORKLOADS:
        g_vals, m_vals = results["genver"][w.key], results["mlflow"][w.key]
        agg = "best" if w.key == "import" else how
        g, m = aggregate(g_vals, w.higher_is_better, agg), aggregate(m_vals, w.higher_is_better, agg)
        speedup = (g / m if w.higher_is_better else m / g) if g and m else float("nan")
        met = speedup >= TARGET_SPEEDUP
        summary[w.key] = {
            "label": w.label,
            "unit": w.unit,
            "genver": g,
            "mlflow": m,
            "speedup": speedup,
            "target_met": met,
            "genver_rounds": g_vals,
            "mlflow_rounds": m_vals,
            "mlflow_issue": ISSUE_MLFLOW[w.key],
        }
        rows.append([w.label, w.unit, fmt(g), fmt(m), f"{speedup:.1f}×", "met" if met else "NOT met"])
    return rows, summary


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = new_parser(__doc__, quick="~15 s", rounds="default 5, quick 2")
    p.add_argument("--search-models", type=int, default=None, help="versions searched over (default 10000)")
    p.add_argument("--searches", type=int, default=None, help="searches timed per round")
    p.add_argument("--import-repeats", type=int, default=None, help="fresh interpreters per backend")
    add_run_flags(p, per="round")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        sizes = Sizes(**json.loads(args.sizes)) if args.sizes else Sizes()
        print(json.dumps(run_worker(args.worker, sizes)))
        return 0

    sizes = Sizes.quick() if args.quick else Sizes()
    overrides = {
        "search_models": args.search_models,
        "searches": args.searches,
        "import_repeats": args.import_repeats,
    }
    sizes = replace(sizes, **{k: v for k, v in overrides.items() if v is not None})
    rounds = args.rounds or (2 if args.quick else 5)
    mlflow_python = resolve_mlflow_python(args.mlflow_python)

    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "genver": (
            (lambda: worker_subprocess(sys.executable, "genver", sizes))
            if args.genver_subprocess
            else (lambda: run_worker("genver", sizes))
        ),
        "mlflow": lambda: worker_subprocess(mlflow_python, "mlflow", sizes),
    }
    keys = [w.key for w in WORKLOADS]
    results: dict[str, dict[str, list[float]]] = {b: {k: [] for k in keys} for b in BACKENDS}
    versions: dict[str, str] = {}
    matches: dict[str, list[int]] = {b: [] for b in BACKENDS}
    log = RunLog(asdict(sizes), rounds, args.aggregate)
    for r in range(rounds):
        for backend in BACKENDS:
            t0 = time.perf_counter()
            out = runners[backend]()
            versions[backend] = str(out.get("version"))
            matches[backend].append(int(out["search_matches"]))
            for k in keys[:-1]:
                results[backend][k].append(float(out[k]))
            figures = ", ".join(f"{k}={fmt(float(out[k]))}" for k in keys[:-1])
            print(
                f"round {r + 1}/{rounds} {backend:6s} ({time.perf_counter() - t0:5.1f} s): {figures}",
                flush=True,
            )
    pythons = {"genver": sys.executable, "mlflow": mlflow_python}
    for _ in range(sizes.import_repeats):
        for backend in BACKENDS:
            results[backend]["import"].append(import_time(pythons[backend], backend))
    print(
        f"import (s): genver {[round(x, 3) for x in results['genver']['import']]}, "
        f"mlflow {[round(x, 3) for x in results['mlflow']['import']]}"
    )
    rows, summary = build_table(results, args.aggregate)
    print()
    print(
        f"genver {versions['genver']} vs mlflow {versions['mlflow']}; {args.aggregate} of {rounds} rounds "
        f"(import: best of {sizes.import_repeats}); search over {sizes.search_models:,} versions, "
        f"matches genver={matches['genver']} mlflow={matches['mlflow']}"
    )
    print_table(rows)
    met = sum(1 for s in summary.values() if s["target_met"])
    print(f"\n{met}/{len(summary)} targets met (≥{TARGET_SPEEDUP:.0f}× MLflow, measured in this run)")
    log.finish()
    if args.json:
        payload = log.json_head(versions) | {
            "search_filter": SEARCH_FILTER,
            "search_matches": matches,
            "genver_in_process": not args.genver_subprocess,
            "results": summary,
        }
        write_json(args.json, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
