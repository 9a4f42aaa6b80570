"""``genver models compare`` and ``genver gate`` on a real SQLite file: output formats and exit
codes, and a full scenario of two versions of a small traced app on the same 30-row dataset."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genver.cli import app
from genver.fluent import Genver
from tests.genai._compare_lab import dataset, evaluate, make_genver, traced_rows

runner = CliRunner()
QUESTIONS = [f"what is {i} + {i}?" for i in range(30)]


def build(tmp_path: Path, fill: Callable[[Genver], None]) -> None:
    gv = make_genver(tmp_path, "cli.db")  # the database of the `uri` fixture
    try:
        fill(gv)
    finally:
        gv.flush_trace_async_logging(terminate=True)
        gv.client.close()


def adder(gv: Genver, *, broken_every: int = 0) -> Callable[[str], str]:
    """The small app: answers "what is i + i?"; a seeded regression breaks every n-th answer."""

    @gv.trace(name="adder")
    def answer(question: str) -> str:
        i = int(question.split()[2])
        wrong = broken_every and i % broken_every == 0
        return str(i + i + (1 if wrong else 0))

    return answer


def scenario(gv: Genver, *, regression: bool) -> None:
    """Two versions of the app, each run under tracing and scored per row on the same dataset."""
    ds = dataset(len(QUESTIONS), "sums")
    versions = (("adder-v1", "p1", 0), ("adder-v2", "p2", 2 if regression else 0))
    for name, prompt, broken in versions:
        model = gv.create_external_model(name=name, params={"prompt": prompt})
        answer = adder(gv, broken_every=broken)
        answers: list[str] = []
        ids = traced_rows(gv, model.model_id, QUESTIONS, lambda q: answers.append(answer(q)))  # noqa: B023
        exact = [a == str(2 * i) for i, a in enumerate(answers)]
        evaluate(gv, model, {"exact": exact}, ds=ds, trace_ids=ids)


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def flat(text: str) -> str:
    """Text without Rich's box drawing and line wrapping, for matching error messages."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


def test_full_scenario_gate_fails_on_a_seeded_regression(tmp_path: Path, uri: str) -> None:
    build(tmp_path, lambda gv: scenario(gv, regression=True))

    code, out, _ = invoke(
        "models", "compare", "adder-v1", "adder-v2", "--format", "json", "--tracking-uri", uri
    )
    assert code == 0, out
    c = json.loads(out)
    metric = c["metrics"][0]
    assert metric["key"] == "exact/mean" and metric["values"] == [1.0, 0.5]
    assert metric["bootstrap"][1]["verdict"] == "worse" and metric["bootstrap"][1]["n"] == 30
    assert [s["values"] for s in c["trace_stats"] if s["key"] == "trace_count"] == [[30, 30]]
    assert c["params"] == [{"key": "prompt", "values": ["p1", "p2"]}]

    code, out, err = invoke(
        "gate", "--baseline", "adder-v1", "--candidate", "adder-v2", "--max-drop", "exact=0.02",
        "--max-increase", "p95_latency=1000%", "--tracking-uri", uri,
    )  # fmt: skip
    assert code == 1, out + err
    assert "FAILED exact/mean: dropped by 0.5 (1 → 0.5), significantly more than the allowed drop" in out
    assert "FAILED p95_latency" not in out


def test_full_scenario_gate_passes_without_a_regression(tmp_path: Path, uri: str) -> None:
    build(tmp_path, lambda gv: scenario(gv, regression=False))
    code, out, err = invoke(
        "gate", "--baseline", "adder-v1", "--candidate", "adder-v2", "--max-drop", "exact=0.02",
        "--max-increase", "error_rate=0.01", "--tracking-uri", uri,
    )  # fmt: skip
    assert code == 0, out + err
    assert "Gate passed" in out and "FAILED" not in out

    code, out, _ = invoke(
        "gate", "--baseline", "adder-v1", "--candidate", "adder-v2", "--max-drop", "exact=0.02",
        "--format", "json", "--tracking-uri", uri,
    )  # fmt: skip
    assert code == 0 and json.loads(out)["passed"] is True


def _three_versions(gv: Genver) -> None:
    for i, (exact, latency) in enumerate(((0.5, 10), (0.9, 12), (0.2, 8))):
        model = gv.create_external_model(name=f"v{i}", params={"temperature": str(i / 10)})
        n = 20
        evaluate(
            gv, model, {"exact": [r < exact * n for r in range(n)]}, latency_ms=latency, cost=0.001 * (i + 1)
        )


