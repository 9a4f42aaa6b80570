"""Thin evidence is said, not hidden (issue 12, item 6): a 50 % drop on two rows "passes" a
5-point gate only because two rows cannot show it. The gate marks that check inconclusive (with
the smallest drop this sample could have shown), passes with a visible warning, and fails with
``fail_when_inconclusive`` / ``--fail-when-inconclusive``; ``min_rows`` sets a floor; compare's
"no change" on fewer than 10 rows is flagged too. Python API, CLI (table, JSON, Markdown)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genver.cli import app
from genver.compare.gating import GateResult
from genver.fluent import Genver
from genver.genai.compare import compare_models, gate
from tests.genai._compare_lab import evaluate, make_genver

runner = CliRunner()


@pytest.fixture
def gv(tmp_path: Path) -> Genver:
    gv = make_genver(tmp_path)
    base = gv.create_external_model(name="v1")
    cand = gv.create_external_model(name="v2")
    evaluate(gv, base, {"exact": [True, True]})  # two rows: 1.0
    evaluate(gv, cand, {"exact": [True, False]})  # 0.5: a 50 % drop
    big_base = gv.create_external_model(name="big-v1")
    big_cand = gv.create_external_model(name="big-v2")
    evaluate(gv, big_base, {"exact": [i % 10 != 0 for i in range(200)]})
    evaluate(gv, big_cand, {"exact": [i % 10 != 0 for i in range(200)]})  # no change, 200 rows
    gv.flush_trace_async_logging()
    return gv


def test_a_big_drop_on_two_rows_passes_only_as_inconclusive(gv: Genver) -> None:
    result = gate("v1", "v2", max_drop={"exact": 0.05}, genver=gv)

    (check,) = result.checks
    assert result.passed and check.passed and check.inconclusive
    assert check.n_pairs == 2 and check.min_detectable is not None and check.min_detectable > 0.5
    assert "inconclusive: with 2 paired rows only a drop of more than" in check.reason
    assert any("too few paired rows" in n for n in result.notes)
    assert check.to_dict()["inconclusive"] is True
    assert GateResult.from_dict(result.to_dict()).checks[0].inconclusive  # survives the wire

    strict = gate("v1", "v2", max_drop={"exact": 0.05}, fail_when_inconclusive=True, genver=gv)
    assert not strict.passed and strict.failures[0].reason.startswith("inconclusive (fail_when_inconclusive)")


def test_enough_rows_are_conclusive_unless_min_rows_asks_for_more(gv: Genver) -> None:
    result = gate("big-v1", "big-v2", max_drop={"exact": 0.05}, genver=gv)
    assert result.passed and not result.checks[0].inconclusive
    floor = gate(
        "big-v1", "big-v2", max_drop={"exact": 0.05}, min_rows=500, fail_when_inconclusive=True, genver=gv
    )
    assert not floor.passed and "200 paired rows, fewer than min_rows=500" in floor.checks[0].reason
    with pytest.raises(ValueError, match="Invalid min_rows 0"):
        gate("big-v1", "big-v2", max_drop={"exact": 0.05}, min_rows=0, genver=gv)


def test_compare_flags_no_change_on_too_few_rows(gv: Genver) -> None:
    small = compare_models("v1", "v2", genver=gv).metric("exact/mean")
    big = compare_models("big-v1", "big-v2", genver=gv).metric("exact/mean")
    assert small is not None and big is not None
    boot = small.bootstrap[1]
    assert boot is not None and boot.inconclusive and boot.to_dict()["inconclusive"] is True
    assert "⚠ inconclusive" in small.cell(1)
    assert big.bootstrap[1] is not None and not big.bootstrap[1].inconclusive


def test_the_cli_warns_in_every_format_and_fails_with_the_flag(gv: Genver, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/t.db"
    base = [
        "gate",
        "--baseline",
        "v1",
        "--candidate",
        "v2",
        "--max-drop",
        "exact=0.05",
        "--tracking-uri",
        uri,
    ]

    table = runner.invoke(app, base, env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "INCONCLUSIVE (passed) exact/mean" in table.output and "too few rows to tell" in table.output

    as_json = runner.invoke(app, [*base, "--format", "json"])
    assert as_json.exit_code == 0 and json.loads(as_json.stdout)["checks"][0]["inconclusive"] is True
    assert "INCONCLUSIVE (passed)" in as_json.stderr

    markdown = runner.invoke(app, [*base, "--format", "markdown"])
    assert markdown.exit_code == 0 and "⚠️ inconclusive" in markdown.stdout

    strict = runner.invoke(app, [*base, "--fail-when-inconclusive"], env={"COLUMNS": "200"})
    assert strict.exit_code == 1 and "Gate failed." in strict.output
