"""The LangChain callback handler behind ``genver.langchain.autolog()`` (imports LangChain, so
only ``autolog()`` imports this module)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from genver.entities import SpanType
from genver.integrations.base import usage_attributes
from genver.tracing.errors import internal_error, under_pytest

if TYPE_CHECKING:
    from genver.integrations.base import Integration
    from genver.tracing.live import LiveSpan
    from genver.tracing.runtime import Tracing


class _Run:
    __slots__ = ("span", "runtime", "previous")

    def __init__(self, span: LiveSpan, runtime: Tracing, previous: LiveSpan | None) -> None:
        self.span, self.runtime, self.previous = span, runtime, previous


class GenverCallbackHandler(BaseCallbackHandler):
    """Each LangChain run as a span: started on ``on_*_start``, ended on ``on_*_end`` /
    ``on_*_error``. Runs inline (also in async chains), so the span it makes current is current
    in the code the run calls."""

    run_inline = True

    @property
    def raise_error(self) -> bool:  # type: ignore[override]
        """LangChain logs a handler's errors and goes on; under pytest they fail the test."""
        return under_pytest()

    def __init__(self, integration: Integration) -> None:
        self._integration = integration
        self._runs: dict[UUID, _Run] = {}
        self._lock = threading.Lock()

    # -- starts ---------------------------------------------------------------------------------
    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._start(run_id, parent_run_id, _name(serialized, kwargs, "chain"), SpanType.CHAIN, inputs)

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._start(
            run_id,
            parent_run_id,
            _name(serialized, kwargs, "chat_model"),
            SpanType.CHAT_MODEL,
            {"messages": messages},
            _model_attributes(kwargs),
        )

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._start(
            run_id,
            parent_run_id,
            _name(serialized, kwargs, "llm"),
            SpanType.LLM,
            {"prompts": prompts},
            _model_attributes(kwargs),
        )

    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._start(
            run_id,
            parent_run_id,
            _name(serialized, kwargs, "retriever"),
            SpanType.RETRIEVER,
            {"query": query},
        )

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._start(
            run_id,
            parent_run_id,
            _name(serialized, kwargs, "tool"),
            SpanType.TOOL,
            inputs if inputs is not None else input_str,
        )

    # -- ends -----------------------------------------------------------------------------------
    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, outputs)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, response, read=llm_result_attributes)

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, documents)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, output)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, None, error=error)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, None, error=error)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, None, error=error)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, None, error=error)

    # -- spans ----------------------------------------------------------------------------------
    def _start(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        name: str,
        span_type: str,
        inputs: Any,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        rt = self._integration.runtime()
        if rt is None:
            return
        try:
            parent = self._runs.get(parent_run_id) if parent_run_id is not None else None
            # A run whose parent run is unknown (started before autolog) nests in the current span.
            span = rt.start(name, span_type, attributes, parent=parent.span if parent else False)
            span.set_inputs(inputs)
            with self._lock:
                self._runs[run_id] = _Run(span, rt, rt.current.get())
            rt.current.set(span)  # what the run calls (an OpenAI client, a traced tool) nests here
        except Exception as exc:
            internal_error("starting a LangChain span", exc)

    def _end(
        self,
        run_id: UUID,
        outputs: Any,
        *,
        error: BaseException | None = None,
        read: Callable[[Any], dict[str, Any]] | None = None,
    ) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is None:
            return
        try:
            if run.runtime.current.get() is run.span:
                run.runtime.current.set(run.previous)
            if read is not None:
                run.span.set_attributes(read(outputs))
            if error is not None:
                run.span.record_exception(error)
            run.span.end(outputs)
        except Exception as exc:
            internal_error("ending a LangChain span", exc)


def _name(serialized: dict[str, Any] | None, kwargs: dict[str, Any], default: str) -> str:
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    if isinstance(serialized, dict):
        if isinstance(serialized.get("name"), str):
            return str(serialized["name"])
        ids = serialized.get("id")
        if isinstance(ids, list) and ids:
            return str(ids[-1])
    return default


def _model_attributes(kwargs: dict[str, Any]) -> dict[str, Any]:
    params = kwargs.get("invocation_params") or {}
    metadata = kwargs.get("metadata") or {}
    attrs: dict[str, Any] = {"mlflow.message.format": "langchain"}
    model = params.get("model") or params.get("model_name") or metadata.get("ls_model_name")
    if isinstance(model, str):
        attrs["gen_ai.request.model"] = model
    provider = metadata.get("ls_provider")
    if isinstance(provider, str):
        attrs["gen_ai.provider.name"] = provider
    temperature = params.get("temperature", metadata.get("ls_temperature"))
    if isinstance(temperature, (int, float)) and not isinstance(temperature, bool):
        attrs["gen_ai.request.temperature"] = temperature
    return attrs


def llm_result_attributes(result: Any) -> dict[str, Any]:
    """What an ``LLMResult`` says of tokens (the messages' ``usage_metadata``, else the
    provider's ``llm_output``), the response model and the finish reasons. Read from the objects
    when the run ends: their JSON dump drops ``usage_metadata`` (a message field of the subclass)."""
    attrs: dict[str, Any] = {}
    llm_output = getattr(result, "llm_output", None) or {}
    model = llm_output.get("model_name") or llm_output.get("model")
    tokens_in = tokens_out = None
    finish: list[str] = []
    for generations in getattr(result, "generations", None) or ():
        for generation in generations or ():
            message = getattr(generation, "message", None)
            usage = getattr(message, "usage_metadata", None)
            if isinstance(usage, dict):
                tokens_in = (tokens_in or 0) + int(usage.get("input_tokens") or 0)
                tokens_out = (tokens_out or 0) + int(usage.get("output_tokens") or 0)
            meta = getattr(message, "response_metadata", None) or {}
            info = getattr(generation, "generation_info", None) or {}
            reason = meta.get("finish_reason") or meta.get("stop_reason") or info.get("finish_reason")
            if isinstance(reason, str):
                finish.append(reason)
            model = model or meta.get("model_name") or meta.get("model")
    if tokens_in is None:
        usage = llm_output.get("token_usage") or llm_output.get("usage") or {}
        if isinstance(usage, dict):
            tokens_in = usage.get("prompt_tokens", usage.get("input_tokens"))
            tokens_out = usage.get("completion_tokens", usage.get("output_tokens"))
    usage_attributes(attrs, tokens_in, tokens_out)
    if isinstance(model, str) and model:
        attrs["gen_ai.response.model"] = model
    if finish:
        attrs["gen_ai.response.finish_reasons"] = finish
    return attrs
