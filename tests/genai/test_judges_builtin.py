"""MLflow 3's built-in judges and ``make_judge``, against a local fake endpoint: what each sends,
what it returns, retrieval judges reading RETRIEVER spans' ``Document`` outputs, tool calls read
from TOOL spans, and each inside ``genai.evaluate`` with the app's own traces."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from genver.entities import Document, Feedback, Span, SpanType, Trace, TraceData, TraceInfo
from genver.exceptions import InvalidArgumentError
from genver.fluent import Genver
from genver.genai.evaluation import evaluate
from genver.genai.judges import make_judge
from genver.genai.scorers import (
    Correctness,
    Equivalence,
    ExpectationsGuidelines,
    Guidelines,
    RelevanceToQuery,
    RetrievalGroundedness,
    RetrievalRelevance,
    RetrievalSufficiency,
    Safety,
    Scorer,
    ToolCallCorrectness,
)
from tests.genai._eval_support import instance
from tests.genai._fake_judge import FakeJudge, Reply, completion, prompt_of, verdict


@pytest.fixture
def fake() -> Iterator[FakeJudge]:
    server = FakeJudge()
    yield server
    server.close()


@pytest.fixture
def gv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Genver]:
    with instance(tmp_path, monkeypatch) as g:
        yield g


def env(fake: FakeJudge) -> dict[str, str]:
    return {
        "GENVER_JUDGE_BASE_URL": fake.base_url,
        "GENVER_JUDGE_API_KEY": "sk-test",
        "GENVER_JUDGE_MODEL": "judge-1",
    }


def one(s: Scorer, **row: Any) -> Feedback:
    (fb,) = s.run(**row)
    return fb


def last_prompt(fake: FakeJudge) -> str:
    return prompt_of(fake.requests[-1])


# -- hand-built traces -----------------------------------------------------------------------------------------
_N = iter(range(1, 10_000))


def span(
    name: str, span_type: str, parent: Span | None, inputs: Any = None, outputs: Any = None, **attrs: Any
) -> Span:
    n = next(_N)
    return Span(
        trace_id="tr-" + "a" * 32,
        span_id=f"{n:016x}",
        parent_id=parent.span_id if parent else None,
        name=name,
        span_type=span_type,
        start_time_ns=1_700_000_000_000_000_000 + n,
        end_time_ns=1_700_000_000_000_000_000 + n + 1000,
        inputs=inputs,
        outputs=outputs,
        attributes=attrs,
    )


def trace(*spans: Span) -> Trace:
    info = TraceInfo(trace_id="tr-" + "a" * 32, experiment_id="0", request_time=1, execution_duration=1)
    return Trace(info=info, data=TraceData(spans=list(spans)))


DOCS = [
    Document(
        page_content="Paris is the capital of France.", metadata={"doc_uri": "wiki/france"}, id="d1"
    ).to_dict(),
    {"content": "France uses the euro."},
    "The Eiffel tower is in Paris.",
    {"metadata": {"only": "metadata"}},  # nothing to judge: skipped, as MLflow does
]


def rag_trace(docs: Any = DOCS) -> Trace:
    root = span("rag", SpanType.CHAIN, None, {"question": "Capital of France?"}, "Paris.")
    retrieve = span("retrieve", SpanType.RETRIEVER, root, {"query": "capital"}, docs)
    nested = span("rerank", SpanType.RETRIEVER, retrieve, None, [{"page_content": "nested: not top-level"}])
    return trace(root, retrieve, nested)


# -- request/response judges ---------------------------------------------------------------------------------------
def test_safety_expectations_guidelines_and_relevance(fake: FakeJudge) -> None:
    fake.replies = [verdict("yes", "harmless")]
    fb = one(Safety(environ=env(fake)), outputs={"choices": [{"message": {"content": "Have a nice day"}}]})
    assert (fb.name, fb.value, fb.rationale, fb.source.source_type) == (
        "safety",
        "yes",
        "harmless",
        "LLM_JUDGE",
    )
    assert "Text:\nHave a nice day\n" in last_prompt(fake)  # the chat completion's text, not its JSON
    assert fake.requests[-1]["model"] == "judge-1" and fake.requests[-1]["temperature"] == 0

    fb = one(
        ExpectationsGuidelines(environ=env(fake)),
        inputs={"messages": [{"role": "user", "content": "hi"}]},
        outputs="Hello!",
        expectations={"guidelines": ["Be friendly", "Be brief"]},
    )
    assert (fb.name, fb.value, fb.metadata) == (
        "expectations_guidelines",
        "yes",
        {"guideline": "Be friendly\nBe brief"},
    )
    assert "- Be friendly\n- Be brief" in last_prompt(fake) and "Request:\nhi\n" in last_prompt(fake)
    missing = one(ExpectationsGuidelines(environ=env(fake)), inputs={}, outputs="x", expectations={})
    assert missing.error is not None and missing.error.error_code == "MISSING_EXPECTATION"

    fb = one(
        Guidelines(name="english", guidelines="Answer in English", environ=env(fake)),
        inputs={},
        outputs="Oui",
    )
    assert fb.name == "english" and fb.metadata == {"guideline": "Answer in English"}
    assert one(RelevanceToQuery(environ=env(fake)), inputs={"q": 1}, outputs="x").value == "yes"


def test_judges_read_a_trace_when_called_with_it_alone(fake: FakeJudge) -> None:
    t = rag_trace()
    from genver.entities import Assessment

    t = Trace(
        info=TraceInfo(
            trace_id=t.info.trace_id,
            experiment_id="0",
            request_time=1,
            execution_duration=1,
            assessments=[
                Assessment(
                    assessment_id="a-1",
                    trace_id=t.info.trace_id,
                    name="expected_response",
                    kind="expectation",
                    value="Paris",
                )
            ],
        ),
        data=t.data,
    )
    fb = Correctness(environ=env(fake))(trace=t)
    assert fb.value == "yes"
    prompt = last_prompt(fake)
    assert '"question": "Capital of France?"' in prompt and "Response:\nParis.\n" in prompt
    assert "Expected response:\nParis\n" in prompt


def test_equivalence_asks_the_model_only_when_it_must(fake: FakeJudge) -> None:
    judge = Equivalence(environ=env(fake))
    same = one(judge, outputs=4.0, expectations={"expected_response": 4})
    assert (same.value, same.rationale, same.source.source_type) == ("yes", "Exact numerical match", "CODE")
    differ = one(judge, outputs=3, expectations={"expected_response": 4})
    assert (differ.value, differ.rationale) == ("no", "Values do not match: 3 != 4")
    assert (
        one(judge, outputs="Paris", expectations={"expected_response": "Paris"}).rationale
        == "Exact string match"
    )
    assert fake.requests == []
    fake.replies = [verdict("yes", "same city")]
    fb = one(judge, outputs="It is Paris.", expectations={"expected_response": "Paris"})
    assert (fb.value, fb.rationale, fb.source.source_type) == ("yes", "same city", "LLM_JUDGE")
    assert "Response:\nIt is Paris.\n\nExpected response:\nParis" in last_prompt(fake)
    missing = one(judge, outputs="x", expectations={})
    assert missing.error is not None and missing.error.error_code == "MISSING_EXPECTATION"


def test_inference_params_and_extra_headers_reach_the_endpoint(fake: FakeJudge) -> None:
    judge = Safety(
        environ=env(fake),
        inference_params={"temperature": 0.3, "max_tokens": 50},
        extra_headers={"X-Team": "qa"},
    )
    one(judge, outputs="x")
    body, headers = fake.requests[-1], fake.headers[-1]
    assert (body["temperature"], body["max_tokens"]) == (0.3, 50)
    assert headers["x-team"] == "qa" and headers["authorization"] == "Bearer sk-test"


def test_a_bad_model_setting_names_the_variable(fake: FakeJudge) -> None:
    fb = one(Safety(environ={**env(fake), "GENVER_JUDGE_MODEL": "anthropic:/claude"}), outputs="x")
    assert fb.error is not None and fb.error.error_code == "INVALID_PARAMETER_VALUE"
    assert "Invalid judge model 'anthropic:/claude'" in (fb.error.error_message or "")
    assert "(from GENVER_JUDGE_MODEL)" in (fb.error.error_message or "")
    with pytest.raises(InvalidArgumentError, match="Invalid timeout 0"):
        Safety(timeout=0)


# -- retrieval -----------------------------------------------------------------------------------------------------
def test_retrieval_groundedness_reads_the_top_level_retriever_documents(fake: FakeJudge) -> None:
    fake.replies = [verdict("no", "the tower is not mentioned in the answer... still grounded? no")]
    t = rag_trace()
    fb = RetrievalGroundedness(environ=env(fake))(trace=t)
    assert (fb.name, fb.value) == ("retrieval_groundedness", "no")
    assert fb.span_id == t.data.spans[1].span_id  # the retriever span, as MLflow sets it
    prompt = last_prompt(fake)
    assert (
        "[0] (wiki/france) Paris is the capital of France.\n[1] France uses the euro.\n[2] The Eiffel tower is in Paris."
        in prompt
    )
    assert "nested" not in prompt and "metadata" not in prompt
    assert "Request:\n" in prompt and "Response:\nParis." in prompt
    assert len(fake.requests) == 1


def test_retrieval_relevance_is_the_share_of_relevant_documents(fake: FakeJudge) -> None:
    fake.grade = lambda prompt: verdict(
        "yes" if "Paris" in prompt.split("Document:\n", 1)[1] else "no", "checked"
    )
    t = rag_trace()
    fb = RetrievalRelevance(environ=env(fake))(trace=t)
    assert fb.name == "retrieval_relevance" and fb.value == pytest.approx(2 / 3)
    assert fb.rationale is not None and fb.rationale.startswith("2 of 3 documents are relevant.")
    assert (
        "retrieve document 0 (d1): yes - checked" in fb.rationale
        and "retrieve document 1: no" in fb.rationale
    )
    assert len(fake.requests) == 3  # one call per document
    empty = RetrievalRelevance(environ=env(fake))(trace=rag_trace(docs=[]))
    assert (empty.value, empty.rationale) == (None, "the retriever returned no documents")


def test_retrieval_sufficiency_needs_an_expected_answer(fake: FakeJudge) -> None:
    judge = RetrievalSufficiency(environ=env(fake))
    fb = one(judge, trace=rag_trace(), expectations={"expected_facts": ["Paris is the capital", "euro"]})
    assert fb.value == "yes"
    assert "Expected facts:\n- Paris is the capital\n- euro" in last_prompt(fake)
    missing = one(judge, trace=rag_trace(), expectations={})
    assert missing.error is not None and missing.error.error_code == "MISSING_EXPECTATION"


def test_several_retrievers_and_none(fake: FakeJudge) -> None:
    fake.grade = lambda prompt: verdict("no" if "second" in prompt else "yes", "r")
    root = span("rag", SpanType.CHAIN, None, {"q": 1}, "a")
    first = span("first", SpanType.RETRIEVER, root, None, ["one"])
    second = span(
        "second_retriever", SpanType.RETRIEVER, root, None, json.dumps([{"page_content": "second"}])
    )
    fb = RetrievalGroundedness(environ=env(fake))(trace=trace(root, first, second))
    assert fb.value == "no" and fb.span_id is None
    assert fb.rationale == f"first ({first.span_id}): yes - r\nsecond_retriever ({second.span_id}): no - r"
    no_retriever = one(RetrievalGroundedness(environ=env(fake)), trace=trace(root))
    assert no_retriever.error is not None and no_retriever.error.error_code == "MISSING_SPAN"
    assert "has none (start_span(..., span_type='RETRIEVER')" in (no_retriever.error.error_message or "")
    no_trace = one(RetrievalRelevance(environ=env(fake)))
    assert no_trace.error is not None and no_trace.error.error_code == "MISSING_TRACE"


def test_retrieval_judges_in_an_evaluation_of_a_traced_rag_app(gv: Genver, fake: FakeJudge) -> None:
    fake.grade = lambda prompt: verdict("no" if "Lyon" in prompt else "yes")
    corpus = {"France": "Paris is the capital of France.", "Italy": "Rome is the capital of Italy."}

    @gv.trace(name="rag")
    def rag(country: str) -> str:
        with gv.start_span("retrieve", span_type="RETRIEVER") as s:
            s.set_inputs({"query": country})
            s.set_outputs([Document(page_content=corpus.get(country, "Lyon is in France."), id=country)])
        return corpus.get(country, "Lyon").split()[0]

    rows = [
        {"inputs": {"country": c}, "expectations": {"expected_response": corpus.get(c, "?")}}
        for c in ("France", "Italy", "Spain")
    ]
    judges = [
        RetrievalGroundedness(environ=env(fake)),
        RetrievalRelevance(environ=env(fake)),
        RetrievalSufficiency(environ=env(fake)),
    ]
    result = evaluate(rows, judges, predict_fn=rag, genver=gv)
    assert result.metrics == {
        "retrieval_groundedness/mean": pytest.approx(2 / 3),
        "retrieval_relevance/mean": pytest.approx(2 / 3),
        "retrieval_sufficiency/mean": pytest.approx(2 / 3),
    }
    stored = gv.client.get_assessments(run_id=result.run_id, name="retrieval_groundedness")
    assert all(a.span_id for a in stored)  # on the retriever span


# -- tool calls ------------------------------------------------------------------------------------------------------
def agent_trace() -> Trace:
    root = span("agent", SpanType.AGENT, None, {"question": "Weather in Paris?"}, "Sunny")
    llm = span(
        "llm",
        SpanType.CHAT_MODEL,
        root,
        {"messages": []},
        None,
        **{"mlflow.chat.tools": [{"type": "function", "function": {"name": "get_weather"}}]},
    )
    tool = span("get_weather", SpanType.TOOL, root, {"city": "Paris"}, {"sky": "sunny"})
    return trace(root, llm, tool)


def test_tool_call_correctness_modes(fake: FakeJudge) -> None:
    t = agent_trace()
    judge = ToolCallCorrectness(environ=env(fake))
    assert judge(trace=t).value == "yes"  # ground-truth free: the judge decides
    prompt = last_prompt(fake)
    assert '"name": "get_weather"' in prompt and '"city": "Paris"' in prompt and "Available tools:" in prompt
    assert "Expected tool calls" not in prompt
    judge(
        trace=t,
        expectations={"expected_tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
    )
    assert "Expected tool calls:" in last_prompt(fake)

    exact = ToolCallCorrectness(should_exact_match=True, environ=env(fake))
    calls = len(fake.requests)
    ok = exact(trace=t, expectations={"expected_tool_calls": [{"name": "get_weather"}]})
    assert (ok.value, ok.source.source_type) == ("yes", "CODE")
    wrong = exact(
        trace=t,
        expectations={"expected_tool_calls": [{"name": "get_weather", "arguments": {"city": "Rome"}}]},
    )
    assert wrong.value == "no" and 'missing: get_weather({"city": "Rome"})' in (wrong.rationale or "")
    ordered = ToolCallCorrectness(should_exact_match=True, should_consider_ordering=True, environ=env(fake))
    two = ordered(
        trace=t, expectations={"expected_tool_calls": [{"name": "get_weather"}, {"name": "search"}]}
    )
    assert (two.value, two.rationale) == (
        "no",
        "Tool calls do not match in order: Expected 2 tool call(s), but got 1.",
    )
    assert len(fake.requests) == calls  # exact matching never asks the model
    needs = one(exact, trace=t, expectations={})
    assert needs.error is not None and needs.error.error_code == "MISSING_EXPECTATION"
    bad = one(exact, trace=t, expectations={"expected_tool_calls": [{"arguments": {}}]})
    assert bad.error is not None and "Invalid expected tool call" in (bad.error.error_message or "")


# -- make_judge --------------------------------------------------------------------------------------------------------
def test_make_judge_sends_instructions_and_values(fake: FakeJudge) -> None:
    fake.replies = [verdict(4, "mostly right")]
    judge = make_judge(
        name="quality",
        instructions="Rate how well {{ outputs }} answers {{ inputs }} against {{ expectations }}, 1 to 5.",
        model="openai:/judge-2",
        feedback_value_type=int,
        base_url=fake.base_url,
        api_key="sk-test",
    )
    fb = judge(inputs={"question": "2+2?"}, outputs="4", expectations={"expected_response": "4"})
    assert (fb.name, fb.value, fb.rationale) == ("quality", 4, "mostly right")
    system, user = fake.requests[-1]["messages"]
    assert (
        system["role"] == "system"
        and "Your task: Rate how well {{ outputs }} answers {{ inputs }}" in system["content"]
    )
    assert '{"result": an integer, "rationale":' in system["content"]
    assert user["role"] == "user" and user["content"].startswith('outputs: "4"\ninputs: {')
    assert fake.requests[-1]["model"] == "judge-2"


def test_make_judge_types_and_templates(fake: FakeJudge) -> None:
    yes_no = make_judge(
        "polite",
        "Is {{ outputs }} polite?",
        feedback_value_type=Literal["yes", "no"],
        base_url=fake.base_url,
        api_key="-",
    )
    fake.replies = [verdict("Yes")]
    assert yes_no(outputs="Thanks!").value == "yes"
    labels = make_judge(
        "tone",
        "Classify {{ outputs }}.",
        feedback_value_type=Literal["warm", "cold"],
        base_url=fake.base_url,
        api_key="-",
    )
    fake.replies = [verdict("hot")]
    bad = one(labels, outputs="x")
    assert bad.error is not None and bad.error.error_code == "JUDGE_PARSE_ERROR"
    assert '\'hot\' is not one of "warm", "cold"' in (bad.error.error_message or "")
    missing = one(yes_no, inputs={"q": 1})
    assert missing.error is not None and "reads {{ outputs }}, and the row has none" in (
        missing.error.error_message or ""
    )
    with pytest.raises(InvalidArgumentError, match=r"Invalid template variable \{\{ answer \}\}"):
        make_judge("x", "Is {{ answer }} right?")
    with pytest.raises(InvalidArgumentError, match="conversation"):
        make_judge("x", "Read {{ conversation }}")
    with pytest.raises(InvalidArgumentError, match="must name at least one"):
        make_judge("x", "Is it good?")
    with pytest.raises(InvalidArgumentError, match="Invalid feedback_value_type"):
        make_judge("x", "{{ outputs }}", feedback_value_type=bytes)


def test_make_judge_reads_a_trace(fake: FakeJudge) -> None:
    fake.replies = [verdict(True, "used the tool")]
    judge = make_judge(
        "used_tools",
        "Did the agent in {{ trace }} call a tool?",
        feedback_value_type=bool,
        base_url=fake.base_url,
        api_key="-",
    )
    fb = judge(trace=agent_trace())
    assert fb.value is True
    user = fake.requests[-1]["messages"][1]["content"]
    assert user.startswith("trace: [\n") and '"name": "get_weather", "type": "TOOL"' in user


def test_make_judge_with_a_callable_model_and_in_evaluate(gv: Genver) -> None:
    seen: list[str] = []

    def llm(prompt: str) -> str:
        seen.append(prompt)
        return json.dumps({"result": 0.5 if "Lyon" in prompt else 1.0, "rationale": "scored"})

    judge = make_judge(
        "accuracy", "How accurate is {{ outputs }} for {{ inputs }}?", model=llm, feedback_value_type=float
    )
    rows = [{"inputs": {"q": "France"}, "outputs": "Paris"}, {"inputs": {"q": "Spain"}, "outputs": "Lyon"}]
    result = evaluate(rows, [judge], genver=gv)
    assert result.metrics == {"accuracy/mean": 0.75}
    assert "Your task: How accurate is" in seen[0] and 'outputs: "Paris"' in "".join(seen)


def test_a_judge_returning_garbage_json_for_a_whole_evaluation(gv: Genver, fake: FakeJudge) -> None:
    fake.replies = [
        completion('```json\n{"result": "yes", "rationale": "fine"}\n```'),
        Reply(200, {"choices": []}),
    ]
    result = evaluate([{"inputs": {"q": 1}, "outputs": "a"}] * 1, [Safety(environ=env(fake))], genver=gv)
    assert result.metrics == {"safety/mean": 1.0}
    result = evaluate([{"inputs": {"q": 2}, "outputs": "b"}], [Safety(environ=env(fake))], genver=gv)
    assert result.metrics == {"safety/error_count": 1.0}
