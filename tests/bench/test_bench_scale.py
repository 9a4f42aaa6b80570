"""bench/bench_scale.py: smoke runs on SQLite (through the store, and through two genver server
replicas with OTLP and REST clients), the checkpoint rows it writes, and its plot. The
benchmark's sizes are not run here."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from types import ModuleType

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCH_DIR))  # bench scripts import their siblings by name
        return importlib.import_module("bench_scale")


@pytest.mark.parametrize("via", ["store", "server"])
def test_a_small_run_loads_every_trace_and_measures_each_checkpoint(
    bench: ModuleType, tmp_path: Path, via: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out, png = tmp_path / "r.json", tmp_path / "r.png"
    bench.main(["--traces", "1000", "--every", "500", "--via", via, "--json", str(out), "--plot", str(png)])
    rows = json.loads(out.read_text())
    assert [r["traces"] for r in rows] == [500, 1000]
    for r in rows:
        assert r["traces_per_s"] > 0 and r["file_bytes"] > 0
        assert len(r["search"]) == 2 and r["search"][0] <= r["search"][1]
    if via == "server":  # both kinds of request were sent, and the clients' CPU was counted
        assert all(r["otlp_requests"] > 0 and r["rest_requests"] > 0 and r["client_cpu_s"] > 0 for r in rows)
    printed = capsys.readouterr().out
    assert "traces stored: 1,000 of 1,000" in printed
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_prose_payloads_keep_the_benchmark_s_shape(bench: ModuleType) -> None:
    plain = bench.batch(0, 3, 100, payload="repeat")
    prose = bench.batch(0, 3, 100, payload="prose")
    assert [t.info.trace_id for t in plain] == [t.info.trace_id for t in prose]
    for a, b in zip(plain, prose, strict=True):
        assert [s.name for s in a.data.spans] == [s.name for s in b.data.spans]
        for s in b.data.spans:
            assert set(s.inputs) == {"question", "k"} and len(s.inputs["question"]) >= 160
            assert "x" * 10 not in s.inputs["question"]


def test_plot_only_draws_earlier_runs(bench: ModuleType, tmp_path: Path) -> None:
    rows = [
        {
            "traces": n,
            "spans_per_s": 20_000.0,
            "search": [5.0, 9.0],
            "stats_one_day": [1.0, 2.0],
            "stats_all_day": [50.0, 80.0],
        }
        for n in (100, 200)
    ]
    (tmp_path / "a.json").write_text(json.dumps(rows))
    png = tmp_path / "p.png"
    bench.main(["--plot-only", f"defaults={tmp_path / 'a.json'}", "--plot", str(png)])
    assert png.stat().st_size > 1000


def test_days_spread_a_month_s_daily_volume_over_fewer_days(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--days 2``: the traces' request times span two days (a million over three days gives
    each day a 10-million-trace month's volume), for the client processes too (the variable)."""
    monkeypatch.setattr(bench, "SPAN_DAYS", bench.SPAN_DAYS)
    monkeypatch.setenv("GENVER_BENCH_SCALE_DAYS", "30")
    bench.main(["--traces", "600", "--every", "300", "--days", "2", "--json", str(tmp_path / "r.json")])
    assert bench.SPAN_DAYS == 2 and os.environ["GENVER_BENCH_SCALE_DAYS"] == "2"
    times = [t.info.request_time for t in bench.batch(0, 600, 600)]
    assert 1.9 * bench.DAY_MS < max(times) - min(times) <= 2 * bench.DAY_MS
    with pytest.raises(SystemExit):
        bench.main(["--days", "0"])
