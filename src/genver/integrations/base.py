"""What every autolog integration shares: patching a library's methods (once, undone by
``disable=True``), and the wrapper each patched call runs through.

The wrapper does on the caller's thread what ``@trace`` does: start a span under the current one
(or a new trace, linked to the active version), keep a *reference* to the call's keyword
arguments, run the call, end the span with a reference to the response. Reading the response
(model, finish reason, tokens) and pricing it happens when the trace is exported, on the
exporter's thread (``LiveSpan.read_at_export``). A stream's span ends when the stream is
consumed, fails or is closed, with its chunks as outputs.

Tracing never breaks the call: a failure inside genver is logged once (raised under pytest, to
surface bugs) and the call goes on untraced; the provider's own errors are recorded on the span
and re-raised unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

from genver.fluent import default_genver
from genver.tracing.errors import internal_error

if TYPE_CHECKING:
    from genver.tracing.live import Derive, LiveSpan
    from genver.tracing.runtime import Tracing

log = logging.getLogger("genver.autolog")
WRAPPED = "__genver_wrapped__"


class Integration:
    """One library's autolog: its patches and whether calls are traced."""

    def __init__(self, name: str, library: str) -> None:
        self.name = name
        self.library = library
        self.tracing = False
        self.silent = False
        self._patches: list[tuple[Any, str, Any]] = []
        self._lock = threading.Lock()

    def runtime(self) -> Tracing | None:
        """The default instance's tracing runtime while this integration traces, else None."""
        if not self.tracing:
            return None
        try:
            return default_genver().tracing_runtime()
        except Exception as exc:  # e.g. a bad setting met when the runtime is first built
            internal_error("building the tracing runtime for autolog", exc)
            return None

    @property
    def patched(self) -> bool:
        return bool(self._patches)

    def configure(
        self, install: Callable[[Integration], None], *, disable: bool, log_traces: bool, silent: bool
    ) -> None:
        """Patch (once) and trace, or undo every patch when ``disable``."""
        with self._lock:
            self.silent = silent
            if disable:
                self.tracing = False
                self.unpatch()
                return
            if not self._patches:
                try:
                    install(self)
                except BaseException:
                    self.unpatch()
                    raise
            self.tracing = log_traces

    def patch(self, owner: Any, attr: str, make: Callable[[Any], Any]) -> None:
        """Replace ``owner.attr`` (defined on ``owner`` itself) by ``make(original)``."""
        original = owner.__dict__.get(attr)
        if original is None:
            return  # not in this version of the library
        if getattr(original, WRAPPED, None) is not None:
            return  # wrapped already (never twice)
        wrapper = make(original)
        setattr(wrapper, WRAPPED, original)
        setattr(owner, attr, wrapper)
        self._patches.append((owner, attr, original))

    def unpatch(self) -> None:
        for owner, attr, original in reversed(self._patches):
            setattr(owner, attr, original)
        self._patches.clear()

    def warn(self, message: str, *args: Any) -> None:
        log.log(logging.DEBUG if self.silent else logging.WARNING, message, *args)


def missing_library(integration: str, library: str) -> ImportError:
    return ImportError(
        f"genver.{integration}.autolog() needs the {library!r} package: "
        f"pip install 'genver[{integration}]' (or pip install {library})."
    )


# -- the wrapper of a patched call -------------------------------------------------------------------
class CallSpec:
    """How one patched method is traced: its span's name and type, the reader of its request
    and response, and the stream classes its result may be."""

    __slots__ = ("name", "span_type", "reader", "streams", "async_streams")

    def __init__(
        self,
        name: Callable[[Any], str],
        span_type: str,
        reader: Derive,
        streams: tuple[type, ...] = (),
        async_streams: tuple[type, ...] = (),
    ) -> None:
        self.name = name
        self.span_type = span_type
        self.reader = reader
        self.streams = streams
        self.async_streams = async_streams


def sync_call(integration: Integration, spec: CallSpec) -> Callable[[Any], Any]:
    def make(original: Any) -> Any:
        @functools.wraps(original)
        def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
            rt = integration.runtime()
            if rt is None:
                return original(self, *args, **kwargs)
            started = _begin(rt, spec, self, kwargs)
            if started is None:
                return original(self, *args, **kwargs)
            span, token = started
            try:
                result = original(self, *args, **kwargs)
            except BaseException as exc:
                _fail(rt, span, token, exc)
                raise
            return _succeed(rt, span, token, result, spec)

        return traced

    return make


def async_call(integration: Integration, spec: CallSpec) -> Callable[[Any], Any]:
    def make(original: Any) -> Any:
        @functools.wraps(original)
        async def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
            rt = integration.runtime()
            if rt is None:
                return await original(self, *args, **kwargs)
            started = _begin(rt, spec, self, kwargs)
            if started is None:
                return await original(self, *args, **kwargs)
            span, token = started
            try:
                result = await original(self, *args, **kwargs)
            except BaseException as exc:
                _fail(rt, span, token, exc)
                raise
            return _succeed(rt, span, token, result, spec)

        return traced

    return make


def _begin(rt: Tracing, spec: CallSpec, instance: Any, kwargs: dict[str, Any]) -> tuple[LiveSpan, Any] | None:
    try:
        span = rt.start(spec.name(instance), spec.span_type, None)
        span.set_inputs(kwargs)  # a reference, as MLflow's inputs: the call's keyword arguments
        span.read_at_export(spec.reader)
        return span, rt.current.set(span)
    except Exception as exc:
        internal_error("starting an autolog span", exc)
        return None


def _reset(rt: Tracing, token: Any) -> None:
    try:
        rt.current.reset(token)
    except ValueError:  # reset in another context (a generator moved across tasks)
        rt.current.set(None)


