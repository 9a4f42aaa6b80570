#!/usr/bin/env python
"""Prompt benchmark: genver vs MLflow 3.17.2 on the prompt registry (``genai.register_prompt``,
``genai.load_prompt``), locally on SQLite and through each one's server.

Run it with genver's venv::

    .venv/bin/python bench/bench_prompts.py            # default run, about 1.5-2.5 minutes
    .venv/bin/python bench/bench_prompts.py --quick    # smoke run, about 1 minute

Both backends run the same workload code (``import genver as mlflow`` / ``import mlflow``, only
in the worker). Locally, rounds alternate genver, mlflow, genver, mlflow... each round of each
backend in a new temp dir with a fresh SQLite file; genver runs in this process (or, with
``--genver-subprocess``, in a subprocess), MLflow in a subprocess of its venv's python executing
this same file in worker mode. Through the server, each round starts ``genver server`` or
``mlflow server`` (``--workers 1`` both) on its own fresh SQLite file and a free loopback port
(``bench_server.running_server``: always stopped), and a client worker of that backend's python
runs the workloads against ``http://127.0.0.1:PORT``.

Workloads (see bench/README.md), on one prompt with a two-variable text template:
``register_prompt`` (versions/s); ``load_prompt("prompts:/NAME/V")`` and
``load_prompt("prompts:/NAME@production")``, each cached (the default TTLs: the call as an app's
hot path makes it) and uncached (``cache_ttl_seconds=0``: every call asks the store or server);
and, without a goal, the cached alias load while an app version is active (the call links the
prompt version to it).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
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
    write_json,
)
from bench_server import QUIET_LOGGERS, free_port, running_server, server_command

TARGET_SPEEDUP = 10.0
CACHED_MAX_US = 5.0  # a cached load_prompt (genver), locally and through the server
PLACES = ("local", "server")
NAME = "bench-qa"
TEMPLATE = "You answer questions about {{topic}}. Version <i>: answer {{question}} in one short paragraph."
ALIAS = "production"
ALIAS_VERSION = 3  # the version the alias points at (and the version loaded by number)


@dataclass(frozen=True)
class Sizes:
    registers: int  # register_prompt calls timed (versions of one prompt)
    cached: int  # cached load_prompt calls per block
    blocks: int  # blocks of cached calls (the figure: the fastest block)
    uncached: int  # uncached load_prompt calls timed, per kind (version, alias)
    linked: int  # cached alias loads timed with an active app version


# MLflow registers ~15 versions/s locally and ~2 through its server, and an uncached load takes
# ~50 ms locally and ~0.3-0.5 s through its server on this machine (~0.4 ms per cached one): its
# sizes are smaller so each workload takes a few seconds. Figures are per call or per second, so
# the sizes need not match. Keyed by (place, backend).
DEFAULT_SIZES = {
    ("local", "genver"): Sizes(registers=1000, cached=20_000, blocks=5, uncached=1000, linked=20_000),
    ("local", "mlflow"): Sizes(registers=20, cached=1000, blocks=5, uncached=20, linked=100),
    ("server", "genver"): Sizes(registers=500, cached=20_000, blocks=5, uncached=500, linked=20_000),
    ("server", "mlflow"): Sizes(registers=6, cached=1000, blocks=5, uncached=6, linked=50),
}
QUICK_SIZES = {
    ("local", "genver"): Sizes(registers=100, cached=2000, blocks=3, uncached=100, linked=2000),
    ("local", "mlflow"): Sizes(registers=5, cached=200, blocks=3, uncached=5, linked=20),
    ("server", "genver"): Sizes(registers=50, cached=2000, blocks=3, uncached=50, linked=2000),
    ("server", "mlflow"): Sizes(registers=3, cached=200, blocks=3, uncached=3, linked=20),
}


@dataclass(frozen=True)
class Workload:
    key: str
    label: str
    unit: str
    higher_is_better: bool
    cached: bool = False  # also held to CACHED_MAX_US
    goal: bool = True


WORKLOADS = (
    Workload("register", "register_prompt", "versions/s", True),
    Workload("version_cached", "load_prompt by version, cached", "µs/call", False, cached=True),
    Workload("alias_cached", "load_prompt by alias, cached", "µs/call", False, cached=True),
    Workload("version_uncached", "load_prompt by version, uncached", "µs/call", False),
    Workload("alias_uncached", "load_prompt by alias, uncached", "µs/call", False),
    Workload("alias_linked", "load_prompt by alias, cached, app active", "µs/call", False, goal=False),
)


# ---------------------------------------------------------------------------------------------
# Worker: the workloads on one backend, against a store URI or a server URL.
# ---------------------------------------------------------------------------------------------
def template(i: int) -> str:
    return TEMPLATE.replace("<i>", str(i))


def bench_register(mlflow: ModuleType, n: int) -> float:
    """Versions/s of ``register_prompt``: versions 4.. of ``NAME`` (1-3 are the warm-up)."""
    genai = mlflow.genai
    for i in range(1, 4):  # warm-up: creates the prompt, first-call costs on both sides
        genai.register_prompt(NAME, template(i), commit_message=f"warm-up {i}", tags={"team": "bench"})
    genai.set_prompt_alias(NAME, ALIAS, ALIAS_VERSION)
    start = time.perf_counter()
    for i in range(4, 4 + n):
        genai.register_prompt(NAME, template(i), commit_message=f"version {i}", tags={"team": "bench"})
    return n / (time.perf_counter() - start)


def per_call_us(fn: Callable[[], object], n: int) -> float:
    """µs per call of ``n`` calls timed as one block (a clock read per call would be a fifth of
    a cached call)."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return 1e6 * (time.perf_counter() - start) / n


