"""bench/bench_history.py --floor: a smoke run (tiny blocks) that splits log_metric's overhead
into its variants and leaves the store's history code as it found it."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCH_DIR))  # bench scripts import their siblings by name
        return importlib.import_module("bench_history")


def test_the_floor_run_measures_each_variant_and_restores_the_store(
    bench: ModuleType, tmp_path: Path
) -> None:
    from genver.store.sql import history_rows, run_logging
    from genver.store.sql.base import SqlBase

    before = (
        history_rows._append_sqlite,
        SqlBase._record,
        SqlBase._lock_history,
        run_logging._metric_changes,
    )
    out = tmp_path / "floor.json"
    bench.main(["--floor", "--quick", "--block", "8", "--pairs", "2", "--json", str(out)])
    result = json.loads(out.read_text())
    assert [row[0] for row in result["table"][1:]] == [
        "as built",
        "entry built, not written",
        "no per-version index",
    ]
    (only_round,) = result["floor"]
    for variant in only_round.values():
        assert len(variant["cpu"]["pairs"]) == 8 and variant["cpu"]["on_us"] > 0
    after = (history_rows._append_sqlite, SqlBase._record, SqlBase._lock_history, run_logging._metric_changes)
    assert after == before
