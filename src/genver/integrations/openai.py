"""OpenAI autolog: chat completions (``create``, ``parse``), the Responses API, legacy
completions and embeddings, sync and async, streaming or not — the methods MLflow 3's
``mlflow.openai.autolog()`` patches, with its span names (the resource class) and types.

Each call's span carries the request's keyword arguments as inputs and the response as outputs
(a stream: the response rebuilt from its chunks); on export, the reader below adds the GenAI
conventions' attributes (model, finish reasons, ``gen_ai.usage.*``), from which the tracing
runtime derives ``mlflow.chat.tokenUsage`` and the cost (``genver.span_attributes``).
"""

from __future__ import annotations

from typing import Any

from genver.entities import SpanType
from genver.integrations.base import (
    CallSpec,
    Integration,
    async_call,
    missing_library,
    request_attributes,
    response_attributes,
    sync_call,
    usage_attributes,
)

INTEGRATION = Integration("openai", "openai")


def autolog(
    disable: bool = False, silent: bool = False, log_traces: bool = True, **mlflow_options: Any
) -> None:
    """Trace every OpenAI call (``import genver as mlflow; mlflow.openai.autolog()``).

    ``disable=True`` removes every patch; ``log_traces=False`` keeps them but records nothing;
    ``silent=True`` turns genver's autolog warnings into debug logs. MLflow's other options
    (``exclusive``, ``disable_for_unsupported_versions``, ``disable_openai_agent_tracer``) are
    accepted and have no effect.

    >>> genver.openai.autolog()  # doctest: +SKIP
    >>> OpenAI().chat.completions.create(model="gpt-4o-mini", messages=[...])  # a CHAT_MODEL span
    """
    _check_options(mlflow_options)
    INTEGRATION.configure(_install, disable=disable, log_traces=log_traces, silent=silent)


_MLFLOW_OPTIONS = {"exclusive", "disable_for_unsupported_versions", "disable_openai_agent_tracer"}


def _check_options(options: dict[str, Any]) -> None:
    unknown = sorted(set(options) - _MLFLOW_OPTIONS)
    if unknown:
        raise TypeError(f"autolog() got unexpected keyword arguments {unknown}")


def _install(integration: Integration) -> None:
    try:
        import openai
        from openai.resources.chat.completions import AsyncCompletions as AsyncChat
        from openai.resources.chat.completions import Completions as Chat
        from openai.resources.completions import AsyncCompletions, Completions
        from openai.resources.embeddings import AsyncEmbeddings, Embeddings
    except ImportError:
        raise missing_library("openai", "openai") from None
    streams, async_streams = (openai.Stream,), (openai.AsyncStream,)

    def spec(span_type: str, reader: Any) -> CallSpec:
        return CallSpec(_class_name, span_type, reader, streams, async_streams)

    chat = spec(SpanType.CHAT_MODEL, read_chat)
    methods: list[tuple[type, type, str, CallSpec]] = [
        (Chat, AsyncChat, "create", chat),
        (Chat, AsyncChat, "parse", chat),
        (Completions, AsyncCompletions, "create", spec(SpanType.LLM, read_chat)),
        (Embeddings, AsyncEmbeddings, "create", spec(SpanType.EMBEDDING, read_embeddings)),
    ]
    try:
        from openai.resources.responses import AsyncResponses, Responses
    except ImportError:  # openai < 1.66
        pass
    else:
        responses = spec(SpanType.CHAT_MODEL, read_response)
        methods += [
            (Responses, AsyncResponses, "create", responses),
            (Responses, AsyncResponses, "parse", responses),
        ]
    for sync_cls, async_cls, method, call in methods:
        integration.patch(sync_cls, method, sync_call(integration, call))
        integration.patch(async_cls, method, async_call(integration, call))


def _class_name(instance: Any) -> str:
    return type(instance).__name__  # MLflow's span name: "Completions", "AsyncResponses", ...