def test_models_compare_three_versions_in_every_format(tmp_path: Path, uri: str) -> None:
    build(tmp_path, _three_versions)

    code, out, _ = invoke("models", "compare", "v0", "v1", "v2", "--format", "json", "--tracking-uri", uri)
    assert code == 0, out
    c = json.loads(out)
    assert [v["name"] for v in c["versions"]] == ["v0", "v1", "v2"]
    verdicts = [b and b["verdict"] for b in c["metrics"][0]["bootstrap"]]
    assert verdicts == [None, "better", "worse"]

    code, out, _ = invoke(
        "models", "compare", "v0", "v1", "v2", "--format", "markdown", "--tracking-uri", uri
    )
    assert code == 0 and out.startswith("### genver: `v0` (baseline) vs `v1`, `v2`")
    assert "▲ **better**" in out and "▼ **worse**" in out and "`temperature`" in out

    wide = CliRunner(env={"COLUMNS": "250"})
    result = wide.invoke(app, ["models", "compare", "v0", "v1", "v2", "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    for text in ("Versions", "Evaluation metrics", "Trace statistics", "Params that differ", "v0 (baseline)"):
        assert text in result.stdout
    assert "exact/mean" in result.stdout and "latency p95 (ms)" in result.stdout
    assert "better" in result.stdout and "worse" in result.stdout


def test_models_compare_errors(tmp_path: Path, uri: str) -> None:
    build(tmp_path, _three_versions)
    code, _, err = invoke("models", "compare", "v0", "--tracking-uri", uri)
    assert code == 2 and "at least two versions" in flat(err)
    code, _, err = invoke("models", "compare", "v0", "v1", "--format", "yaml", "--tracking-uri", uri)
    assert code == 2 and "'yaml' is not one of table, json, markdown" in flat(err)
    result = runner.invoke(app, ["models", "compare", "v0", "nope", "--tracking-uri", uri])
    assert result.exit_code == 1 and "nope" in str(result.exception)
    code, out, _ = invoke(
        "models", "compare", "v0", "v1", "--dataset", "qa", "--experiment", "0", "--tracking-uri", uri
    )
    assert code == 0, out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-drop", "exact"], "'exact': expected METRIC=THRESHOLD"),
        (["--max-drop", "=0.1"], "'=0.1': expected METRIC=THRESHOLD"),
        (["--max-drop", "exact=lots"], "Invalid threshold 'lots' for 'exact'"),
        (["--max-increase", "p95_latency=-5%"], "Invalid threshold '-5%' for 'p95_latency'"),
        (["--max-drop", "exact=0.1", "--max-drop", "exact=0.2"], "'exact' is given twice"),
        ([], "at least one --max-drop or --max-increase"),
    ],
)
def test_gate_bad_options_exit_2_naming_the_value(
    tmp_path: Path, uri: str, args: list[str], message: str
) -> None:
    code, out, err = invoke("gate", "--baseline", "v0", "--candidate", "v1", *args, "--tracking-uri", uri)
    assert code == 2
    assert message in flat(out + err), out + err


def test_gate_exit_codes_and_formats(tmp_path: Path, uri: str) -> None:
    build(tmp_path, _three_versions)
    base = ["gate", "--baseline", "v0", "--tracking-uri", uri]

    code, out, _ = invoke(
        *base, "--candidate", "v1", "--max-drop", "exact=0.02", "--max-increase", "p95_latency=25%"
    )
    assert code == 0, out  # better quality, 20% slower: within 25%

    code, out, _ = invoke(
        *base,
        "--candidate",
        "v1",
        "--max-increase",
        "p95_latency=10%",
        "--max-increase",
        "cost_per_request=5%",
    )
    assert code == 1
    failed = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 2 and failed[0].startswith("FAILED p95_latency: rose by 2 (10 → 12)")

    code, out, err = invoke(*base, "--candidate", "v2", "--max-drop", "exact=0.02", "--format", "json")
    assert code == 1
    d = json.loads(out)  # stdout stays pure JSON; the failure lines go to stderr
    assert d["passed"] is False and d["checks"][0]["significant"] is True
    assert "FAILED exact/mean" in err

    code, out, err = invoke(*base, "--candidate", "v2", "--max-drop", "exact=0.02", "--format", "markdown")
    assert code == 1 and out.startswith("### genver gate ❌ failed") and "FAILED exact/mean" in err

    code, out, _ = invoke(*base, "--candidate", "v1", "--max-drop", "exactt=0.02")
    assert code == 2 and "Unknown metric 'exactt'" in out and "p95_latency" in out
    code, out, _ = invoke(*base, "--candidate", "nope", "--max-drop", "exact=0.02")
    assert code == 2 and "'nope'" in out


def test_gate_fails_closed_when_the_candidate_was_not_evaluated(tmp_path: Path, uri: str) -> None:
    def fill(gv: Genver) -> None:
        _three_versions(gv)
        gv.create_external_model(name="fresh")

    build(tmp_path, fill)
    code, out, _ = invoke(
        "gate", "--baseline", "v0", "--candidate", "fresh", "--max-drop", "exact=0.02", "--tracking-uri", uri
    )
    assert code == 1
    assert "FAILED exact/mean: candidate fresh" in " ".join(out.split())


def test_compare_and_gate_read_what_genai_evaluate_writes(tmp_path: Path, uri: str) -> None:
    from genver.genai.evaluation import evaluate as genai_evaluate
    from genver.genai.scorers import scorer

    @scorer
    def exact(outputs: str, expectations: dict[str, str]) -> bool:
        return outputs == expectations["answer"]

    rows = [
        {"inputs": {"question": q}, "expectations": {"answer": str(2 * i)}} for i, q in enumerate(QUESTIONS)
    ]

    def fill(gv: Genver) -> None:
        for name, broken in (("adder-v1", 0), ("adder-v2", 3)):
            model = gv.create_external_model(name=name)
            genai_evaluate(
                rows, [exact], predict_fn=adder(gv, broken_every=broken), model_id=model.model_id, genver=gv
            )

    build(tmp_path, fill)
    code, out, _ = invoke(
        "models", "compare", "adder-v1", "adder-v2", "--format", "json", "--tracking-uri", uri
    )
    assert code == 0, out
    (metric,) = json.loads(out)["metrics"]
    assert metric["key"] == "exact/mean" and metric["values"] == [1.0, pytest.approx(2 / 3)]
    assert metric["bootstrap"][1]["n"] == 30 and metric["bootstrap"][1]["verdict"] == "worse"

    code, out, _ = invoke(
        "gate",
        "--baseline",
        "adder-v1",
        "--candidate",
        "adder-v2",
        "--max-drop",
        "exact=0.02",
        "--tracking-uri",
        uri,
    )
    assert code == 1 and "FAILED exact/mean" in out
