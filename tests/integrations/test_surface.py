"""Autolog's names and import discipline, and one span model whichever way a span arrives."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

import genver
from genver.entities import Span, SpanType
from genver.span_attributes import add_usage_and_cost, span_type, take_inputs_outputs
from genver.trace_summary import SPAN_COST_KEY, PriceTable, summarize


def test_import_genver_imports_no_integration_or_provider_library() -> None:
    code = (
        "import json, sys\n"
        "import genver, genver.openai, genver.anthropic, genver.langchain\n"
        "assert callable(genver.autolog) and callable(genver.openai.autolog)\n"
        "print(json.dumps(sorted(m for m in ('openai', 'anthropic', 'langchain_core') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_mlflow_names() -> None:
    assert genver.openai.autolog is genver.integrations.openai.autolog
    assert genver.anthropic.autolog is genver.integrations.anthropic.autolog
    assert genver.langchain.autolog is genver.integrations.langchain.autolog
    with pytest.raises(TypeError, match="no_such_option"):
        genver.openai.autolog(no_such_option=True)
    genver.openai.autolog(exclusive=False, disable_for_unsupported_versions=False)  # MLflow's options
    assert genver.autolog(exclude_flavors=["openai", "anthropic"], log_models=False) == ["langchain"]


def test_autolog_disable_turns_every_integration_off() -> None:
    from openai.resources.chat.completions import Completions

    original = Completions.__dict__["create"]
    genver.autolog()
    assert Completions.__dict__["create"] is not original
    assert genver.autolog(disable=True) == ["openai", "anthropic", "langchain"]
    assert Completions.__dict__["create"] is original


def otlp_like(attrs: dict[str, Any]) -> tuple[str, Any, Any, dict[str, Any]]:
    """What the OTLP ingest makes of a span's attributes (convert._span's mapping steps)."""
    attrs = dict(attrs)
    inputs, outputs = take_inputs_outputs(attrs)
    kind = span_type(attrs)
    add_usage_and_cost(attrs, PriceTable())
    return kind, inputs, outputs, attrs


def test_an_openinference_span_reads_like_an_autolog_span() -> None:
    openinference = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini",
        "llm.token_count.prompt": 5,
        "llm.token_count.completion": 4,
        "input.value": json.dumps({"messages": [{"role": "user", "content": "hi"}]}),
        "input.mime_type": "application/json",
        "output.value": "echo: hi",
    }
    semconv = {
        "gen_ai.operation.name": "text_completion",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": 4,
    }
    a, b = otlp_like(openinference), otlp_like(semconv)
    assert a[0] == b[0] == SpanType.LLM
    assert a[1] == {"messages": [{"role": "user", "content": "hi"}]} and a[2] == "echo: hi"
    for key in ("mlflow.chat.tokenUsage", SPAN_COST_KEY):
        assert a[3][key] == b[3][key]
    assert a[3][SPAN_COST_KEY] == pytest.approx((5 * 0.15 + 4 * 0.60) / 1e6)


def span(span_id: str, parent: str | None, attrs: dict[str, Any]) -> Span:
    return Span(
        trace_id="tr-1",
        span_id=span_id,
        parent_id=parent,
        name=span_id,
        start_time_ns=0,
        end_time_ns=1,
        attributes=attrs,
    )


def test_summarize_counts_nested_usage_once_and_siblings_each() -> None:
    usage = {"mlflow.chat.tokenUsage": {"input_tokens": 10, "output_tokens": 5}, SPAN_COST_KEY: 1.0}
    spans = [
        span("root", None, {}),
        span("chat", "root", usage),
        span("call", "chat", usage),  # the OpenAI call inside the LangChain chat model: not again
        span("other", "root", usage),  # a sibling call: counted
    ]
    total, cost = summarize(spans)
    assert total is not None and (total.input_tokens, total.output_tokens) == (20, 10)
    assert cost == 2.0


def test_summarize_still_counts_spans_in_a_parent_cycle() -> None:
    usage = {"gen_ai.usage.input_tokens": 3, "gen_ai.usage.output_tokens": 1}
    total, _ = summarize([span("a", "b", usage), span("b", "a", {})])
    assert total is not None and total.total_tokens == 4
