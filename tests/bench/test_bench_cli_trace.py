"""bench/bench_cli_trace.py runs end to end on bench_ui's quick store (a 3,000-span trace): the
summary prints the first 200 spans and counts the rest, the baseline prints every span."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.slow
def test_a_quick_run_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCH_DIR))
        bench = importlib.import_module("bench_cli_trace")
        assert bench.main(["--quick", "--repeat", "1", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): line.split("|") for line in out.splitlines() if line.startswith("| ")}
    assert int(rows["summary, in-process"][4].strip().replace(",", "")) < 700  # 200 spans, a few lines each
    assert int(rows["every span (--limit), fresh process"][4].strip().replace(",", "")) >= 3_000
