"""Tokens and cost are stored on each span (the UI's span tree shows them), and the trace's
totals stay the sum over its spans, counted once."""

from __future__ import annotations

from typing import Any

import pytest

from genver.entities import SpanType
from genver.fluent import Genver
from genver.store.sql.trace_merge import merge_trace
from genver.trace_summary import SPAN_COST_KEY, summarize

USAGE_KEY = "mlflow.chat.tokenUsage"


def stored(gv: Genver, trace_id: str | None) -> Any:
    assert trace_id is not None
    assert gv.flush_trace_async_logging(timeout=10)
    trace = gv.get_trace(trace_id)
    assert trace is not None
    return trace


def by_name(trace: Any) -> dict[str, Any]:
    return {s.name: s for s in trace.data.spans}


def test_set_token_usage_is_stored_on_the_span_with_its_cost(gv: Genver) -> None:
    gv.set_model_prices({"my-local-llm": {"input": 1.0, "output": 2.0}})

    @gv.trace(span_type=SpanType.LLM)
    def complete(prompt: str) -> str:
        span = gv.get_current_active_span()
        assert span is not None
        span.set_attribute("gen_ai.request.model", "my-local-llm")
        span.set_token_usage(200, 100)
        return "ok"

    @gv.trace
    def agent() -> str:
        return complete("b")

    agent()
    trace = stored(gv, gv.get_last_active_trace_id())
    spans = by_name(trace)
    llm, root = spans["complete"], spans["agent"]
    assert llm.attributes[USAGE_KEY] == {"input_tokens": 200, "output_tokens": 100, "total_tokens": 300}
    assert llm.attributes[SPAN_COST_KEY] == pytest.approx((200 * 1.0 + 100 * 2.0) / 1e6)
    assert USAGE_KEY not in root.attributes and SPAN_COST_KEY not in root.attributes
    usage = trace.info.token_usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (200, 100, 300)
    assert trace.info.cost == pytest.approx(400 / 1e6)


def test_genai_attributes_get_a_span_cost_and_totals_add_up_once(gv: Genver) -> None:
    @gv.trace(span_type=SpanType.CHAT_MODEL)
    def chat(prompt: str) -> str:
        span = gv.get_current_active_span()
        assert span is not None
        span.set_attributes(
            {
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 500,
            }
        )
        return "hi"

    @gv.trace(span_type=SpanType.LLM)
    def unpriced(prompt: str) -> str:
        span = gv.get_current_active_span()
        assert span is not None
        span.set_attribute("gen_ai.request.model", "no-such-model")
        span.set_token_usage(7, 3)
        return "ok"

    @gv.trace
    def agent() -> None:
        chat("a")
        chat("b")
        unpriced("c")

    agent()
    trace = stored(gv, gv.get_last_active_trace_id())
    chats = [s for s in trace.data.spans if s.name == "chat"]
    per_chat = (1000 * 2.50 + 500 * 10.00) / 1e6
    assert [s.attributes[SPAN_COST_KEY] for s in chats] == [pytest.approx(per_chat)] * 2
    (cheap,) = [s for s in trace.data.spans if s.name == "unpriced"]
    assert cheap.attributes[USAGE_KEY]["total_tokens"] == 10
    assert SPAN_COST_KEY not in cheap.attributes  # no price: no cost, not a zero cost
    usage = trace.info.token_usage
    assert (usage.input_tokens, usage.output_tokens) == (2007, 1003)
    assert trace.info.cost == pytest.approx(2 * per_chat)
    # What the store adds up when it merges a trace gives the same totals: nothing is counted twice.
    assert summarize(trace.data.spans) == (usage, pytest.approx(2 * per_chat))
    merged = merge_trace(trace, trace)
    assert merged.info.token_usage == usage and merged.info.cost == pytest.approx(2 * per_chat)


def test_set_token_usage_wins_over_genai_attributes_on_the_same_span(gv: Genver) -> None:
    with gv.start_span("llm", span_type=SpanType.LLM) as span:
        span.set_attributes({"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 999})
        span.set_token_usage(10, 20)
    trace = stored(gv, gv.get_last_active_trace_id())
    (only,) = trace.data.spans
    assert only.attributes[USAGE_KEY]["total_tokens"] == 30
    assert only.attributes[SPAN_COST_KEY] == pytest.approx((10 * 2.50 + 20 * 10.00) / 1e6)
    assert trace.info.token_usage.total_tokens == 30
    assert summarize(trace.data.spans)[0] == trace.info.token_usage


def test_a_cost_the_span_states_is_kept(gv: Genver) -> None:
    with gv.start_span("llm", span_type=SpanType.LLM) as span:
        span.set_attributes({"gen_ai.request.model": "gpt-4o", SPAN_COST_KEY: 0.5})
        span.set_token_usage(10, 20)
    trace = stored(gv, gv.get_last_active_trace_id())
    assert trace.data.spans[0].attributes[SPAN_COST_KEY] == 0.5
    assert trace.info.cost == 0.5


def test_per_span_tokens_are_searchable_and_trace_filters_unchanged(gv: Genver) -> None:
    @gv.trace(span_type=SpanType.LLM)
    def llm(n: int) -> int:
        span = gv.get_current_active_span()
        assert span is not None
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_token_usage(n, n)
        return n

    llm(50)
    llm(500)
    assert gv.flush_trace_async_logging(timeout=10)
    found = gv.search_traces(experiment_ids=["0"], filter_string="total_tokens > 100", return_type="list")
    assert [t.info.token_usage.total_tokens for t in found] == [1000]
    assert found[0].data.spans[0].attributes[USAGE_KEY]["input_tokens"] == 500


def test_pydantic_outputs_are_stored_as_their_json_dump(gv: Genver) -> None:
    import datetime

    import pydantic

    class Reply(pydantic.BaseModel):
        text: str
        at: datetime.datetime
        scores: dict[int, float]

    class Odd(pydantic.BaseModel):
        value: object  # not JSON-serializable by pydantic: the slow path still stores it

        model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)

    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)

    @gv.trace
    def answer() -> tuple[Reply, Odd]:
        return Reply(text="hi", at=when, scores={1: 0.5}), Odd(value=object())

    answer()
    trace = stored(gv, gv.get_last_active_trace_id())
    reply, odd = trace.data.spans[0].outputs
    assert reply == {"text": "hi", "at": "2026-01-02T03:04:05Z", "scores": {"1": 0.5}}
    assert odd["value"].startswith("<object object")
