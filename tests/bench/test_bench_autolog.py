"""bench/bench_autolog.py's own machinery: the fake endpoint process always stopped, the pairing
of blocks, the goal column, and a genver-only smoke run of its worker.

The benchmark itself is not run here (MLflow's worker alone takes ~30 s)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCH_DIR))  # bench scripts import their siblings by name
        return importlib.import_module("bench_autolog")


def test_pairs_are_adjacent_blocks_and_the_median_ignores_an_outlier(bench: ModuleType) -> None:
    # blocks run off on | on off | off on ...; the lists keep each mode's order
    times = {"off": [100.0, 100.0, 100.0], "on": [110.0, 900.0, 112.0]}  # one block hit by a neighbour
    assert bench.paired(times) == 12.0


def res(genver_over: float, mlflow_over: float, stored: int = 50, traced: int = 50) -> dict[str, Any]:
    base = {
        "off_us": [2000.0],
        "on_us": [2000.0],
        "overhead_cpu_us": [10.0],
        "overhead_process_us": [20.0],
        "wrapper_us": [5.0],
    }
    return {
        "genver": {**base, "overhead_us": [genver_over], "stored": [stored], "traced_calls": [traced]},
        "mlflow": {**base, "overhead_us": [mlflow_over]},
    }


@pytest.mark.parametrize(
    ("genver_over", "mlflow_over", "stored", "met"),
    [
        (50.0, 1000.0, 50, [True, True]),
        (150.0, 5000.0, 50, [False, True]),  # over 100 µs
        (90.0, 500.0, 50, [False, True]),  # under 100 µs but only 5.6x MLflow
        (50.0, 1000.0, 49, [True, False]),  # a trace missing
    ],
)
def test_goals_are_met_only_when_they_are(
    bench: ModuleType, genver_over: float, mlflow_over: float, stored: int, met: list[bool]
) -> None:
    _, entries = bench.build_table(res(genver_over, mlflow_over, stored), "median")
    assert [e["met"] for e in entries if e["met"] is not None] == met


def test_the_fake_endpoint_process_is_stopped_even_on_error(bench: ModuleType) -> None:
    fake = bench.FakeServer()
    with pytest.raises(RuntimeError), fake as port:
        assert port > 0 and fake.proc.poll() is None
        raise RuntimeError("a worker failed")
    assert fake.proc.poll() is not None


def test_a_genver_worker_runs_and_stores_every_traced_call(bench: ModuleType, tmp_path: Path) -> None:
    sizes = bench.Sizes(blocks=2, calls=3, mlflow_calls=1, warmup=2)
    fake = bench.FakeServer()
    with fake as port:
        out = bench.call_worker(
            __import__("sys").executable,
            str(BENCH_DIR / "bench_autolog.py"),
            ["--worker", "genver"],
            ["--sizes", json.dumps(bench.asdict(sizes)), "--port", str(port)],
        )
    assert fake.proc.poll() is not None  # stopped
    # one traced block of 3 calls, the 2 traced warm-up calls, and the "all in" runs
    assert out["traced_calls"] > 3 + 2 and out["stored"] == out["traced_calls"]
    assert isinstance(out["overhead_all_in_us"], float)  # a difference: may be below zero
    assert out["off_us"] > 0 and out["on_us"] > 0 and out["wrapper_us"] == out["wrapper_us"]
