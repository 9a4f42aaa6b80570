"""Judges never fail silently (issue 11, item 4), through ``genai.evaluate`` against a local fake
endpoint: a judge that cannot reach its model makes its rows errors, stays in ``result.metrics``
with ``<name>/error_count``, and logs exactly one warning line naming the endpoint and the
setting that fixes it."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genver.entities import LoggedModel
from genver.fluent import Genver
from genver.genai.evaluation import evaluate
from genver.genai.scorers import Correctness, Guidelines, RelevanceToQuery, scorer
from tests.genai._eval_support import default_instance, instance
from tests.genai._fake_judge import FakeJudge, Reply, closed_port_url, completion, verdict

QUESTIONS = {"Capital of France?": "Paris", "Capital of Italy?": "Rome", "Capital of Spain?": "Lyon"}
ROWS = [{"inputs": {"question": q}, "expectations": {"expected_response": a}} for q, a in QUESTIONS.items()]
GUIDE = ["Answer in one word"]


def answer(question: str) -> str:
    return {"Capital of France?": "Paris", "Capital of Italy?": "Rome"}.get(question, "Madrid")


def grade(prompt: str) -> Reply:
    """Correct when the response is the expected one; every guideline is followed."""
    if "Expected response:" not in prompt:
        return verdict("yes", "follows the guidelines")
    response = prompt.split("Response:\n", 1)[1].split("\n", 1)[0]
    expected = prompt.split("Expected response:\n", 1)[1].split("\n", 1)[0]
    ok = response == expected
    return verdict("yes" if ok else "no", f"{response} {'is' if ok else 'is not'} {expected}")


@pytest.fixture
def fake() -> Iterator[FakeJudge]:
    server = FakeJudge()
    server.grade = grade
    yield server
    server.close()


@pytest.fixture
def gv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Genver]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    for name in (
        "GENVER_JUDGE_MODEL",
        "GENVER_JUDGE_BASE_URL",
        "GENVER_JUDGE_API_KEY",
        "GENVER_JUDGE_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    with instance(tmp_path, monkeypatch) as g:
        yield g


@pytest.fixture
def model(gv: Genver) -> LoggedModel:
    return gv.create_external_model(name="capitals-v1")


def judge_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "genver.genai" and r.levelno == logging.WARNING
    ]


def env_for(fake: FakeJudge, **more: str) -> dict[str, str]:
    return {"GENVER_JUDGE_BASE_URL": fake.base_url, "GENVER_JUDGE_API_KEY": "sk-test", **more}


# -- the scenario -----------------------------------------------------------------------------------
def test_no_judge_endpoint_configured_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``import genver as mlflow`` with no endpoint: every row errors at once (no request is
    sent), the judges stay in the metrics with their error counts, and each warns once."""
    caplog.set_level(logging.WARNING, "genver.genai")
    with default_instance(tmp_path, monkeypatch) as mlflow:
        from genver.genai.scorers import Correctness, Guidelines

        started = time.monotonic()
        result = mlflow.genai.evaluate(
            data=ROWS,
            scorers=[Correctness(), Guidelines(name="one_word", guidelines=GUIDE)],
            predict_fn=answer,
        )
        assert time.monotonic() - started < 30
    assert result.metrics == {"correctness/error_count": 3.0, "one_word/error_count": 3.0}
    assert result.error_counts == {"correctness": 3, "one_word": 3}
    assert not result.passed
    assert result.result_df is not None
    errors = set(result.result_df["correctness/error"])
    assert len(errors) == 1 and "no API key for the judge endpoint https://api.openai.com/v1" in errors.pop()
    lines = judge_warnings(caplog)
    assert len(lines) == 2  # one per judge, not one per row
    for line, name in zip(sorted(lines), ("correctness", "one_word"), strict=True):
        assert "\n" not in line
        assert line.startswith(
            f"Judge {name!r} (model 'gpt-4.1-mini' at https://api.openai.com/v1/chat/completions)"
        )
        assert "failed on 3 of 3 rows" in line
        assert "set GENVER_JUDGE_BASE_URL (or OPENAI_BASE_URL, OPENAI_API_BASE)" in line
        assert "GENVER_JUDGE_API_KEY (or OPENAI_API_KEY)" in line
        assert f"counted in the metric '{name}/error_count'" in line


