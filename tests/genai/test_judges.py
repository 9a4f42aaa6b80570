"""LLM judges against a local fake OpenAI-compatible endpoint (never the internet) and against
plain callables: verdicts, prompts, malformed replies, retries, timeouts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genver.entities import Feedback
from genver.exceptions import InvalidArgumentError
from genver.fluent import Genver
from genver.genai.evaluation import evaluate
from genver.genai.scorers import (
    Correctness,
    Guidelines,
    JudgeParseError,
    RelevanceToQuery,
    Scorer,
    parse_verdict,
)
from tests.genai._eval_support import FakeChat, chat_reply, instance, verdict

ROW = {
    "inputs": {"question": "What is the capital of France?"},
    "outputs": "Paris.",
    "expectations": {"expected_response": "Paris"},
}


@pytest.fixture
def fake() -> Iterator[FakeChat]:
    server = FakeChat()
    yield server
    server.close()


def _judge(cls: type[Any], fake: FakeChat, **kwargs: Any) -> Any:
    kwargs.setdefault("model", "openai:/judge-model")
    return cls(base_url=fake.base_url, api_key="sk-test", retry_backoff=0, **kwargs)


def _run(s: Scorer, **row: Any) -> Feedback:
    (fb,) = s.run(**(row or ROW))
    return fb


# -- the endpoint -------------------------------------------------------------------------------------------
def test_correctness_asks_the_endpoint(fake: FakeChat) -> None:
    fake.replies = [verdict("yes", "It says Paris.")]
    fb = _run(_judge(Correctness, fake))
    assert (fb.name, fb.value, fb.rationale, fb.error) == ("correctness", "yes", "It says Paris.", None)
    assert (fb.source.source_type, fb.source.source_id) == ("LLM_JUDGE", "correctness")
    (body,) = fake.requests
    assert body["model"] == "judge-model" and body["temperature"] == 0
    prompt = body["messages"][0]["content"]
    assert body["messages"][0]["role"] == "user"
    assert "What is the capital of France?" in prompt and "Paris." in prompt
    assert "Expected response:\nParis" in prompt and '"result": "yes" or "no"' in prompt
    assert fake.headers[0]["authorization"] == "Bearer sk-test"


def test_guidelines_and_relevance(fake: FakeChat) -> None:
    fake.replies = [verdict("no", "Too curt."), verdict("yes")]
    fb = _run(_judge(Guidelines, fake, guidelines=["Answer in a full sentence", "Be polite"]))
    assert (fb.name, fb.value, fb.rationale) == ("guidelines", "no", "Too curt.")
    assert "- Answer in a full sentence\n- Be polite" in fake.requests[0]["messages"][0]["content"]
    fb = _run(_judge(RelevanceToQuery, fake))
    assert (fb.name, fb.value) == ("relevance_to_query", "yes")
    # guidelines per row, from the expectations
    fb = _run(
        _judge(Guidelines, fake, name="row_rules"),
        inputs={"q": 1},
        outputs="x",
        expectations={"guidelines": ["Mention the source"]},
    )
    assert fb.name == "row_rules" and "- Mention the source" in fake.requests[-1]["messages"][0]["content"]


def test_endpoint_and_key_default_to_the_openai_environment(fake: FakeChat) -> None:
    env = {"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "sk-env"}
    judge = Correctness(model="gpt-judge", environ=env)
    assert _run(judge).value == "yes"
    assert fake.requests[0]["model"] == "gpt-judge"
    assert fake.headers[0]["authorization"] == "Bearer sk-env"
    default_model = Correctness(environ={**env, "GENVER_JUDGE_MODEL": "openai:/from-env"})
    _run(default_model)
    assert fake.requests[1]["model"] == "from-env"


@pytest.mark.parametrize(
    "content",
    [
        '```json\n{"result": "yes", "rationale": "fine"}\n```',
        'Sure! Here is my verdict: {"result": "YES", "rationale": "fine"} Hope it helps.',
        '{"rationale": "fine", "result": true}',
        'I think... {"note": 1} then {"result": "pass", "rationale": "fine"}',
    ],
)
def test_replies_are_parsed_robustly(fake: FakeChat, content: str) -> None:
    fake.replies = [chat_reply(content)]
    fb = _run(_judge(Correctness, fake))
    assert (fb.value, fb.rationale, fb.error) == ("yes", "fine", None)


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (chat_reply("I cannot decide."), "JUDGE_PARSE_ERROR"),
        (chat_reply('{"result": "maybe"}'), "JUDGE_PARSE_ERROR"),
        ((200, "not json at all"), "JUDGE_PARSE_ERROR"),
        ((200, {"choices": []}), "JUDGE_PARSE_ERROR"),
        ((401, {"error": "bad key"}), "JUDGE_AUTH_ERROR"),
        ((404, {"error": "no such model"}), "JUDGE_ERROR"),
    ],
)
def test_malformed_replies_become_feedback_errors(fake: FakeChat, reply: Any, code: str) -> None:
    fake.replies = [reply]
    fb = _run(_judge(Correctness, fake))
    assert fb.value is None and fb.error is not None and fb.error.error_code == code
    assert fb.name == "correctness" and fb.source.source_type == "LLM_JUDGE"
    assert len(fake.requests) == 1  # not retried


def test_5xx_is_retried_twice(fake: FakeChat) -> None:
    fake.replies = [(500, {"error": "overloaded"}), (503, "busy"), verdict("yes")]
    assert _run(_judge(Correctness, fake)).value == "yes"
    assert len(fake.requests) == 3
    fake.requests.clear()
    fake.replies = [(500, {"error": "down"})]
    fb = _run(_judge(Correctness, fake))
    assert fb.error is not None and fb.error.error_code == "JUDGE_UNAVAILABLE"
    assert "HTTP 500" in (fb.error.error_message or "") and "after 3 attempts" in (
        fb.error.error_message or ""
    )
    assert len(fake.requests) == 3


def test_timeouts_and_unreachable_endpoints(fake: FakeChat) -> None:
    fake.delay = 0.5
    fb = _run(_judge(Correctness, fake, timeout=0.05, max_retries=1))
    assert fb.error is not None and fb.error.error_code == "JUDGE_TIMEOUT"
    assert "did not answer within 0.05 s (after 1 attempt)" in (fb.error.error_message or "")
    fake.close()
    fb = _run(_judge(Correctness, fake, max_retries=0))
    assert fb.error is not None and fb.error.error_code == "JUDGE_UNAVAILABLE"
    assert "could not reach judge endpoint" in (fb.error.error_message or "")


# -- callables -----------------------------------------------------------------------------------------------------
def test_a_callable_judge() -> None:
    prompts: list[str] = []

    def llm(prompt: str) -> str:
        prompts.append(prompt)
        return '{"result": "no", "rationale": "wrong city"}'

    fb = _run(
        Correctness(model=llm), inputs={"q": "capital?"}, outputs="Lyon", expectations=ROW["expectations"]
    )
    assert (fb.value, fb.rationale) == ("no", "wrong city")
    assert "Lyon" in prompts[0]
    dict_reply = _run(RelevanceToQuery(model=lambda p: {"result": "yes", "rationale": "on topic"}))
    assert (dict_reply.value, dict_reply.rationale) == ("yes", "on topic")
    failing = _run(RelevanceToQuery(model=lambda p: 1 / 0))
    assert failing.error is not None and failing.error.error_code == "ZeroDivisionError"


def test_correctness_needs_an_expectation_and_guidelines_need_rules() -> None:
    fb = _run(Correctness(model=lambda p: "yes"), inputs={}, outputs="x", expectations={})
    assert fb.error is not None and fb.error.error_code == "MISSING_EXPECTATION"
    facts = _run(
        Correctness(model=lambda p: "Yes."),
        inputs={},
        outputs="x",
        expectations={"expected_facts": ["a", "b"]},
    )
    assert facts.value == "yes"
    fb = _run(Guidelines(model=lambda p: "yes"), inputs={}, outputs="x", expectations={})
    assert fb.error is not None and fb.error.error_code == "MISSING_EXPECTATION"


def test_bad_judge_arguments_name_the_value() -> None:
    with pytest.raises(InvalidArgumentError, match="Invalid judge model 'anthropic:/claude'"):
        Correctness(model="anthropic:/claude")
    with pytest.raises(InvalidArgumentError, match="Invalid judge model ''"):
        Correctness(model="")
    with pytest.raises(InvalidArgumentError, match=r"Invalid guidelines \[1\]"):
        Guidelines(guidelines=[1])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError, match="Invalid max_retries -1"):
        Correctness(model=lambda p: "yes", max_retries=-1)


def test_parse_verdict() -> None:
    assert parse_verdict('{"result": "no", "rationale": "x"}') == ("no", "x")
    assert parse_verdict("result: yes") == ("yes", "result: yes")
    assert parse_verdict("No.") == ("no", "No.")
    for bad in ("No verdict here", "", "{}", 42):
        with pytest.raises(JudgeParseError):
            parse_verdict(bad)


# -- judges inside evaluate ------------------------------------------------------------------------------------------
@pytest.fixture
def gv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Genver]:
    with instance(tmp_path, monkeypatch) as g:
        yield g


def test_judges_in_an_evaluation(gv: Genver, fake: FakeChat) -> None:
    def grade(body: dict[str, Any]) -> tuple[int, Any]:
        prompt = body["messages"][0]["content"]
        if "Response:\nbroken" in prompt:
            return 200, {"choices": [{"message": {"content": "no idea"}}]}
        return verdict("yes" if "Response:\nParis" in prompt else "no", "checked")

    fake.replies = [grade]
    model = gv.create_external_model(name="judged")
    answers = {"France?": "Paris", "Italy?": "Milan", "Spain?": "broken"}
    rows = [{"inputs": {"question": q}, "expectations": {"expected_response": "x"}} for q in answers]
    judges = [_judge(Correctness, fake), _judge(RelevanceToQuery, fake)]
    result = evaluate(
        rows, judges, predict_fn=lambda question: answers[question], model_id=model.model_id, genver=gv
    )
    assert result.metrics == {
        "correctness/mean": 0.5,
        "relevance_to_query/mean": 0.5,
        "correctness/error_count": 1.0,
        "relevance_to_query/error_count": 1.0,
    }
    assert result.error_counts == {"correctness": 1, "relevance_to_query": 1}
    stored = gv.client.store.get_assessments(run_id=result.run_id, name="correctness")
    assert sorted(json.dumps(a.value) for a in stored) == ['"no"', '"yes"', "null"]
    assert {a.source.source_type for a in stored} == {"LLM_JUDGE"}
    assert {a.rationale for a in stored if a.error is None} == {"checked"}
    assert [a.error.error_code for a in stored if a.error is not None] == ["JUDGE_PARSE_ERROR"]
