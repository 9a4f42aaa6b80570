"""``genver gate`` refuses a metric whose rows errored: a candidate (or baseline) evaluated by a
judge that could not reach its model exits 1, and the message names the metric and how many rows
errored. Evaluated through ``genai.evaluate`` against a local fake judge endpoint; gated through
the real CLI."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from genver.cli import app
from genver.fluent import Genver
from genver.genai import gate
from genver.genai.evaluation import evaluate
from genver.genai.scorers import Correctness, Guidelines
from tests.genai._eval_support import make_eval_genver
from tests.genai._fake_judge import FakeJudge, Reply, verdict

ROWS = [
    {"inputs": {"question": f"{i} + {i}?"}, "expectations": {"expected_response": str(2 * i)}}
    for i in range(6)
]


def answer(question: str) -> str:
    i = int(question.split()[0])
    return str(2 * i)


@pytest.fixture
def fake() -> Iterator[FakeJudge]:
    server = FakeJudge()
    yield server
    server.close()


@pytest.fixture
def uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    for var in (
        "GENVER_TRACKING_URI",
        "MLFLOW_TRACKING_URI",
        "GENVER_ACTIVE_MODEL_ID",
        "MLFLOW_ACTIVE_MODEL_ID",
    ):
        monkeypatch.delenv(var, raising=False)
    return f"sqlite:///{tmp_path}/gate.db"


@pytest.fixture
def gv(tmp_path: Path, uri: str) -> Iterator[Genver]:
    g = make_eval_genver(tmp_path, "gate.db")
    yield g
    g.flush_trace_async_logging(terminate=True)
    g.client.close()


def judges(fake: FakeJudge) -> list[Any]:
    env = {"GENVER_JUDGE_BASE_URL": fake.base_url, "GENVER_JUDGE_API_KEY": "sk-test"}
    return [
        Correctness(environ=env, retry_backoff=0),
        Guidelines("Answer with a number", environ=env, retry_backoff=0),
    ]


def evaluated(gv: Genver, fake: FakeJudge, name: str) -> str:
    model = gv.set_active_model(name=name)  # the version named so (created once)
    gv.clear_active_model()
    evaluate(ROWS, judges(fake), predict_fn=answer, model_id=model.model_id, genver=gv)
    return model.model_id


def run_gate(uri: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, ["gate", "--baseline", "base", "--candidate", "cand", *args, "--tracking-uri", uri]
    )
    return result.exit_code, result.stdout, result.stderr


def flat(text: str) -> str:
    return " ".join(text.split())


def test_a_candidate_whose_judge_errored_fails_the_gate(
    gv: Genver, fake: FakeJudge, uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "genver.genai")
    evaluated(gv, fake, "base")

    def half_down(body: dict[str, Any]) -> Reply:  # the judge endpoint fails on half the rows
        prompt = str(body["messages"][-1]["content"])
        return Reply(503, "busy") if any(f"{i} + {i}?" in prompt for i in (0, 1, 2)) else verdict("yes")

    fake.replies = [half_down]
    evaluated(gv, fake, "cand")
    assert sum("Judge 'correctness'" in r.getMessage() for r in caplog.records) == 1

    code, out, err = run_gate(uri, "--max-drop", "correctness=0.5", "--max-drop", "guidelines=0.5")
    assert code == 1, out + err
    text = flat(out)
    assert "FAILED correctness/mean: candidate cand (m-" in text
    assert "has 3 rows where 'correctness' errored on dataset" in text
    assert "correctness/mean leaves them out, so it is not compared" in text
    assert (
        "FAILED guidelines/mean: candidate cand" in text and "has 3 rows where 'guidelines' errored" in text
    )
    assert "Gate failed." in text

    # the JSON output says the same, the reason on stderr
    code, out, err = run_gate(uri, "--max-drop", "correctness=0.5", "--format", "json")
    assert code == 1
    (check,) = json.loads(out)["checks"]
    assert check["metric"] == "correctness/mean" and not check["passed"]
    assert "has 3 rows where 'correctness' errored" in check["reason"]
    assert "FAILED correctness/mean: candidate cand" in err

    # fixed and evaluated again: the gate passes (the count on the version is now 0)
    fake.replies = []
    evaluated(gv, fake, "cand")
    code, out, err = run_gate(uri, "--max-drop", "correctness=0.5", "--max-drop", "guidelines=0.5")
    assert code == 0, out + err
    assert "Gate passed." in out


def test_a_judge_that_errored_on_every_row_fails_the_gate_by_name(
    gv: Genver, fake: FakeJudge, uri: str
) -> None:
    evaluated(gv, fake, "base")
    fake.replies = [Reply(401, {"error": "bad key"})]
    evaluated(gv, fake, "cand")  # no correctness/mean at all: only correctness/error_count = 6

    code, out, _ = run_gate(uri, "--max-drop", "correctness=0.1")
    assert code == 1
    assert "FAILED correctness/mean: candidate cand" in flat(out)
    assert "has 6 rows where 'correctness' errored" in flat(out)

    result = gate("base", "cand", max_drop={"correctness": 0.1}, genver=gv)
    (check,) = result.checks
    assert not result.passed and check.candidate is None and check.baseline == 1.0


def test_errors_on_the_baseline_fail_the_gate_too(gv: Genver, fake: FakeJudge, uri: str) -> None:
    fake.replies = [Reply(500, "down")]
    evaluated(gv, fake, "base")
    fake.replies = []
    evaluated(gv, fake, "cand")
    code, out, _ = run_gate(uri, "--max-drop", "guidelines=0.1")
    assert code == 1
    assert "FAILED guidelines/mean: baseline base (m-" in flat(
        out
    ) and "has 6 rows where 'guidelines' errored" in flat(out)
