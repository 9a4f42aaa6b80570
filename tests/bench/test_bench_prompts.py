"""bench/bench_prompts.py's own machinery: genver-only smoke runs of its worker, locally and
against a genver server (each load checked for the right version and text, the link to the
active app version made), and the goal column.

The benchmark itself is not run here (MLflow's server alone takes ~15 s to start)."""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
TINY = {"registers": 3, "cached": 50, "blocks": 2, "uncached": 3, "linked": 20}


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCH_DIR))  # bench scripts import their siblings by name
        return importlib.import_module("bench_prompts")


def keys(bench: ModuleType) -> list[str]:
    return [w.key for w in bench.WORKLOADS]


def assert_figures(bench: ModuleType, out: dict[str, Any]) -> None:
    assert out["backend"] == "genver"
    for key in keys(bench):
        assert out[key] > 0, key


def test_a_local_genver_worker_runs_every_workload(bench: ModuleType, tmp_path: Path) -> None:
    worker, data = ["--worker", "genver"], ["--sizes", json.dumps(TINY)]
    out = bench.call_worker(sys.executable, bench.__file__, worker, data, cwd=str(tmp_path))
    assert_figures(bench, out)


def test_a_genver_worker_runs_every_workload_through_a_genver_server(
    bench: ModuleType, tmp_path: Path
) -> None:
    out = bench.run_server("genver", sys.executable, bench.Sizes(**TINY))
    assert_figures(bench, out)
    assert out["server_start_s"] > 0


def test_the_default_sizes_cover_every_place_and_backend(bench: ModuleType) -> None:
    for table in (bench.DEFAULT_SIZES, bench.QUICK_SIZES):
        assert set(table) == {(p, b) for p in bench.PLACES for b in ("genver", "mlflow")}
        assert all(min(asdict(s).values()) > 0 for s in table.values())


def run(bench: ModuleType, rate: float, call_us: float) -> dict[str, Any]:
    return {w.key: (rate if w.higher_is_better else call_us) for w in bench.WORKLOADS}


def test_goals_are_met_only_when_they_are(bench: ModuleType) -> None:
    runs = {
        "local": {"genver": [run(bench, 500.0, 1.0)], "mlflow": [run(bench, 10.0, 400.0)]},
        "server": {"genver": [run(bench, 50.0, 6.0)], "mlflow": [run(bench, 10.0, 400.0)]},
    }
    rows, summary = bench.build_table(runs, "median")
    assert len(rows) == 1 + 2 * len(bench.WORKLOADS)
    met = {k: s["target_met"] for k, s in summary.items()}
    assert met["local.register"] and met["local.version_cached"] and met["local.alias_uncached"]
    assert met["server.register"] is False  # 5× MLflow
    assert met["server.version_cached"] is False  # 66× MLflow, but 6 µs > 5 µs
    assert met["server.alias_uncached"] is True  # 400 / 6 = 66×, no µs cap when uncached
    assert met["local.alias_linked"] is None  # informational: no goal
    by_label = {r[0]: r for r in rows[1:]}
    assert by_label["load_prompt by version, cached (server)"][-1] == "NOT met"


def test_a_place_without_rounds_is_left_out(bench: ModuleType) -> None:
    runs = {
        "local": {"genver": [run(bench, 500.0, 1.0)], "mlflow": [run(bench, 10.0, 400.0)]},
        "server": {"genver": [], "mlflow": []},
    }
    rows, summary = bench.build_table(runs, "median")
    assert len(rows) == 1 + len(bench.WORKLOADS)
    assert all(k.startswith("local.") for k in summary)