# -- readers (exporter thread; JSON-compatible values in) -------------------------------------------
def read_chat(inputs: Any, outputs: Any, attrs: dict[str, Any]) -> Any:
    """Chat and legacy completions: the response, or the stream's chunks rebuilt into one."""
    request_attributes("openai", inputs, attrs)
    if isinstance(outputs, list):
        outputs = completion_from_chunks(outputs)
    if isinstance(outputs, dict):
        choices = outputs.get("choices") or []
        finish = [str(c["finish_reason"]) for c in choices if isinstance(c, dict) and c.get("finish_reason")]
        response_attributes(attrs, outputs, finish)
        usage = outputs.get("usage")
        if isinstance(usage, dict):
            usage_attributes(attrs, usage.get("prompt_tokens"), usage.get("completion_tokens"))
    return outputs


def read_embeddings(inputs: Any, outputs: Any, attrs: dict[str, Any]) -> Any:
    request_attributes("openai", inputs, attrs)
    attrs.pop("mlflow.message.format", None)
    if isinstance(outputs, dict):
        response_attributes(attrs, outputs, [])
        usage = outputs.get("usage")
        if isinstance(usage, dict):
            usage_attributes(attrs, usage.get("prompt_tokens"), 0)
    return outputs


def read_response(inputs: Any, outputs: Any, attrs: dict[str, Any]) -> Any:
    """The Responses API: the response, or for a stream the one its ``response.completed``
    event carries (else the output items its events completed)."""
    request_attributes("openai", inputs, attrs)
    if isinstance(outputs, list):
        outputs = response_from_events(outputs)
    if isinstance(outputs, dict):
        status = outputs.get("status")
        response_attributes(attrs, outputs, [status] if isinstance(status, str) else [])
        usage = outputs.get("usage")
        if isinstance(usage, dict):
            usage_attributes(attrs, usage.get("input_tokens"), usage.get("output_tokens"))
    return outputs


def completion_from_chunks(chunks: list[Any]) -> Any:
    """One chat completion from a stream's chunks: text and tool-call arguments joined, the last
    finish reason, the usage of the chunks that carry one added up."""
    chunks = [c for c in chunks if isinstance(c, dict)]
    if not chunks:
        return None
    if chunks[0].get("object") == "text_completion":
        text = "".join(
            str((c.get("choices") or [{}])[0].get("text") or "") for c in chunks if c.get("choices")
        )
        return {**_head(chunks), "object": "text_completion", "choices": [{"index": 0, "text": text}]}
    content: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    finish = None
    role = "assistant"
    for chunk in chunks:
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            role = delta.get("role") or role
            if delta.get("content"):
                content.append(str(delta["content"]))
            for call in delta.get("tool_calls") or ():
                slot = calls.setdefault(
                    int(call.get("index") or 0),
                    {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
                )
                slot["id"] = call.get("id") or slot["id"]
                fn = call.get("function") or {}
                slot["function"]["name"] += fn.get("name") or ""
                slot["function"]["arguments"] += fn.get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    message: dict[str, Any] = {"role": role, "content": "".join(content) if content or not calls else None}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    out = {
        **_head(chunks),
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }
    usage = _sum_usage(c.get("usage") for c in chunks)
    if usage is not None:
        out["usage"] = usage
    return out


def response_from_events(events: list[Any]) -> Any:
    events = [e for e in events if isinstance(e, dict)]
    for event in reversed(events):
        if event.get("type") in ("response.completed", "response.incomplete", "response.failed"):
            return event.get("response")
    items = [e.get("item") for e in events if e.get("type") == "response.output_item.done"]
    return {"object": "response", "output": items, "status": "incomplete"}


def _head(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    first = chunks[0]
    return {
        k: first.get(k) for k in ("id", "created", "model", "system_fingerprint") if first.get(k) is not None
    }


def _sum_usage(usages: Any) -> dict[str, int] | None:
    total: dict[str, int] | None = None
    for usage in usages:
        if not isinstance(usage, dict):
            continue
        total = total or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        for key in total:
            value = usage.get(key)
            if isinstance(value, int):
                total[key] += value
    return total