def test_the_same_evaluation_with_an_endpoint_configured(
    gv: Genver,
    model: LoggedModel,
    fake: FakeJudge,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "genver.genai")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    judges = [Correctness(model="openai:/gpt-4o-mini"), Guidelines(name="one_word", guidelines=GUIDE)]
    result = evaluate(ROWS, judges, predict_fn=answer, model_id=model.model_id, genver=gv)
    assert result.metrics == {"correctness/mean": pytest.approx(2 / 3), "one_word/mean": 1.0}
    assert result.error_counts == {} and result.passed and judge_warnings(caplog) == []
    frame = result.result_df
    assert frame is not None
    df = frame.set_index(frame["inputs"].map(lambda i: i["question"]))
    assert df.loc["Capital of Spain?", "correctness/value"] == "no"
    assert df.loc["Capital of Spain?", "correctness/rationale"] == "Madrid is not Lyon"
    assert df.loc["Capital of France?", "correctness/value"] == "yes"
    assert df.loc["Capital of France?", "one_word/rationale"] == "follows the guidelines"
    assert {h["authorization"] for h in fake.headers} == {"Bearer sk-env"}
    assert {r["model"] for r in fake.requests} == {"gpt-4o-mini", "gpt-4.1-mini"}  # given, default
    stored = gv.client.get_assessments(run_id=result.run_id, name="one_word")
    assert {a.metadata.get("guideline") for a in stored} == {"Answer in one word"}
    assert {a.source.source_type for a in stored} == {"LLM_JUDGE"}


# -- endpoint failures -------------------------------------------------------------------------------------
def test_5xx_on_every_attempt_makes_the_rows_errors(
    gv: Genver, model: LoggedModel, fake: FakeJudge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "genver.genai")

    def broken_correctness(body: dict[str, Any]) -> Reply:
        prompt = str(body["messages"][-1]["content"])
        return Reply(500, {"error": "overloaded"}) if "Expected response:" in prompt else grade(prompt)

    fake.replies = [broken_correctness]
    env = env_for(fake)
    judges = [Correctness(environ=env, retry_backoff=0), Guidelines(GUIDE, environ=env, retry_backoff=0)]
    result = evaluate(ROWS, judges, predict_fn=answer, model_id=model.model_id, genver=gv)
    assert result.metrics == {"correctness/error_count": 3.0, "guidelines/mean": 1.0}
    assert len(fake.requests) == 3 * 3 + 3  # each correctness call tried 3 times; guidelines once
    (line,) = judge_warnings(caplog)
    assert f"Judge 'correctness' (model 'gpt-4.1-mini' at {fake.base_url}/chat/completions)" in line
    assert "failed on 3 of 3 rows: JudgeUnavailableError: judge endpoint" in line
    assert "answered HTTP 500" in line and "(after 3 attempts)" in line
    assert "set GENVER_JUDGE_BASE_URL (or OPENAI_BASE_URL, OPENAI_API_BASE) to a reachable" in line
    stored = gv.client.get_assessments(run_id=result.run_id, name="correctness")
    assert len(stored) == 3 and {a.error.error_code for a in stored if a.error} == {"JUDGE_UNAVAILABLE"}
    assert all(a.value is None for a in stored)
    # the version carries the count too, with the dataset, as the gate reads it
    keys = {m.key: m.value for m in gv.get_logged_model(model.model_id).metrics or []}
    assert keys == {"correctness/error_count": 3.0, "guidelines/mean": 1.0}


def test_an_unreachable_endpoint_fails_fast_and_names_the_argument(
    gv: Genver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "genver.genai")
    url = closed_port_url()
    rows = [
        {"inputs": {"question": f"q{i}"}, "outputs": "a", "expectations": {"expected_response": "a"}}
        for i in range(40)
    ]
    judge = Correctness(model="judge", base_url=url, api_key="-", retry_backoff=0.2)
    started = time.monotonic()
    result = evaluate(rows, [judge], max_workers=4, genver=gv)
    took = time.monotonic() - started
    assert result.metrics == {"correctness/error_count": 40.0}
    # after 5 calls in a row could not connect, the rest fail without trying (and without backoff)
    assert took < 15
    assert result.result_df is not None
    messages = list(result.result_df["correctness/error"])
    assert any("could not reach judge endpoint" in m for m in messages)
    assert sum("not called: the last" in m for m in messages) >= 30
    (line,) = judge_warnings(caplog)
    assert f"at {url}/chat/completions) failed on 40 of 40 rows" in line
    assert "set the judge's base_url= to a reachable OpenAI-compatible endpoint" in line


@pytest.mark.parametrize(
    ("reply", "code", "fix"),
    [
        (
            Reply(401, {"error": "bad key"}),
            "JUDGE_AUTH_ERROR",
            "set GENVER_JUDGE_API_KEY (or OPENAI_API_KEY) to a key",
        ),
        (
            Reply(404, {"error": "model not found"}),
            "JUDGE_ERROR",
            "set GENVER_JUDGE_MODEL (or MLFLOW_GENAI_JUDGE_DEFAULT_MODEL) to a model",
        ),
        (
            completion("I think it is fine."),
            "JUDGE_PARSE_ERROR",
            "did not reply with the JSON verdict asked for",
        ),
        (
            completion('{"result": "maybe", "rationale": "unsure"}'),
            "JUDGE_PARSE_ERROR",
            "choose another with GENVER_JUDGE_MODEL",
        ),
        (Reply(200, "<html>gateway</html>"), "JUDGE_PARSE_ERROR", "did not reply with the JSON verdict"),
    ],
)
def test_each_failure_names_its_fix(
    gv: Genver, fake: FakeJudge, caplog: pytest.LogCaptureFixture, reply: Reply, code: str, fix: str
) -> None:
    caplog.set_level(logging.WARNING, "genver.genai")
    fake.replies = [reply]
    result = evaluate(ROWS, [Correctness(environ=env_for(fake))], predict_fn=answer, genver=gv)
    assert result.metrics == {"correctness/error_count": 3.0}
    assert len(fake.requests) == 3  # none of these is retried
    stored = gv.client.get_assessments(run_id=result.run_id, name="correctness")
    assert {a.error.error_code for a in stored if a.error} == {code}
    (line,) = judge_warnings(caplog)
    assert fix in line and "failed on 3 of 3 rows" in line


