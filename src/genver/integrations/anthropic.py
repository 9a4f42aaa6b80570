"""Anthropic autolog: ``Messages.create`` sync and async, streaming (``stream=True``) or not —
what MLflow 3's ``mlflow.anthropic.autolog()`` patches, with its span name
(``Messages.create``) and type (CHAT_MODEL). MLflow records no streams; genver does.

As for OpenAI, the span keeps the request's keyword arguments and the response (a stream: the
message rebuilt from its events), read into the GenAI conventions' attributes on export. Input
tokens include cache reads and writes, as MLflow counts them.
"""

from __future__ import annotations

import json
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

INTEGRATION = Integration("anthropic", "anthropic")


def autolog(log_traces: bool = True, disable: bool = False, silent: bool = False) -> None:
    """Trace every Anthropic ``messages.create`` call (``mlflow.anthropic.autolog()``).

    ``disable=True`` removes every patch; ``log_traces=False`` keeps them but records nothing;
    ``silent=True`` turns genver's autolog warnings into debug logs.

    >>> genver.anthropic.autolog()  # doctest: +SKIP
    """
    INTEGRATION.configure(_install, disable=disable, log_traces=log_traces, silent=silent)


def _install(integration: Integration) -> None:
    try:
        import anthropic
        from anthropic.resources import AsyncMessages, Messages
    except ImportError:
        raise missing_library("anthropic", "anthropic") from None
    call = CallSpec(
        _span_name, SpanType.CHAT_MODEL, read_message, (anthropic.Stream,), (anthropic.AsyncStream,)
    )
    integration.patch(Messages, "create", sync_call(integration, call))
    integration.patch(AsyncMessages, "create", async_call(integration, call))


def _span_name(instance: Any) -> str:
    return f"{type(instance).__name__}.create"


# -- reader (exporter thread) ---------------------------------------------------------------------
def read_message(inputs: Any, outputs: Any, attrs: dict[str, Any]) -> Any:
    request_attributes("anthropic", inputs, attrs)
    if isinstance(outputs, list):
        outputs = message_from_events(outputs)
    if isinstance(outputs, dict):
        stop = outputs.get("stop_reason")
        response_attributes(attrs, outputs, [stop] if isinstance(stop, str) else [])
        usage = outputs.get("usage")
        if isinstance(usage, dict):
            usage_attributes(attrs, input_tokens(usage), usage.get("output_tokens"))
    return outputs


def input_tokens(usage: dict[str, Any]) -> int | None:
    """Anthropic counts cache reads and writes apart from ``input_tokens``; MLflow adds them."""
    base = usage.get("input_tokens")
    if not isinstance(base, int):
        return None
    cached = sum(
        v
        for k in ("cache_read_input_tokens", "cache_creation_input_tokens")
        if isinstance(v := usage.get(k), int)
    )
    return base + cached


def message_from_events(events: list[Any]) -> Any:
    """One message from a stream's events: ``message_start``'s message, its content blocks
    rebuilt from the deltas (text joined, tool input JSON parsed), the last stop reason, and
    the usage the events report (``message_delta`` counts are running totals: the last wins)."""
    message: dict[str, Any] | None = None
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, list[str]] = {}
    usage: dict[str, Any] = {}
    for event in events:
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind == "message_start" and isinstance(event.get("message"), dict):
            message = dict(event["message"])
            usage.update(message.get("usage") or {})
        elif kind == "content_block_start":
            blocks[int(event.get("index") or 0)] = dict(event.get("content_block") or {})
        elif kind == "content_block_delta":
            index = int(event.get("index") or 0)
            block = blocks.setdefault(index, {"type": "text", "text": ""})
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":
                block["text"] = str(block.get("text") or "") + str(delta.get("text") or "")
            elif delta.get("type") == "input_json_delta":
                partial.setdefault(index, []).append(str(delta.get("partial_json") or ""))
        elif kind == "message_delta":
            if message is None:
                message = {}
            message.update({k: v for k, v in (event.get("delta") or {}).items() if v is not None})
            usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
    if message is None:
        return None
    for index, parts in partial.items():
        try:
            blocks[index]["input"] = json.loads("".join(parts) or "{}")
        except ValueError:
            blocks[index]["input"] = "".join(parts)
    message["content"] = [blocks[i] for i in sorted(blocks)]
    if usage:
        message["usage"] = usage
    return message
