"""``genver runs list|show`` on the evaluation runs the quickstart logs."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from genver.cli import app

runner = CliRunner()


def test_runs_list_and_show(quickstart_uri: str) -> None:
    listed = runner.invoke(
        app,
        [
            "runs",
            "list",
            "--experiment",
            "genver-quickstart",
            "--format",
            "json",
            "--tracking-uri",
            quickstart_uri,
        ],
    )
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.output)
    assert len(runs) == 3  # one evaluation per version
    assert all(r["status"] == "FINISHED" and "exact_match/mean" in r["metrics"] for r in runs)
    assert all(r["datasets"] for r in runs)

    best = max(runs, key=lambda r: r["metrics"]["exact_match/mean"])
    filtered = runner.invoke(
        app,
        [
            "runs",
            "list",
            "--experiment",
            "genver-quickstart",
            "--filter",
            f"metrics.`exact_match/mean` >= {best['metrics']['exact_match/mean']}",
            "--format",
            "json",
            "--tracking-uri",
            quickstart_uri,
        ],
    )
    assert filtered.exit_code == 0, filtered.output
    assert best["run_id"] in {r["run_id"] for r in json.loads(filtered.output)}

    shown = runner.invoke(app, ["runs", "show", best["run_id"], "--tracking-uri", quickstart_uri])
    assert shown.exit_code == 0, shown.output
    assert "exact_match/mean" in shown.output and best["run_name"] in shown.output
    table = runner.invoke(
        app,
        ["runs", "list", "--experiment", "genver-quickstart", "--tracking-uri", quickstart_uri],
    )
    assert table.exit_code == 0 and best["run_id"] in table.output


def test_runs_show_of_an_unknown_id_is_a_clear_error(quickstart_uri: str) -> None:
    result = runner.invoke(app, ["runs", "show", "0" * 32, "--tracking-uri", quickstart_uri])
    assert result.exit_code != 0
    assert "0" * 32 in str(result.exception) + result.output