def check(prompt: Any, version: int) -> None:
    """The loaded prompt is the one expected: both backends do the same work."""
    if prompt is None or int(prompt.version) != version or prompt.template != template(version):
        raise SystemExit(f"loaded {prompt!r}, expected {NAME} version {version}")
    if prompt.format(topic="billing", question="Where is my invoice?") != template(version).replace(
        "{{topic}}", "billing"
    ).replace("{{question}}", "Where is my invoice?"):
        raise SystemExit(f"format() of {prompt!r} is not the template filled in")


def bench_loads(mlflow: ModuleType, sizes: Sizes) -> dict[str, float]:
    load = mlflow.genai.load_prompt
    by_version, by_alias = f"prompts:/{NAME}/{ALIAS_VERSION}", f"prompts:/{NAME}@{ALIAS}"
    result: dict[str, float] = {}
    for key, uri in (("version", by_version), ("alias", by_alias)):
        check(load(uri), ALIAS_VERSION)  # warm-up, and fills the cache
        check(load(uri, cache_ttl_seconds=0), ALIAS_VERSION)
        cached = functools.partial(load, uri)
        # The fastest block, as timeit: other processes on the machine only ever add time.
        result[f"{key}_cached"] = min(per_call_us(cached, sizes.cached) for _ in range(sizes.blocks))
        uncached = functools.partial(load, uri, cache_ttl_seconds=0)
        result[f"{key}_uncached"] = per_call_us(uncached, sizes.uncached)
        check(load(uri), ALIAS_VERSION)
    return result


def bench_linked(mlflow: ModuleType, n: int) -> float:
    """Cached alias loads while an app version is active: each call links the prompt version to
    it (MLflow: a background thread per call; genver: once, then a set lookup). MLflow's threads
    are waited for after the timing, so they do not run into the next workload."""
    uri = f"prompts:/{NAME}@{ALIAS}"
    before = set(threading.enumerate())
    with mlflow.set_active_model(name="bench-prompts-app") as model:
        check(mlflow.genai.load_prompt(uri), ALIAS_VERSION)
        figure = per_call_us(lambda: mlflow.genai.load_prompt(uri), n)
    for t in set(threading.enumerate()) - before:
        if t.name.startswith("link_prompt_thread"):
            t.join(60)
    linked = mlflow.get_logged_model(model.model_id).tags.get("mlflow.linkedPrompts", "")
    if f'"{NAME}"' not in linked:  # the link was made: the figure includes what it costs
        raise SystemExit(f"{NAME} is not linked to the active app version: {linked!r}")
    return figure