def test_a_timeout_names_the_timeout_setting(
    gv: Genver, fake: FakeJudge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "genver.genai")
    fake.delay = 0.6
    env = env_for(fake, GENVER_JUDGE_TIMEOUT="0.2")
    result = evaluate(ROWS[:2], [Correctness(environ=env)], predict_fn=answer, genver=gv)
    assert result.error_counts == {"correctness": 2}
    (line,) = judge_warnings(caplog)
    assert "did not answer within 0.2 s" in line and "or raise GENVER_JUDGE_TIMEOUT (now 0.2 s)" in line


def test_429_then_success_is_retried_and_scored(
    gv: Genver, fake: FakeJudge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "genver.genai")
    fake.replies = [
        Reply(429, {"error": "slow down"}, {"Retry-After": "0"}),
        Reply(503, "busy"),
        verdict("yes"),
    ]
    result = evaluate(
        ROWS[:1], [Correctness(environ=env_for(fake), retry_backoff=0)], predict_fn=answer, genver=gv
    )
    assert result.metrics == {"correctness/mean": 1.0} and judge_warnings(caplog) == []
    assert len(fake.requests) == 3


def test_some_rows_failing_keeps_the_mean_of_the_others(
    gv: Genver, fake: FakeJudge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "genver.genai")

    def flaky(body: dict[str, Any]) -> Reply:
        prompt = str(body["messages"][-1]["content"])
        return completion("no idea") if "Rome" in prompt else grade(prompt)

    fake.replies = [flaky]
    result = evaluate(ROWS, [Correctness(environ=env_for(fake))], predict_fn=answer, genver=gv)
    assert result.metrics == {"correctness/mean": 0.5, "correctness/error_count": 1.0}
    (line,) = judge_warnings(caplog)
    assert "failed on 1 of 3 rows: JudgeParseError" in line


def test_code_scorers_that_fail_warn_once_too(gv: Genver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "genver.genai")

    @scorer
    def broken(outputs: str) -> bool:
        raise KeyError("missing")

    result = evaluate(ROWS, [broken], predict_fn=answer, genver=gv)
    assert result.metrics == {"broken/error_count": 3.0}
    assert judge_warnings(caplog) == [
        "Scorer 'broken' failed on 3 of 3 rows: KeyError: 'missing'. The failed rows are counted in the "
        "metric 'broken/error_count'."
    ]


def test_a_fixed_endpoint_clears_the_error_count_of_the_version(
    gv: Genver, model: LoggedModel, fake: FakeJudge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "genver.genai")
    fake.replies = [Reply(401, {"error": "bad key"})]
    first = evaluate(
        ROWS, [Correctness(environ=env_for(fake))], predict_fn=answer, model_id=model.model_id, genver=gv
    )
    assert first.metrics == {"correctness/error_count": 3.0}
    fake.replies = []
    again = evaluate(
        ROWS, [Correctness(environ=env_for(fake))], predict_fn=answer, model_id=model.model_id, genver=gv
    )
    assert again.metrics == {"correctness/mean": pytest.approx(2 / 3), "correctness/error_count": 0.0}
    other = gv.create_external_model(name="never-failed")
    clean = evaluate(
        ROWS, [Correctness(environ=env_for(fake))], predict_fn=answer, model_id=other.model_id, genver=gv
    )
    assert clean.metrics == {"correctness/mean": pytest.approx(2 / 3)}  # no count where none was logged


def test_judges_are_thread_safe_across_rows(gv: Genver, fake: FakeJudge) -> None:
    fake.delay = 0.02
    rows = [
        {"inputs": {"question": f"q{i}"}, "outputs": f"a{i}", "expectations": {"expected_response": f"a{i}"}}
        for i in range(32)
    ]
    judges = [Correctness(environ=env_for(fake)), RelevanceToQuery(environ=env_for(fake))]
    result = evaluate(rows, judges, max_workers=8, genver=gv)
    assert result.metrics == {"correctness/mean": 1.0, "relevance_to_query/mean": 1.0}
    assert len(fake.requests) == 64
