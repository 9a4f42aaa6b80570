"""``genver.anthropic.autolog()`` with the real ``anthropic`` client against the loopback fake."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from genver.entities import SpanStatusCode, SpanType, TraceState
from genver.trace_summary import SPAN_COST_KEY
from tests.integrations.conftest import only_trace, spans_of, stored_traces
from tests.integrations.fakes import TOOL_ARGUMENTS, FakeLLM

HAIKU = (0.80, 4.00)  # claude-3-5-haiku, $ per 1M tokens
MODEL = "claude-3-5-haiku-latest"
ASK = [{"role": "user", "content": "Summarize the release notes"}]  # 4 words in
ANSWER = "echo: Summarize the release notes"  # 5 words out
TOOLS = [{"name": "weather", "description": "Weather", "input_schema": {"type": "object"}}]


def cost(tokens_in: int, tokens_out: int) -> float:
    return (tokens_in * HAIKU[0] + tokens_out * HAIKU[1]) / 1e6


@pytest.fixture
def client(fake: FakeLLM) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=fake.url, api_key="test", max_retries=0) as c:
        yield c


def test_message_is_a_chat_span_linked_to_the_version(mlflow: Any, client: anthropic.Anthropic) -> None:
    mlflow.anthropic.autolog()
    model = mlflow.set_active_model(name="summarizer-v2")
    message = client.messages.create(model=MODEL, max_tokens=200, system="Be terse.", messages=ASK)
    assert message.content[0].text == ANSWER
    trace = only_trace(mlflow)
    assert trace.info.model_id == model.model_id
    (span,) = trace.data.spans
    assert (span.name, span.span_type) == ("Messages.create", SpanType.CHAT_MODEL)
    assert span.inputs == {"model": MODEL, "max_tokens": 200, "system": "Be terse.", "messages": ASK}
    assert span.outputs["content"] == [{"type": "text", "text": ANSWER, "citations": None}]
    attrs = span.attributes
    assert attrs["gen_ai.provider.name"] == "anthropic" and attrs["gen_ai.request.max_tokens"] == 200
    assert attrs["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert attrs["mlflow.chat.tokenUsage"] == {"input_tokens": 6, "output_tokens": 5, "total_tokens": 11}
    assert attrs[SPAN_COST_KEY] == pytest.approx(cost(6, 5))
    assert trace.info.cost == pytest.approx(cost(6, 5))


def test_stream_text_and_tool_use(mlflow: Any, client: anthropic.Anthropic) -> None:
    mlflow.anthropic.autolog()
    stream = client.messages.create(model=MODEL, max_tokens=50, messages=ASK, stream=True)
    assert isinstance(stream, anthropic.Stream)
    assert stored_traces(mlflow) == []  # open until consumed
    deltas = [e.delta.text for e in stream if e.type == "content_block_delta"]
    assert "".join(deltas) == ANSWER
    with client.messages.create(
        model=MODEL, max_tokens=50, messages=ASK, tools=TOOLS, stream=True
    ) as tool_stream:
        for _ in tool_stream:
            pass
    text, tool = (t.data.spans[0] for t in stored_traces(mlflow))
    assert [(b["type"], b["text"]) for b in text.outputs["content"]] == [("text", ANSWER)]
    assert text.attributes["mlflow.chat.tokenUsage"] == {
        "input_tokens": 4,
        "output_tokens": 5,
        "total_tokens": 9,
    }
    assert text.attributes[SPAN_COST_KEY] == pytest.approx(cost(4, 5))
    (block,) = tool.outputs["content"]
    assert block["type"] == "tool_use" and block["name"] == "weather" and block["input"] == TOOL_ARGUMENTS
    assert tool.attributes["gen_ai.response.finish_reasons"] == ["tool_use"]
    assert tool.attributes["mlflow.chat.tools"] == TOOLS


def test_tool_use_without_streaming(mlflow: Any, client: anthropic.Anthropic) -> None:
    mlflow.anthropic.autolog()
    message = client.messages.create(model=MODEL, max_tokens=50, messages=ASK, tools=TOOLS)
    assert message.stop_reason == "tool_use"
    (span,) = only_trace(mlflow).data.spans
    assert span.outputs["content"][0]["input"] == TOOL_ARGUMENTS
    assert span.attributes["gen_ai.usage.output_tokens"] == 3


def test_async_client_nests_under_a_traced_coroutine(mlflow: Any, fake: FakeLLM) -> None:
    mlflow.anthropic.autolog()

    @mlflow.trace(span_type=SpanType.AGENT)
    async def agent() -> str:
        async with anthropic.AsyncAnthropic(base_url=fake.url, api_key="test", max_retries=0) as client:
            first = await client.messages.create(model=MODEL, max_tokens=50, messages=ASK)
            stream = await client.messages.create(model=MODEL, max_tokens=50, messages=ASK, stream=True)
            assert isinstance(stream, anthropic.AsyncStream)
            text = "".join([e.delta.text async for e in stream if e.type == "content_block_delta"])
        return first.content[0].text + "|" + text

    assert asyncio.run(agent()) == ANSWER + "|" + ANSWER
    trace = only_trace(mlflow)
    (root,) = spans_of(trace, SpanType.AGENT)
    chats = spans_of(trace, SpanType.CHAT_MODEL)
    assert [s.name for s in chats] == ["AsyncMessages.create"] * 2
    assert all(s.parent_id == root.span_id for s in chats)
    assert trace.info.token_usage.total_tokens == 2 * 9


@pytest.mark.parametrize(
    ("model", "error"),
    [("error-429", anthropic.RateLimitError), ("error-500", anthropic.InternalServerError)],
)
def test_provider_errors_are_recorded_and_reraised_unchanged(
    mlflow: Any, client: anthropic.Anthropic, model: str, error: type[anthropic.APIStatusError]
) -> None:
    mlflow.anthropic.autolog()
    with pytest.raises(error) as info:
        client.messages.create(model=model, max_tokens=10, messages=ASK)
    assert type(info.value) is error
    trace = only_trace(mlflow)
    assert trace.info.state == TraceState.ERROR
    (span,) = trace.data.spans
    assert span.status.status_code is SpanStatusCode.ERROR and error.__name__ in span.status.description
    assert [e.name for e in span.events] == ["exception"]


def test_client_timeout(mlflow: Any, client: anthropic.Anthropic) -> None:
    mlflow.anthropic.autolog()
    with pytest.raises(anthropic.APITimeoutError):
        client.with_options(timeout=0.2).messages.create(model="slow", max_tokens=10, messages=ASK)
    (span,) = only_trace(mlflow).data.spans
    assert span.status.status_code is SpanStatusCode.ERROR


def test_disable_restores_the_client(mlflow: Any, client: anthropic.Anthropic) -> None:
    from anthropic.resources import Messages

    original = Messages.__dict__["create"]
    mlflow.anthropic.autolog()
    mlflow.anthropic.autolog()
    assert Messages.__dict__["create"].__genver_wrapped__ is original
    mlflow.anthropic.autolog(disable=True)
    assert Messages.__dict__["create"] is original
    client.messages.create(model=MODEL, max_tokens=10, messages=ASK)
    assert stored_traces(mlflow) == []
