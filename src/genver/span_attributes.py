"""Span attributes of every origin, mapped onto genver's span model in one place, so a span looks
the same whichever way it arrived: from genver's own tracing and autolog
(``genver.tracing.runtime``) or over OTLP from any instrumentation (``genver.server.otlp.convert``).

Conventions read, first found wins:

- span type: MLflow's ``mlflow.spanType``; OpenInference's ``openinference.span.kind``; the
  OpenTelemetry GenAI semantic conventions' ``gen_ai.operation.name``;
- inputs / outputs: ``mlflow.spanInputs`` / ``mlflow.spanOutputs`` (JSON text); ``gen_ai.prompt``
  / ``gen_ai.completion``; OpenInference's ``input.value`` / ``output.value`` (JSON when its
  ``*.mime_type`` says so);
- model: ``gen_ai.response.model``, ``gen_ai.request.model``, OpenInference's ``llm.model_name``;
- tokens: ``trace_summary.span_usage`` (MLflow, GenAI conventions, OpenInference).

What every span with token usage then carries: ``mlflow.chat.tokenUsage`` (as MLflow writes it)
and, when its model has a price, ``genver.span.cost``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from genver.entities.trace import INPUTS_KEY, OUTPUTS_KEY, SPAN_TYPE_KEY, SpanType
from genver.trace_summary import (
    CHAT_USAGE_KEY,
    SPAN_COST_KEY,
    PriceTable,
    span_cost,
    span_usage,
    stored_cost,
    usage_attribute,
)

GENAI_TYPES = {
    "chat": SpanType.CHAT_MODEL,
    "text_completion": SpanType.LLM,
    "generate_content": SpanType.LLM,
    "embeddings": SpanType.EMBEDDING,
    "execute_tool": SpanType.TOOL,
    "invoke_agent": SpanType.AGENT,
    "create_agent": SpanType.AGENT,
}
OPENINFERENCE_TYPES = {
    "LLM": SpanType.LLM,
    "CHAIN": SpanType.CHAIN,
    "RETRIEVER": SpanType.RETRIEVER,
    "RERANKER": SpanType.RERANKER,
    "EMBEDDING": SpanType.EMBEDDING,
    "TOOL": SpanType.TOOL,
    "AGENT": SpanType.AGENT,
    "EVALUATOR": SpanType.EVALUATOR,
}


def span_type(attrs: Mapping[str, Any]) -> str:
    """The span type an attribute set declares, else ``UNKNOWN``."""
    declared = text(attrs.get(SPAN_TYPE_KEY))
    if declared:
        return declared
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() in OPENINFERENCE_TYPES:
        return OPENINFERENCE_TYPES[kind.upper()]
    operation = attrs.get("gen_ai.operation.name")
    return GENAI_TYPES.get(operation, SpanType.UNKNOWN) if isinstance(operation, str) else SpanType.UNKNOWN


def take_inputs_outputs(attrs: dict[str, Any]) -> tuple[Any, Any]:
    """The span's inputs and outputs from its attributes; MLflow's keys are removed (they are
    the span's content, not attributes), the others stay as they came."""
    if INPUTS_KEY in attrs:
        inputs = decode_json(attrs.pop(INPUTS_KEY))
    elif "gen_ai.prompt" in attrs:
        inputs = attrs["gen_ai.prompt"]
    else:
        inputs = _openinference_value(attrs, "input")
    if OUTPUTS_KEY in attrs:
        outputs = decode_json(attrs.pop(OUTPUTS_KEY))
    elif "gen_ai.completion" in attrs:
        outputs = attrs["gen_ai.completion"]
    else:
        outputs = _openinference_value(attrs, "output")
    return inputs, outputs


def add_usage_and_cost(
    attrs: dict[str, Any], prices: PriceTable, usage: tuple[int, int] | None = None
) -> None:
    """Write a span's tokens under ``mlflow.chat.tokenUsage`` and their cost under
    ``genver.span.cost`` (unless the span states a cost). ``usage`` set through the API wins
    over what the attributes say."""
    if usage is None:
        usage = span_usage(attrs)
        if usage is None:
            return
        if CHAT_USAGE_KEY not in attrs:
            attrs[CHAT_USAGE_KEY] = usage_attribute(*usage)
    else:
        attrs[CHAT_USAGE_KEY] = usage_attribute(*usage)
    if stored_cost(attrs) is not None:
        return
    cost = span_cost(attrs, usage, prices)
    if cost is not None:
        attrs[SPAN_COST_KEY] = cost


def _openinference_value(attrs: Mapping[str, Any], which: str) -> Any:
    value = attrs.get(f"{which}.value")
    if value is None:
        return None
    mime = attrs.get(f"{which}.mime_type")
    return decode_json(value) if mime == "application/json" else value


def text(value: Any) -> str | None:
    """An attribute as text; MLflow's exporters JSON-encode strings (``'"m-123"'``)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, str) and value.startswith('"'):
        decoded = decode_json(value)
        return decoded if isinstance(decoded, str) else value
    return value if isinstance(value, str) else str(value)


def decode_json(value: Any) -> Any:
    """JSON text decoded, anything else (or text that is not JSON) as it is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return value
