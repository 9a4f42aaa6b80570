"""``genver.langchain.autolog()`` with real ``langchain-core`` runnables: a chain of a prompt, a
chat model (which calls the real ``openai`` client on the loopback fake), a retriever, a tool and
an output parser becomes nested spans of the right types."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool

from genver.entities import SpanStatusCode, SpanType, TraceState
from genver.trace_summary import SPAN_COST_KEY
from tests.integrations.conftest import only_trace, spans_of, stored_traces
from tests.integrations.fakes import FakeLLM


class EndpointChat(BaseChatModel):
    """A LangChain chat model over the real OpenAI client (what ChatOpenAI does, minus its
    extras), so the chat model's span and the nested OpenAI call are both real."""

    base_url: str
    model: str = "gpt-4o-mini"

    @property
    def _llm_type(self) -> str:
        return "endpoint-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model}

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        role = {"human": "user", "ai": "assistant", "system": "system"}
        with openai.OpenAI(base_url=self.base_url, api_key="test", max_retries=0) as client:
            reply = client.chat.completions.create(
                model=self.model,
                messages=[{"role": role[m.type], "content": str(m.content)} for m in messages],
            )
        usage = reply.usage
        assert usage is not None
        message = AIMessage(
            content=reply.choices[0].message.content or "",
            usage_metadata={
                "input_tokens": usage.prompt_tokens,
                "output_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            },
            response_metadata={"model_name": reply.model, "finish_reason": reply.choices[0].finish_reason},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


class Docs(BaseRetriever):
    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [Document(page_content=f"doc about {query}", metadata={"source": "kb"})]


@tool
def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


@pytest.fixture
def chain(fake: FakeLLM) -> Iterator[Any]:
    prompt = ChatPromptTemplate.from_messages([("system", "Context: {context}"), ("human", "{question}")])
    model = EndpointChat(base_url=fake.url + "/v1")
    retrieve = Docs()

    def with_context(question: str) -> dict[str, str]:
        docs = retrieve.invoke(question)
        return {"context": docs[0].page_content, "question": question}

    yield RunnableLambda(with_context) | prompt | model | StrOutputParser() | shout


def by_name(trace: Any) -> dict[str, Any]:
    return {s.name: s for s in trace.data.spans}


def test_a_chain_becomes_nested_spans_of_the_right_types(mlflow: Any, chain: Any) -> None:
    mlflow.langchain.autolog()
    version = mlflow.set_active_model(name="rag-v1")
    assert chain.invoke("what is genver") == "ECHO: WHAT IS GENVER"
    trace = only_trace(mlflow)
    assert trace.info.model_id == version.model_id and trace.info.state == TraceState.OK
    spans = by_name(trace)
    root = spans["RunnableSequence"]
    assert root.parent_id is None and root.span_type == SpanType.CHAIN
    assert (
        root.inputs == "what is genver" and root.outputs == "ECHO: WHAT IS GENVER"
    )  # as LangChain passes them
    retriever = spans["Docs"]
    assert retriever.span_type == SpanType.RETRIEVER and retriever.inputs == {"query": "what is genver"}
    assert retriever.outputs[0]["page_content"] == "doc about what is genver"
    assert retriever.parent_id == spans["with_context"].span_id  # called inside the lambda
    assert spans["with_context"].parent_id == root.span_id
    chat = spans["EndpointChat"]
    assert chat.span_type == SpanType.CHAT_MODEL and chat.parent_id == root.span_id
    assert chat.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    # 9 words in ("Context: doc about what is genver", "what is genver"), 4 out ("echo: what is genver")
    assert chat.attributes["mlflow.chat.tokenUsage"] == {
        "input_tokens": 9,
        "output_tokens": 4,
        "total_tokens": 13,
    }
    assert chat.attributes[SPAN_COST_KEY] == pytest.approx((9 * 0.15 + 4 * 0.60) / 1e6)
    assert chat.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert [m["content"] for m in chat.inputs["messages"][0]] == [
        "Context: doc about what is genver",
        "what is genver",
    ]
    assert spans["shout"].span_type == SpanType.TOOL and spans["shout"].outputs == "ECHO: WHAT IS GENVER"
    assert spans["StrOutputParser"].span_type == SpanType.CHAIN
    assert spans["ChatPromptTemplate"].span_type == SpanType.CHAIN
    # Without the OpenAI integration the chat model's span is a leaf.
    assert [s.parent_id for s in trace.data.spans].count(chat.span_id) == 0


def test_with_openai_autolog_the_call_nests_in_the_chat_span_and_counts_once(mlflow: Any, chain: Any) -> None:
    assert mlflow.autolog() == ["openai", "anthropic", "langchain"]
    chain.invoke("what is genver")
    trace = only_trace(mlflow)
    spans = by_name(trace)
    chat, call = spans["EndpointChat"], spans["Completions"]
    assert call.parent_id == chat.span_id and call.span_type == SpanType.CHAT_MODEL
    assert call.attributes["mlflow.chat.tokenUsage"] == chat.attributes["mlflow.chat.tokenUsage"]
    # the same 13 tokens on two nested spans are the trace's 13 tokens, not 26
    assert trace.info.token_usage.total_tokens == 13
    assert trace.info.cost == pytest.approx((9 * 0.15 + 4 * 0.60) / 1e6)


def test_a_chain_inside_a_traced_function_nests_under_it(mlflow: Any, chain: Any) -> None:
    mlflow.langchain.autolog()

    @mlflow.trace(span_type=SpanType.AGENT)
    def agent(question: str) -> str:
        out: str = chain.invoke(question)
        with mlflow.start_span("after") as span:  # back in the agent's span once the chain ended
            span.set_inputs(out)
        return out

    agent("hi")
    trace = only_trace(mlflow)
    spans = by_name(trace)
    assert spans["RunnableSequence"].parent_id == spans["agent"].span_id
    assert spans["after"].parent_id == spans["agent"].span_id


def test_async_chain(mlflow: Any, chain: Any) -> None:
    mlflow.langchain.autolog()
    assert asyncio.run(chain.ainvoke("async genver")) == "ECHO: ASYNC GENVER"
    spans = by_name(only_trace(mlflow))
    assert spans["EndpointChat"].parent_id == spans["RunnableSequence"].span_id
    assert spans["Docs"].parent_id == spans["with_context"].span_id
    assert spans["EndpointChat"].attributes["mlflow.chat.tokenUsage"]["total_tokens"] == 7 + 3


def test_a_failing_tool_is_recorded_and_the_error_reraised(mlflow: Any) -> None:
    mlflow.langchain.autolog()

    @tool
    def broken(text: str) -> str:
        """Always fails."""
        raise ValueError(f"cannot handle {text!r}")

    with pytest.raises(ValueError, match="cannot handle 'x'"):
        (RunnableLambda(lambda s: s) | broken).invoke("x")
    trace = only_trace(mlflow)
    assert trace.info.state == TraceState.ERROR
    (tool_span,) = spans_of(trace, SpanType.TOOL)
    assert (
        tool_span.status.status_code is SpanStatusCode.ERROR
        and "cannot handle" in tool_span.status.description
    )


def test_a_provider_error_inside_the_chat_model(mlflow: Any, fake: FakeLLM) -> None:
    mlflow.autolog()
    model = EndpointChat(base_url=fake.url + "/v1", model="error-429")
    with pytest.raises(openai.RateLimitError):
        model.invoke("hello")
    trace = only_trace(mlflow)
    chat, call = spans_of(trace, SpanType.CHAT_MODEL)
    assert call.parent_id == chat.span_id
    assert chat.status.status_code is SpanStatusCode.ERROR and call.status.status_code is SpanStatusCode.ERROR


def test_disable_stops_tracing(mlflow: Any, chain: Any) -> None:
    from langchain_core.callbacks import BaseCallbackManager

    original = BaseCallbackManager.__dict__["__init__"]
    mlflow.langchain.autolog()
    mlflow.langchain.autolog()  # once only
    assert BaseCallbackManager.__dict__["__init__"].__genver_wrapped__ is original
    chain.invoke("one")
    mlflow.langchain.autolog(disable=True)
    assert BaseCallbackManager.__dict__["__init__"] is original
    chain.invoke("two")
    assert len(stored_traces(mlflow)) == 1