def run_workloads(backend: str, uri: str, sizes: Sizes) -> dict[str, Any]:
    mlflow = import_backend(backend, QUIET_LOGGERS, logging.ERROR)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("bench-prompts")  # the store is open (schema created) before timing
    result: dict[str, Any] = {"backend": backend, "version": getattr(mlflow, "__version__", "?")}
    result["register"] = bench_register(mlflow, sizes.registers)
    result.update(bench_loads(mlflow, sizes))
    result["alias_linked"] = bench_linked(mlflow, sizes.linked)
    return result


def run_local(backend: str, sizes: Sizes) -> dict[str, Any]:
    """One local round: a fresh SQLite file in a new temp dir (also the working dir)."""
    with tempfile.TemporaryDirectory(prefix=f"bench-prompts-{backend}-") as tmp, chdir(tmp):
        result = run_workloads(backend, f"sqlite:///{os.path.join(tmp, backend + '.db')}", sizes)
        mlflow = sys.modules[backend]
        # Leave the temp dir unlocked (genver in-process keeps its engine until the URI changes).
        mlflow.set_tracking_uri(f"sqlite:///{os.path.join(tmp, 'closed.db')}")
    return result


# ---------------------------------------------------------------------------------------------
# Parent: rounds (local, then through the servers), table.
# ---------------------------------------------------------------------------------------------
def local_subprocess(python: str, backend: str, sizes: Sizes) -> dict[str, Any]:
    return call_worker(python, __file__, ["--worker", backend], ["--sizes", json.dumps(asdict(sizes))])


def run_server(backend: str, python: str, sizes: Sizes) -> dict[str, Any]:
    """One server round: a fresh SQLite file, the server on a free port, a client worker."""
    with tempfile.TemporaryDirectory(prefix=f"bench-prompts-server-{backend}-") as tmp:
        uri = f"sqlite:///{os.path.join(tmp, backend + '.db')}"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        with running_server(server_command(backend, python, uri, port, 1, tmp), url, tmp):
            started = time.perf_counter() - t0
            out = call_worker(
                python, __file__, ["--worker", backend], ["--url", url, "--sizes", json.dumps(asdict(sizes))]
            )
        out["server_start_s"] = started
        return out


