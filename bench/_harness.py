"""What bench_core.py and bench_tracing.py share: the MLflow python, backend workers in
subprocesses, timing, aggregation across rounds, the Markdown table, flags, run reporting.

Standard library only: the scripts' worker mode imports this module in the MLflow venv, where
genver is not installed. A script run as ``python bench/<script>.py`` has ``bench/`` on
``sys.path``, so it imports this module as ``_harness`` in the parent and in its workers alike.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from types import ModuleType
from typing import Any

BACKENDS = ("genver", "mlflow")
DEFAULT_MLFLOW_PYTHON = "/work/.venvs/mlflow/bin/python"
MLFLOW_PYTHON_ENV = "GENVER_BENCH_MLFLOW_PYTHON"


# ---------------------------------------------------------------------------------------------
# Worker side
# ---------------------------------------------------------------------------------------------
def import_backend(backend: str, loggers: Iterable[str], level: int) -> ModuleType:
    """``import genver as mlflow`` or ``import mlflow``: the module named ``backend``, which the
    scripts bind to the name ``mlflow``; the only place a backend is imported. ``loggers`` are
    set to ``level``."""
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore")
    if backend not in BACKENDS:
        raise SystemExit(f"unknown backend {backend!r}")
    if backend == "mlflow":
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    mlflow = importlib.import_module(backend)
    for name in loggers:
        logging.getLogger(name).setLevel(level)
    return mlflow


@contextlib.contextmanager
def chdir(path: str) -> Iterator[None]:
    """Run in the temp dir: MLflow puts ./mlruns there, and neither backend sees a git repo."""
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def time_calls(fn: Callable[[], object], repeat: int, warmup: int = 2) -> list[float]:
    """Seconds per call of ``repeat`` timed calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    return timings


# ---------------------------------------------------------------------------------------------
# Parent side
# ---------------------------------------------------------------------------------------------
def resolve_mlflow_python(flag: str | None) -> str:
    python = flag or os.environ.get(MLFLOW_PYTHON_ENV) or DEFAULT_MLFLOW_PYTHON
    if not os.path.exists(python):
        raise SystemExit(
            f"MLflow python {python!r} not found. Create it with:\n"
            "  python3 -m venv /work/.venvs/mlflow && /work/.venvs/mlflow/bin/pip install mlflow==3.17.2\n"
            f"or point --mlflow-python / {MLFLOW_PYTHON_ENV} at one."
        )
    return python


def call_worker(
    python: str, script: str, worker: Sequence[str], data: Sequence[str], cwd: str | None = None
) -> dict[str, Any]:
    """Runs ``python script *worker *data`` and returns the JSON object on the last line of its
    stdout. ``worker`` is ``["--worker", backend, ...]``, what a failure message quotes; ``data``
    the rest (sizes, paths). The worker runs in ``cwd``, or in a temp dir of its own if None."""
    cmd = [python, os.path.abspath(script), *worker, *data]
    env = dict(os.environ, PYTHONWARNINGS="ignore", MLFLOW_LOGGING_LEVEL="WARNING")
    with contextlib.ExitStack() as stack:
        if cwd is None:
            cwd = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-cwd-"))
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=1800)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-4000:])
        shown = " ".join(cmd[: 2 + len(worker)])
        raise SystemExit(f"{worker[1]} worker failed (exit {proc.returncode}): {shown}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def fmt(value: float) -> str:
    if value != value:  # nan
        return "n/a"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def aggregate(values: list[float], higher_is_better: bool, how: str) -> float:
    """Across rounds: the median, or the best round (``how == "best"``); nan for no rounds."""
    if not values:
        return float("nan")
    if how == "best":
        return max(values) if higher_is_better else min(values)
    return statistics.median(values)


def print_table(rows: list[list[str]]) -> None:
    """A Markdown table: ``rows[0]`` is the header; columns 2-4 (the figures) right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {2, 3, 4}

    def line(r: list[str]) -> str:
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)]
        return "| " + " | ".join(cells) + " |"

    print(line(rows[0]))
    print(
        "|"
        + "|".join(("-" * (w + 1) + ":") if i in right else "-" * (w + 2) for i, w in enumerate(widths))
        + "|"
    )
    for r in rows[1:]:
        print(line(r))


def new_parser(doc: str | None, quick: str, rounds: str) -> argparse.ArgumentParser:
    """The parser with ``--quick`` and ``--rounds``; a script adds its size flags next, then
    ``add_run_flags``."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help=f"small sizes for a smoke run ({quick})")
    p.add_argument("--rounds", type=int, default=None, help=f"rounds per backend ({rounds})")
    return p


def add_run_flags(p: argparse.ArgumentParser, per: str) -> None:
    """``--aggregate``, ``--json``, ``--mlflow-python``, ``--genver-subprocess`` (a fresh
    subprocess per ``per``), and the hidden worker-mode ``--worker`` and ``--sizes``."""
    p.add_argument("--aggregate", choices=("median", "best"), default="median", help="across rounds")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    p.add_argument("--mlflow-python", help=f"python of the MLflow venv (env {MLFLOW_PYTHON_ENV})")
    p.add_argument(
        "--genver-subprocess",
        action="store_true",
        help=f"run genver in a fresh subprocess per {per} too (default: in this process)",
    )
    p.add_argument("--worker", choices=BACKENDS, help=argparse.SUPPRESS)
    p.add_argument("--sizes", help=argparse.SUPPRESS)


class RunLog:
    """One run's clock and load average: the lines that open and close its output, and the
    head of its JSON. Other processes' load skews both backends, hence the load average."""

    def __init__(self, sizes: dict[str, Any], rounds: int, how: str) -> None:
        self.sizes, self.rounds, self.how = sizes, rounds, how
        self.started = time.perf_counter()
        self.load_before = os.getloadavg()[0]
        self.load_after = float("nan")
        print(f"sizes: {sizes}; rounds: {rounds}; aggregate: {how}", flush=True)
        print(f"load average before: {self.load_before:.2f} (other processes skew both backends)", flush=True)

    def finish(self) -> None:
        self.load_after = os.getloadavg()[0]
        print(f"total {time.perf_counter() - self.started:.0f} s; load average after: {self.load_after:.2f}")

    def json_head(self, versions: dict[str, str]) -> dict[str, Any]:
        """date, machine, versions, rounds, aggregate, sizes: a script adds its own keys."""
        return {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average_before_after": [self.load_before, self.load_after],
            },
            "versions": versions,
            "rounds": self.rounds,
            "aggregate": self.how,
            "sizes": self.sizes,
        }


def write_json(path: str, payload: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2)
    print(f"wrote {path}")
