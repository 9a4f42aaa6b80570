"""``@trace`` for functions, methods, async functions, generators and async generators.

The wrapper does as little as possible on the caller's thread: start an OpenTelemetry span, make
it current, keep references to the arguments and the result, end the span. Everything else
(binding arguments to names, serializing, storing) happens on the exporter's thread. If tracing
itself fails, the function still runs and its result or exception is returned unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

from genver.entities import SpanType
from genver.exceptions import InvalidArgumentError
from genver.tracing.errors import internal_error
from genver.tracing.live import CallInputs

if TYPE_CHECKING:
    from genver.tracing.runtime import Tracing

F = TypeVar("F", bound=Callable[..., Any])


def make_trace(
    runtime: Callable[[], Tracing | None],
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: dict[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
) -> Any:
    if func is None:
        return lambda f: make_trace(
            runtime, f, name=name, span_type=span_type, attributes=attributes, output_reducer=output_reducer
        )
    if isinstance(func, (staticmethod, classmethod)):
        inner = make_trace(
            runtime,
            func.__func__,
            name=name,
            span_type=span_type,
            attributes=attributes,
            output_reducer=output_reducer,
        )
        return type(func)(inner)
    if not callable(func):
        raise InvalidArgumentError(f"@trace expects a function, got {func!r}.")
    if name is not None and not isinstance(name, str):
        raise InvalidArgumentError(f"Invalid span name {name!r}: expected a string.")
    is_gen = inspect.isgeneratorfunction(func)
    is_agen = inspect.isasyncgenfunction(func)
    if output_reducer is not None and not (is_gen or is_agen):
        raise InvalidArgumentError("output_reducer is only allowed on generator functions.")
    span_name: str = name or str(getattr(func, "__name__", "span"))
    params = list(inspect.signature(func).parameters)
    binder = CallInputs(func, skip_first=bool(params) and params[0] in ("self", "cls"))
    attrs = dict(attributes) if attributes else None

    def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, Any] | None:
        try:
            rt = runtime()
            if rt is None:
                return None
            span = rt.start(span_name, span_type, attrs)
            span._binder, span._args, span._kwargs = binder, args, kwargs
            return rt, span, rt.current.set(span)
        except Exception as exc:
            internal_error("starting a span", exc)
            return None

    def finish(state: tuple[Any, Any, Any], result: Any, exc: BaseException | None) -> None:
        rt, span, token = state
        try:
            try:
                rt.current.reset(token)
            except ValueError:
                rt.current.set(None)
            if exc is not None:
                span.record_exception(exc)
                span.end()
            else:
                span.end(result)
        except Exception as err:
            internal_error("ending a span", err)

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            state = begin(args, kwargs)
            if state is None:
                return await func(*args, **kwargs)
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:
                finish(state, None, exc)
                raise
            finish(state, result, None)
            return result

        return async_wrapper

    if is_gen:

        @functools.wraps(func)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            state = begin(args, kwargs)
            if state is None:
                return (yield from func(*args, **kwargs))
            rt, span, token = state
            _reset(rt, token)
            items: list[Any] = []
            gen = func(*args, **kwargs)
            sent: Any = None
            try:
                while True:
                    tok = rt.current.set(span)
                    try:
                        item = gen.send(sent)
                    finally:
                        _reset(rt, tok)
                    items.append(item)
                    sent = yield item
            except StopIteration as stop:
                _end(span, items, output_reducer, None)
                return stop.value
            except BaseException as exc:
                _end(span, items, output_reducer, exc)
                raise

        return gen_wrapper

    if is_agen:

        @functools.wraps(func)
        async def agen_wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
            state = begin(args, kwargs)
            if state is None:
                async for item in func(*args, **kwargs):
                    yield item
                return
            rt, span, token = state
            _reset(rt, token)
            items: list[Any] = []
            agen = func(*args, **kwargs)
            sent: Any = None
            try:
                while True:
                    tok = rt.current.set(span)
                    try:
                        item = await agen.asend(sent)
                    finally:
                        _reset(rt, tok)
                    items.append(item)
                    sent = yield item
            except StopAsyncIteration:
                _end(span, items, output_reducer, None)
            except BaseException as exc:
                _end(span, items, output_reducer, exc)
                raise

        return agen_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state = begin(args, kwargs)
        if state is None:
            return func(*args, **kwargs)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            finish(state, None, exc)
            raise
        finish(state, result, None)
        return result

    return wrapper


def _reset(rt: Tracing, token: Any) -> None:
    try:
        rt.current.reset(token)
    except ValueError:
        rt.current.set(None)


def _end(
    span: Any, items: list[Any], reducer: Callable[[list[Any]], Any] | None, exc: BaseException | None
) -> None:
    try:
        if exc is not None and not isinstance(exc, GeneratorExit):
            span.record_exception(exc)
        outputs: Any = items
        if reducer is not None:
            try:
                outputs = reducer(items)
            except Exception as err:
                internal_error("the output_reducer failed", err)
        span.end(outputs)
    except Exception as err:
        internal_error("ending a span", err)
