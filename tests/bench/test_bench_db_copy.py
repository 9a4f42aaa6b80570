"""bench/bench_db_copy.py: a smoke run on 100 traces (every table filled, the copy
verified, both insert paths, the throwaway database dropped). The benchmark's sizes are not run
here."""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from types import ModuleType

import psycopg
import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCH_DIR))  # bench scripts import their siblings by name
        return importlib.import_module("bench_db_copy")


def test_a_small_run_copies_every_table_both_ways_and_cleans_up(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_databases: object
) -> None:
    base = os.environ["GENVER_TEST_POSTGRES_URI"]
    out = tmp_path / "r.json"
    args = [
        "bench_db_copy.py",
        "--traces",
        "100",
        "--inserts",
        "both",
        "--postgres",
        base,
        "--json",
        str(out),
    ]
    monkeypatch.setattr(sys, "argv", args)
    bench.main()
    result = json.loads(out.read_text())
    assert result["traces"] == 100 and result["counts"]["spans"] == 600
    assert all(result["counts"][t] > 0 for t in ("traces", "assessments", "logged_model_metrics", "run_tags"))
    for kind in ("copy", "executemany"):
        assert result[kind]["rows"] == result["rows"]
    with psycopg.connect(base) as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'bench_copy_%'").fetchall()
    assert left == []
