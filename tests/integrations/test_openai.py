"""``genver.openai.autolog()`` with the real ``openai`` client against the loopback fake: what a
user's calls leave in the store."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from genver.entities import SpanStatusCode, SpanType, TraceState
from genver.trace_summary import SPAN_COST_KEY
from tests.integrations.conftest import only_trace, spans_of, stored_traces
from tests.integrations.fakes import TOOL_ARGUMENTS, FakeLLM

MINI = (0.15, 0.60)  # gpt-4o-mini, $ per 1M input / output tokens in the default price table
QUESTION = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is genver?"}]
QUESTION_TOKENS = 5  # words in the messages (the fake's input token count)
ANSWER = "echo: What is genver?"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "weather",
            "description": "The weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def cost(tokens_in: int, tokens_out: int, price: tuple[float, float] = MINI) -> float:
    return (tokens_in * price[0] + tokens_out * price[1]) / 1e6


@pytest.fixture
def client(fake: FakeLLM) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake.url + "/v1", api_key="test", max_retries=0) as c:
        yield c


@pytest.fixture
def aclient(fake: FakeLLM) -> openai.AsyncOpenAI:
    # used in one asyncio.run: its connections close with the test's event loop
    return openai.AsyncOpenAI(base_url=fake.url + "/v1", api_key="test", max_retries=0)


def test_chat_completion_is_a_chat_span_under_the_trace_and_version(
    mlflow: Any, client: openai.OpenAI
) -> None:
    mlflow.openai.autolog()
    model = mlflow.set_active_model(name="support-bot-v1")

    @mlflow.trace(span_type=SpanType.AGENT)
    def answer(question: list[dict[str, str]]) -> str:
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=question, temperature=0.2)
        return reply.choices[0].message.content or ""

    assert answer(QUESTION) == ANSWER
    trace = only_trace(mlflow)
    assert trace.info.model_id == model.model_id
    (root,) = spans_of(trace, SpanType.AGENT)
    (llm,) = spans_of(trace, SpanType.CHAT_MODEL)
    assert llm.parent_id == root.span_id and llm.name == "Completions"
    assert llm.status.status_code is SpanStatusCode.OK
    assert llm.inputs == {"model": "gpt-4o-mini", "messages": QUESTION, "temperature": 0.2}
    assert llm.outputs["choices"][0]["message"]["content"] == ANSWER
    attrs = llm.attributes
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == attrs["gen_ai.response.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.request.temperature"] == 0.2
    assert attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (QUESTION_TOKENS, 4)
    assert attrs["mlflow.chat.tokenUsage"] == {"input_tokens": 5, "output_tokens": 4, "total_tokens": 9}
    assert attrs[SPAN_COST_KEY] == pytest.approx(cost(5, 4))
    assert trace.info.token_usage.total_tokens == 9
    assert trace.info.cost == pytest.approx(cost(5, 4))


def test_a_call_outside_any_trace_is_its_own_trace(mlflow: Any, client: openai.OpenAI) -> None:
    mlflow.openai.autolog()
    client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    (span,) = only_trace(mlflow).data.spans
    assert span.parent_id is None and span.span_type == SpanType.CHAT_MODEL


def test_stream_span_ends_when_consumed_and_sums_usage(mlflow: Any, client: openai.OpenAI) -> None:
    mlflow.openai.autolog()
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=QUESTION, stream=True, stream_options={"include_usage": True}
    )
    assert isinstance(stream, openai.Stream)  # the user still holds the real stream
    assert stored_traces(mlflow) == []  # not consumed yet: the span is open
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == ANSWER
    (span,) = only_trace(mlflow).data.spans
    assert span.outputs["choices"][0]["message"] == {"role": "assistant", "content": ANSWER}
    assert span.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert span.attributes["mlflow.chat.tokenUsage"]["total_tokens"] == QUESTION_TOKENS + 4
    assert span.attributes[SPAN_COST_KEY] == pytest.approx(cost(5, 4))


def test_stream_closed_early_ends_its_span_with_what_arrived(mlflow: Any, client: openai.OpenAI) -> None:
    mlflow.openai.autolog()
    with client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, stream=True) as stream:
        first = next(iter(stream))
        assert first.choices[0].delta.role == "assistant"
    trace = only_trace(mlflow)
    assert trace.info.state == TraceState.OK
    (span,) = trace.data.spans
    assert span.outputs["choices"][0]["message"]["content"] == ""  # only the first chunk was read
    assert "gen_ai.usage.input_tokens" not in span.attributes  # no usage was streamed


def test_tool_calls_plain_and_streamed(mlflow: Any, client: openai.OpenAI) -> None:
    mlflow.openai.autolog()
    ask = [{"role": "user", "content": "Weather in Paris?"}]
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=ask, tools=TOOLS)
    assert reply.choices[0].message.tool_calls is not None
    for _ in client.chat.completions.create(model="gpt-4o-mini", messages=ask, tools=TOOLS, stream=True):
        pass
    plain, streamed = (t.data.spans[0] for t in stored_traces(mlflow))
    for span in (plain, streamed):
        assert span.attributes["gen_ai.response.finish_reasons"] == ["tool_calls"]
        assert span.attributes["mlflow.chat.tools"] == TOOLS
        (call,) = span.outputs["choices"][0]["message"]["tool_calls"]
        assert call["id"] == "call_1" and call["function"]["name"] == "weather"
        assert openai_json(call["function"]["arguments"]) == TOOL_ARGUMENTS


def openai_json(text: str) -> Any:
    import json

    return json.loads(text)


def test_responses_api_plain_and_streamed(mlflow: Any, client: openai.OpenAI) -> None:
    mlflow.openai.autolog()
    response = client.responses.create(model="gpt-4o-mini", input="Tell me about genver")
    assert response.output_text == "echo: Tell me about genver"
    events = [
        e.type
        for e in client.responses.create(model="gpt-4o-mini", input="Tell me about genver", stream=True)
    ]
    assert events[-1] == "response.completed"
    plain, streamed = (t.data.spans[0] for t in stored_traces(mlflow))
    for span in (plain, streamed):
        assert span.name == "Responses" and span.span_type == SpanType.CHAT_MODEL
        assert span.outputs["output"][0]["content"][0]["text"] == "echo: Tell me about genver"
        assert span.attributes["mlflow.chat.tokenUsage"] == {
            "input_tokens": 4,
            "output_tokens": 5,
            "total_tokens": 9,
        }
        assert span.attributes[SPAN_COST_KEY] == pytest.approx(cost(4, 5))


def test_embeddings(mlflow: Any, client: openai.OpenAI) -> None:
    mlflow.openai.autolog()
    client.embeddings.create(model="text-embedding-3-small", input=["one two", "three"])
    (span,) = only_trace(mlflow).data.spans
    assert span.span_type == SpanType.EMBEDDING and span.name == "Embeddings"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert len(span.outputs["data"]) == 2
    assert span.attributes["mlflow.chat.tokenUsage"]["input_tokens"] == 3
    assert span.attributes[SPAN_COST_KEY] == pytest.approx(3 * 0.02 / 1e6)


def test_async_calls_and_async_stream(mlflow: Any, aclient: openai.AsyncOpenAI) -> None:
    mlflow.openai.autolog()

    @mlflow.trace
    async def both() -> str:
        reply = await aclient.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
        stream = await aclient.chat.completions.create(
            model="gpt-4o-mini", messages=QUESTION, stream=True, stream_options={"include_usage": True}
        )
        assert isinstance(stream, openai.AsyncStream)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        await aclient.close()
        return (reply.choices[0].message.content or "") + "|" + text

    assert asyncio.run(both()) == ANSWER + "|" + ANSWER
    trace = only_trace(mlflow)
    spans = spans_of(trace, SpanType.CHAT_MODEL)
    assert [s.name for s in spans] == ["AsyncCompletions", "AsyncCompletions"]
    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert all(s.parent_id == root.span_id for s in spans)
    assert spans[1].outputs["choices"][0]["message"]["content"] == ANSWER
    assert trace.info.token_usage.total_tokens == 2 * (QUESTION_TOKENS + 4)


@pytest.mark.parametrize(
    ("model", "error", "status"),
    [("error-429", openai.RateLimitError, 429), ("error-500", openai.InternalServerError, 500)],
)
def test_provider_errors_are_recorded_and_reraised_unchanged(
    mlflow: Any, fake: FakeLLM, model: str, error: type[openai.APIStatusError], status: int
) -> None:
    mlflow.openai.autolog()
    # the client's own retries (immediate: the fake sends retry-after-ms: 1) stay inside one span
    with (
        openai.OpenAI(base_url=fake.url + "/v1", api_key="test", max_retries=2) as client,
        pytest.raises(error) as info,
    ):
        client.chat.completions.create(model=model, messages=QUESTION)
    assert type(info.value) is error and info.value.status_code == status
    trace = only_trace(mlflow)
    assert trace.info.state == TraceState.ERROR
    (span,) = trace.data.spans
    assert span.status.status_code is SpanStatusCode.ERROR
    assert error.__name__ in span.status.description
    (event,) = span.events
    assert event.name == "exception" and event.attributes["exception.type"].endswith(error.__name__)


def test_client_timeout_is_recorded_and_reraised(mlflow: Any, client: openai.OpenAI) -> None:
    mlflow.openai.autolog()
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.2).chat.completions.create(model="slow", messages=QUESTION)
    (span,) = only_trace(mlflow).data.spans
    assert span.status.status_code is SpanStatusCode.ERROR and "APITimeoutError" in span.status.description


def test_disable_unpatches_and_autolog_twice_wraps_once(mlflow: Any, client: openai.OpenAI) -> None:
    from openai.resources.chat.completions import Completions

    original = Completions.__dict__["create"]
    mlflow.openai.autolog()
    wrapped = Completions.__dict__["create"]
    mlflow.openai.autolog()
    assert Completions.__dict__["create"] is wrapped and wrapped.__genver_wrapped__ is original
    client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    assert len(only_trace(mlflow).data.spans) == 1  # one span, not two
    mlflow.openai.autolog(disable=True)
    assert Completions.__dict__["create"] is original
    client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    assert len(stored_traces(mlflow)) == 1


def test_log_traces_false_records_nothing(mlflow: Any, client: openai.OpenAI) -> None:
    mlflow.openai.autolog(log_traces=False)
    client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    assert stored_traces(mlflow) == []
    mlflow.openai.autolog()  # on again: traced
    client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    assert len(stored_traces(mlflow)) == 1


def test_a_tracing_failure_never_breaks_the_call(
    mlflow: Any, client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow.openai.autolog()
    runtime = mlflow._default.tracing_runtime()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in genver")

    monkeypatch.setattr(runtime, "start", broken)
    monkeypatch.delenv("PYTEST_CURRENT_TEST")  # as in production: logged, not raised
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    assert reply.choices[0].message.content == ANSWER
    with pytest.raises(openai.RateLimitError):  # and the provider's errors still come through
        client.chat.completions.create(model="error-429", messages=QUESTION)


def test_a_bad_response_reader_keeps_the_span(
    mlflow: Any, client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genver.integrations import openai as integration

    mlflow.openai.autolog()

    def broken(inputs: Any, outputs: Any, attrs: dict[str, Any]) -> Any:
        raise RuntimeError("reader bug")

    monkeypatch.setattr(integration.read_chat, "__code__", broken.__code__)
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    (span,) = only_trace(mlflow).data.spans
    assert span.outputs["choices"][0]["message"]["content"] == ANSWER  # stored, unread
    assert "gen_ai.usage.input_tokens" not in span.attributes


def test_threads_each_get_their_own_trace(mlflow: Any, client: openai.OpenAI) -> None:
    mlflow.openai.autolog()

    @mlflow.trace
    def ask(i: int) -> str:
        msgs = [{"role": "user", "content": f"question {i}"}]
        return (
            client.chat.completions.create(model="gpt-4o-mini", messages=msgs).choices[0].message.content
            or ""
        )

    results: dict[int, str] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, ask(i))) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: f"echo: question {i}" for i in range(8)}
    traces = stored_traces(mlflow)
    assert len(traces) == 8
    for trace in traces:
        root = next(s for s in trace.data.spans if s.parent_id is None)
        (llm,) = spans_of(trace, SpanType.CHAT_MODEL)
        assert llm.parent_id == root.span_id
        assert llm.inputs["messages"][0]["content"] == f"question {root.inputs['i']}"


def test_a_dropped_stream_ends_its_span(mlflow: Any, client: openai.OpenAI) -> None:
    import gc

    mlflow.openai.autolog()
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, stream=True)
    assert next(stream).choices[0].delta.role == "assistant"
    del stream  # neither consumed nor closed: the span ends when the stream is collected
    gc.collect()
    (span,) = only_trace(mlflow).data.spans
    assert span.status.status_code is SpanStatusCode.OK
    assert span.outputs["choices"][0]["message"]["role"] == "assistant"


def test_async_stream_closed_early(mlflow: Any, aclient: openai.AsyncOpenAI) -> None:
    mlflow.openai.autolog()

    async def first_chunk() -> str:
        async with await aclient.chat.completions.create(
            model="gpt-4o-mini", messages=QUESTION, stream=True
        ) as stream:
            async for chunk in stream:
                role = chunk.choices[0].delta.role
                break
        await aclient.close()
        return str(role)

    assert asyncio.run(first_chunk()) == "assistant"
    (span,) = only_trace(mlflow).data.spans
    assert span.name == "AsyncCompletions" and span.status.status_code is SpanStatusCode.OK


def test_the_stream_helpers_are_traced_through_create(mlflow: Any, client: openai.OpenAI) -> None:
    mlflow.openai.autolog()
    with client.chat.completions.stream(
        model="gpt-4o-mini", messages=QUESTION, stream_options={"include_usage": True}
    ) as stream:
        for _ in stream:
            pass
        assert stream.get_final_completion().choices[0].message.content == ANSWER
    with client.responses.stream(model="gpt-4o-mini", input="Tell me about genver") as events:
        for _ in events:
            pass
    chat, responses = (t.data.spans for t in stored_traces(mlflow))
    assert [s.name for s in chat] == ["Completions"] and [s.name for s in responses] == ["Responses"]
    assert chat[0].attributes["mlflow.chat.tokenUsage"]["total_tokens"] == QUESTION_TOKENS + 4
    assert responses[0].attributes["mlflow.chat.tokenUsage"]["total_tokens"] == 9


def test_a_stream_genver_cannot_follow_is_returned_and_its_span_still_stored(
    mlflow: Any, client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genver.integrations import base

    def broken(span: Any, stream: Any) -> None:
        raise RuntimeError("a stream of an unexpected shape")

    mlflow.openai.autolog()
    monkeypatch.setattr(base, "_follow_stream", broken)
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream) == ANSWER
    (span,) = only_trace(mlflow).data.spans  # ended at once, without the chunks
    assert span.span_type == SpanType.CHAT_MODEL


def test_a_runtime_that_cannot_be_built_leaves_calls_untraced(
    mlflow: Any, client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> Any:
        raise ValueError("GENVER_TRACE_BATCH_SIZE='many' is not a number")

    mlflow.openai.autolog()
    monkeypatch.setattr(mlflow._default, "tracing_runtime", broken)
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    assert reply.choices[0].message.content == ANSWER
