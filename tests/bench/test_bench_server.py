"""bench/bench_server.py's own machinery: servers always torn down, percentiles, the goal column.

The benchmark itself is not run here (MLflow's server alone takes ~15 s to start); these tests
cover the parts whose mistakes would silently skew or leak: a server left running, a wrong
percentile, a goal reported as met when it is not.
"""

from __future__ import annotations

import importlib
import socket
import statistics
import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.request import urlopen

import pytest
from hypothesis import given
from hypothesis import strategies as st

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCH_DIR))  # bench scripts import their siblings by name
        return importlib.import_module("bench_server")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_genver_server_is_healthy_inside_and_stopped_after_an_error(
    bench: ModuleType, tmp_path: Path
) -> None:
    port = bench.free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = bench.server_command("genver", sys.executable, f"sqlite:///{tmp_path}/g.db", port, 1, str(tmp_path))
    with pytest.raises(KeyboardInterrupt), bench.running_server(cmd, url, str(tmp_path)):
        with urlopen(f"{url}/health", timeout=10) as resp:
            assert resp.status == 200
        raise KeyboardInterrupt
    assert not port_open(port)


def test_a_server_that_exits_is_reported_with_its_output(bench: ModuleType, tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import sys; print('no such database'); sys.exit(3)"]
    url = f"http://127.0.0.1:{bench.free_port()}"
    match = r"server exited \(3\)[\s\S]*no such database"
    with pytest.raises(SystemExit, match=match), bench.running_server(cmd, url, str(tmp_path)):
        pytest.fail("the body must not run when the server never became healthy")


def test_server_commands_pass_the_same_workers_and_a_loopback_host(bench: ModuleType, tmp_path: Path) -> None:
    for backend in ("genver", "mlflow"):
        cmd = bench.server_command(backend, "/venv/bin/python", "sqlite:////d/x.db", 5123, 3, str(tmp_path))
        assert cmd[:2] == [f"/venv/bin/{backend}", "server"]
        assert cmd[cmd.index("--workers") + 1] == "3"
        assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
        assert cmd[cmd.index("--backend-store-uri") + 1] == "sqlite:////d/x.db"


@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=200))
def test_p50_is_the_median_and_p95_lies_between_it_and_the_max(bench: ModuleType, xs: list[float]) -> None:
    xs = sorted(xs)
    p50, p95 = bench.percentile(xs, 50), bench.percentile(xs, 95)
    assert p50 == pytest.approx(statistics.median(xs))
    assert p50 - 1e-9 <= p95 <= xs[-1] + 1e-9


def fake_run(rate: float, errors: int = 0, stored: int = 10) -> dict[str, Any]:
    concurrent = {"p50": 10.0, "p95": 20.0, "throughput": rate, "errors": errors, "requests": 150}
    return {
        "create": rate,
        "traces": rate,
        "search": 1000 / rate,
        "search_median": 1000 / rate,
        "n": 10,
        "stored": stored,
        "concurrent": concurrent,
    }


def test_table_flags_missed_goals_lost_traces_and_genver_errors(bench: ModuleType) -> None:
    good = bench.build_table({"genver": [fake_run(200.0)], "mlflow": [fake_run(5.0)]}, "median", 50)
    assert [r[-1] for r in good[1:] if r[5] != "-"] == ["met"] * 5
    bad = bench.build_table(
        {"genver": [fake_run(50.0, errors=2, stored=9)], "mlflow": [fake_run(5.0)]}, "median", 50
    )
    by_label = {r[0]: r for r in bad[1:]}
    assert by_label["1 create_external_model (4 params, 3 tags)"][-1] == "NOT met"  # 10× < 20×
    assert by_label["3 search_logged_models, mean"][-1] == "met"  # 10× faster, the goal
    assert by_label["2 traces stored of N (worst round)"][2:4] == ["9/10", "10/10"]
    assert by_label["2 traces stored of N (worst round)"][-1] == "NOT met"
    assert by_label["4 errors under concurrency (all rounds)"][-1] == "NOT met"
