"""bench/bench_ui.py's own machinery: the big trace's shape, the seed cache, the goal columns.

The benchmark itself is not run here (it starts two servers and Chromium, and MLflow's trace page
alone runs into its 60 s cap); these tests cover the parts whose mistakes would silently skew the
figures: a tree of the wrong shape, a half-written store taken for a cached one, a page past the
cap or a missed goal reported as met.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCH_DIR))  # bench scripts import their siblings by name
        return importlib.import_module("bench_ui")


def depth(parents: list[int], i: int) -> int:
    d = 0
    while parents[i] >= 0:
        i, d = parents[i], d + 1
    return d


@pytest.mark.parametrize(("total", "fanout"), [(30_000, 5_000), (3_000, 500), (5_300, 5_000)])
def test_the_big_trace_has_its_size_a_fanout_span_and_a_deepest_span_at_depth_100(
    bench: ModuleType, total: int, fanout: int
) -> None:
    shape = bench.tree_shape(total, fanout)
    parents = shape.parents
    assert len(parents) == len(shape.names) == len(shape.types) == total
    assert parents[0] == -1 and all(0 <= p < i for i, p in enumerate(parents) if i)  # parents first
    children = [i for i, p in enumerate(parents) if p == shape.fanout]
    assert len(children) == fanout and children[0] == shape.first_child
    assert not any(p in children for p in parents)  # the fan-out's children are leaves
    assert depth(parents, shape.deepest) == bench.DEEP == max(depth(parents, i) for i in range(total))
    times = shape.times(1_000_000_000)
    for i, p in enumerate(parents[1:], start=1):  # every span lies within its parent
        assert times[p][0] <= times[i][0] < times[i][1] < times[p][1]


def test_a_seed_is_cached_only_once_it_has_finished(bench: ModuleType, tmp_path: Path) -> None:
    def failing(folder: str) -> dict[str, Any]:
        Path(folder, "genver.db").write_text("half written")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bench.cached_seed(str(tmp_path), "k", False, failing)
    assert list(tmp_path.iterdir()) == []  # nothing left that could pass for a cached store

    calls: list[str] = []

    def seed(folder: str) -> dict[str, Any]:
        calls.append(folder)
        return {"trace_id": "tr-1"}

    first = bench.cached_seed(str(tmp_path), "k", False, seed)
    again = bench.cached_seed(str(tmp_path), "k", False, seed)
    assert first == (str(tmp_path / "k"), {"trace_id": "tr-1"}, True)
    assert again == (str(tmp_path / "k"), {"trace_id": "tr-1"}, False)
    assert len(calls) == 1
    bench.cached_seed(str(tmp_path), "k", True, seed)  # --reseed
    assert len(calls) == 2


def page(bench: ModuleType, name: str, server_ms: float, usable: list[float | None], **kw: Any) -> Any:
    p = bench.Page(name, f"/{name}", "tr[data-id]", **kw)
    p.status, p.server_ms, p.usable_s = 200, [server_ms] * 5, usable
    return p


def test_goals_flag_a_slow_page_a_page_past_the_cap_and_mlflow_past_its_cap(bench: ModuleType) -> None:
    sizes = bench.DEFAULT_SIZES
    pages = [
        page(bench, "versions", 20.0, [0.15, 0.16, 0.14], key="versions"),
        page(bench, "trace", 350.0, [0.45, 0.5, 0.4], big=True, key="trace"),
    ]
    mlflow = {"usable": {"trace": None, "versions": 1.0}}
    rows = {r[0]: r for r in bench.goals_table(pages, [0.3, 0.4, 0.35], mlflow, sizes, 60.0)[1:]}
    assert rows["every page: server p95"][-1] == "NOT met"  # the trace: 350 ms > 300 ms
    assert rows["every other page: usable (median)"][-1] == "met"
    assert rows["expand a span of 5,000 children"][-1] == "met"
    trace = rows["trace vs MLflow's UI"]
    assert trace[2:4] == ["> 60 s", "> 133×"] and trace[-1] == "met"  # MLflow capped: 60 s / 0.45 s
    versions = rows["versions vs MLflow's UI"]
    assert versions[3] == "6.7×" and versions[-1] == "NOT met"

    pages[0].usable_s = [0.2, None]  # one load never became usable: the median is past the cap
    rows = {r[0]: r for r in bench.goals_table(pages, [0.3, None], None, sizes, 60.0)[1:]}
    assert rows["every other page: usable (median)"][1].startswith("worst > cap")
    assert rows["every other page: usable (median)"][-1] == "NOT met"
    assert rows["expand a span of 5,000 children"][-1] == "NOT met"
    assert rows["≥ 10× faster than MLflow's UI"][-1] == "not run"