def _fail(rt: Tracing, span: LiveSpan, token: Any, exc: BaseException) -> None:
    try:
        _reset(rt, token)
        span.record_exception(exc)
        span.end()
    except Exception as err:
        internal_error("ending an autolog span", err)


def _succeed(rt: Tracing, span: LiveSpan, token: Any, result: Any, spec: CallSpec) -> Any:
    try:
        _reset(rt, token)
        if spec.streams and isinstance(result, spec.streams):
            _follow_stream(span, result)
        elif spec.async_streams and isinstance(result, spec.async_streams):
            _follow_async_stream(span, result)
        else:
            span.end(result)
    except Exception as exc:
        try:
            span.end(result)  # never leave the span (and its trace) open
        finally:
            internal_error("ending an autolog span", exc)
    return result


# -- streams -------------------------------------------------------------------------------------------
class StreamSpan:
    """A streamed call's span: the chunks seen so far; ended once, by exhaustion, an error or
    ``close()``."""

    __slots__ = ("span", "chunks", "done")

    def __init__(self, span: LiveSpan) -> None:
        self.span = span
        self.chunks: list[Any] = []
        self.done = False

    def finish(self, exc: BaseException | None = None) -> None:
        if self.done:
            return
        self.done = True
        try:
            if exc is not None:
                self.span.record_exception(exc)
            self.span.end(self.chunks)
        except Exception as err:
            internal_error("ending a stream's span", err)


def _follow_stream(span: LiveSpan, stream: Any) -> None:
    """Keep the real stream object (``isinstance`` checks and attributes stay): its iterator is
    wrapped to collect chunks, and ``close()`` ends the span too. Neither holds the stream
    itself, so dropping the stream still frees it at once."""
    state = StreamSpan(span)
    stream._iterator = _collect(stream._iterator, state)
    ref = weakref.ref(stream)
    close = type(stream).close

    def closing() -> None:
        state.finish()
        owner = ref()
        if owner is not None:
            close(owner)

    _set_close(stream, closing)


def _follow_async_stream(span: LiveSpan, stream: Any) -> None:
    state = StreamSpan(span)
    stream._iterator = _acollect(stream._iterator, state)
    ref = weakref.ref(stream)
    close = type(stream).close

    async def closing() -> None:
        state.finish()
        owner = ref()
        if owner is not None:
            await close(owner)

    _set_close(stream, closing)


def _set_close(stream: Any, closing: Any) -> None:
    """``close()`` ends the span too; a stream that takes no attribute (slots) still ends it when
    exhausted, failed or collected."""
    with contextlib.suppress(AttributeError, TypeError):
        stream.close = closing


def _collect(inner: Iterator[Any], state: StreamSpan) -> Iterator[Any]:
    chunks = state.chunks
    try:
        for chunk in inner:
            chunks.append(chunk)
            yield chunk
    except GeneratorExit:  # closed or dropped before the end
        state.finish()
        raise
    except BaseException as exc:
        state.finish(exc)
        raise
    state.finish()


async def _acollect(inner: AsyncIterator[Any], state: StreamSpan) -> AsyncIterator[Any]:
    chunks = state.chunks
    try:
        async for chunk in inner:
            chunks.append(chunk)
            yield chunk
    except GeneratorExit:
        state.finish()
        raise
    except BaseException as exc:
        state.finish(exc)
        raise
    state.finish()


# -- reading requests on export ------------------------------------------------------------------------
REQUEST_PARAMS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "max_output_tokens": "gen_ai.request.max_tokens",
    "stop": "gen_ai.request.stop_sequences",
    "stop_sequences": "gen_ai.request.stop_sequences",
    "seed": "gen_ai.request.seed",
}


def request_attributes(provider: str, inputs: Any, attrs: dict[str, Any]) -> dict[str, Any]:
    """The GenAI conventions' request attributes, from a call's keyword arguments; returns the
    arguments (``{}`` when they are not a mapping)."""
    attrs["gen_ai.provider.name"] = provider
    attrs["gen_ai.system"] = provider
    attrs["mlflow.message.format"] = provider
    if not isinstance(inputs, dict):
        return {}
    model = inputs.get("model")
    if isinstance(model, str):
        attrs["gen_ai.request.model"] = model
    for key, name in REQUEST_PARAMS.items():
        value = inputs.get(key)
        if value is not None and _attribute_value(value):
            attrs[name] = value
    tools = inputs.get("tools")
    if isinstance(tools, list) and tools:
        attrs["mlflow.chat.tools"] = tools
    return inputs


def _attribute_value(value: Any) -> bool:
    """A number, a string or a list of strings (what these request attributes hold)."""
    if isinstance(value, list):
        return all(isinstance(v, str) for v in value)
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)


def usage_attributes(attrs: dict[str, Any], input_tokens: Any, output_tokens: Any) -> None:
    """``gen_ai.usage.*`` from a response's counts (ints only; absent counts stay absent)."""
    if isinstance(input_tokens, int) and not isinstance(input_tokens, bool):
        attrs["gen_ai.usage.input_tokens"] = input_tokens
    if isinstance(output_tokens, int) and not isinstance(output_tokens, bool):
        attrs["gen_ai.usage.output_tokens"] = output_tokens


def response_attributes(attrs: dict[str, Any], response: dict[str, Any], finish: list[str]) -> None:
    model = response.get("model")
    if isinstance(model, str) and model:
        attrs["gen_ai.response.model"] = model
    rid = response.get("id")
    if isinstance(rid, str) and rid:
        attrs["gen_ai.response.id"] = rid
    if finish:
        attrs["gen_ai.response.finish_reasons"] = finish