def build_table(
    runs: dict[str, dict[str, list[dict[str, Any]]]], how: str
) -> tuple[list[list[str]], dict[str, dict[str, Any]]]:
    """One row per workload and place; ``runs[place][backend]`` are that place's rounds."""
    rows = [["workload", "unit", "genver", "mlflow", "× better", "goal", "met"]]
    summary: dict[str, dict[str, Any]] = {}
    for place in PLACES:
        if not all(runs[place][b] for b in BACKENDS):
            continue
        for w in WORKLOADS:
            vals = {b: [float(r[w.key]) for r in runs[place][b]] for b in BACKENDS}
            g = aggregate(vals["genver"], w.higher_is_better, how)
            m = aggregate(vals["mlflow"], w.higher_is_better, how)
            x = (g / m if w.higher_is_better else m / g) if g and m else float("nan")
            goal, met = "-", None
            if w.goal:
                goal = f"≥ {TARGET_SPEEDUP:.0f}×"
                met = x >= TARGET_SPEEDUP
                if w.cached:
                    goal += f", ≤ {CACHED_MAX_US:.0f} µs"
                    met = met and g <= CACHED_MAX_US
            label = f"{w.label} ({place})"
            status = "" if met is None else ("met" if met else "NOT met")
            rows.append([label, w.unit, fmt(g), fmt(m), f"{x:.1f}×", goal, status])
            summary[f"{place}.{w.key}"] = {
                "label": label,
                "unit": w.unit,
                "genver": g,
                "mlflow": m,
                "ratio": x,
                "goal": goal,
                "target_met": met,
                "genver_rounds": vals["genver"],
                "mlflow_rounds": vals["mlflow"],
            }
    return rows, summary


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = new_parser(__doc__, quick="~1 min", rounds="local: default 3, quick 1")
    p.add_argument(
        "--server-rounds", type=int, default=None, help="rounds through the servers (default 1; 0 skips them)"
    )
    p.add_argument("--local-only", action="store_true", help="skip the servers (as --server-rounds 0)")
    add_run_flags(p, per="local round")
    p.add_argument("--url", help=argparse.SUPPRESS)  # worker: run the workloads against this server
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        mine = Sizes(**json.loads(args.sizes))
        out = run_workloads(args.worker, args.url, mine) if args.url else run_local(args.worker, mine)
        print(json.dumps(out))
        return 0

    sizes = dict(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    rounds = args.rounds or (1 if args.quick else 3)
    server_rounds = 0 if args.local_only else (1 if args.server_rounds is None else args.server_rounds)
    pythons = {"genver": sys.executable, "mlflow": resolve_mlflow_python(args.mlflow_python)}
    local: dict[str, Callable[[], dict[str, Any]]] = {
        "genver": (
            (lambda: local_subprocess(sys.executable, "genver", sizes["local", "genver"]))
            if args.genver_subprocess
            else (lambda: run_local("genver", sizes["local", "genver"]))
        ),
        "mlflow": lambda: local_subprocess(pythons["mlflow"], "mlflow", sizes["local", "mlflow"]),
    }
    log = RunLog({f"{p}/{b}": asdict(s) for (p, b), s in sizes.items()}, rounds, args.aggregate)
    print(f"server rounds: {server_rounds} (--workers 1 both, SQLite)", flush=True)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {p: {b: [] for b in BACKENDS} for p in PLACES}
    versions: dict[str, str] = {}

    def report(place: str, r: int, n: int, backend: str, out: dict[str, Any], seconds: float) -> None:
        runs[place][backend].append(out)
        versions[backend] = str(out.get("version"))
        figures = ", ".join(f"{w.key}={fmt(float(out[w.key]))}" for w in WORKLOADS)
        started = f", server up in {out['server_start_s']:.1f} s" if "server_start_s" in out else ""
        print(f"{place} round {r + 1}/{n} {backend:6s} ({seconds:5.1f} s{started}): {figures}", flush=True)

    for r in range(rounds):
        for backend in BACKENDS:
            t0 = time.perf_counter()
            out = local[backend]()
            report("local", r, rounds, backend, out, time.perf_counter() - t0)
    for r in range(server_rounds):
        for backend in BACKENDS:
            t0 = time.perf_counter()
            out = run_server(backend, pythons[backend], sizes["server", backend])
            report("server", r, server_rounds, backend, out, time.perf_counter() - t0)

    rows, summary = build_table(runs, args.aggregate)
    print()
    print(
        f"genver {versions.get('genver')} vs mlflow {versions.get('mlflow')}; {args.aggregate} of {rounds} "
        f"local round(s) on SQLite and {server_rounds} through each one's server (--workers 1, SQLite)"
    )
    print_table(rows)
    goals = [s for s in summary.values() if s["target_met"] is not None]
    met = sum(1 for s in goals if s["target_met"])
    print(
        f"\n{met}/{len(goals)} goals met (≥{TARGET_SPEEDUP:.0f}× MLflow in this run; "
        f"a cached load ≤ {CACHED_MAX_US:.0f} µs)"
    )
    log.finish()
    if args.json:
        payload = log.json_head(versions) | {
            "genver_in_process": not args.genver_subprocess,
            "server_rounds": server_rounds,
            "results": summary,
            "runs": runs,
        }
        write_json(args.json, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
