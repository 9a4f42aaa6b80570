"""``genver traces list|show|stats`` on the traces the quickstart produces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genver.cli import app

runner = CliRunner()


def test_quickstart_reports_traces_per_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["quickstart", "--tracking-uri", f"sqlite:///{tmp_path}/q.db"])
    assert result.exit_code == 0, result.output
    assert "traces" in result.output and "p50 ms" in result.output
    assert result.output.count(" 12 ") >= 3  # 12 traces for each of the three versions


def test_traces_stats_json(quickstart_uri: str) -> None:
    result = runner.invoke(
        app,
        [
            "traces",
            "stats",
            "--experiment",
            "genver-quickstart",
            "--format",
            "json",
            "--tracking-uri",
            quickstart_uri,
        ],
    )
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert len(stats) == 3
    for s in stats:
        assert s["trace_count"] == 12 and s["error_rate"] == 0.0
        assert s["latency_p50_ms"] is not None and s["latency_p99_ms"] >= s["latency_p50_ms"]
        assert s["total_tokens"] > 0 and s["cost"] > 0
    # gpt-4o (v2.0) costs more per request than gpt-4o-mini (v1.x)
    costs = sorted(s["cost_per_request"] for s in stats)
    assert costs[-1] > 10 * costs[0]


def test_traces_list_by_version_and_show(quickstart_uri: str) -> None:
    listed = runner.invoke(
        app,
        [
            "traces",
            "list",
            "--experiment",
            "genver-quickstart",
            "--model",
            "faq-bot-v2.0",
            "--format",
            "json",
            "--tracking-uri",
            quickstart_uri,
        ],
    )
    assert listed.exit_code == 0, listed.output
    traces = json.loads(listed.output)
    assert len(traces) == 12
    assert len({t["model_id"] for t in traces}) == 1
    shown = runner.invoke(app, ["traces", "show", traces[0]["trace_id"], "--tracking-uri", quickstart_uri])
    assert shown.exit_code == 0, shown.output
    for name in ("faq-bot", "retrieve", "compose", "CHAT_MODEL"):
        assert name in shown.output
    as_json = runner.invoke(
        app,
        [
            "traces",
            "show",
            traces[0]["trace_id"],
            "--format",
            "json",
            "--tracking-uri",
            quickstart_uri,
        ],
    )
    assert {s["name"] for s in json.loads(as_json.output)["spans"]} == {"faq-bot", "retrieve", "compose"}


def test_traces_errors(quickstart_uri: str) -> None:
    missing = runner.invoke(app, ["traces", "show", "tr-" + "0" * 32, "--tracking-uri", quickstart_uri])
    assert missing.exit_code == 1 and "No trace" in missing.output
    bad = runner.invoke(app, ["traces", "stats", "--since", "yesterday", "--tracking-uri", quickstart_uri])
    assert bad.exit_code != 0 and "yesterday" in str(bad.exception)
    filtered = runner.invoke(
        app,
        [
            "traces",
            "list",
            "--experiment",
            "genver-quickstart",
            "--filter",
            "state = 'ERROR'",
            "--format",
            "json",
            "--tracking-uri",
            quickstart_uri,
        ],
    )
    assert json.loads(filtered.output) == []
