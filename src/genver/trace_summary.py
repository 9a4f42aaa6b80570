"""What genver derives from a trace's spans, shared by its own tracing and the server's OTLP
ingest: token usage, cost (a price table per model) and the request/response previews.

Token usage of a span comes from MLflow's ``mlflow.chat.tokenUsage``, else the OpenTelemetry GenAI
attributes ``gen_ai.usage.input_tokens`` / ``output_tokens`` (or the older ``prompt_tokens`` /
``completion_tokens``), else OpenInference's ``llm.token_count.*``. A span's cost is priced by the
model in ``gen_ai.response.model``, ``gen_ai.request.model`` or ``llm.model_name`` and kept on the span in the ``genver.span.cost`` attribute (by genver's
own tracing and by the OTLP ingest alike), so a trace's totals are the sum over its spans
(``summarize``), also when a trace is merged from several requests, without a price table.

Prices are US dollars per million tokens, ``(input, output)``. The table ships with defaults for
common models; users extend or override it with ``set_model_prices({...})`` or a JSON file named
by ``GENVER_MODEL_PRICES_FILE`` (``{"my-model": {"input": 0.5, "output": 1.5}}``). Model names
match exactly, then by the longest known prefix (``gpt-4o-2024-08-06`` → ``gpt-4o``).
"""

from __future__ import annotations

import json
import json.encoder
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from genver.entities import Span, TokenUsage
from genver.entities.trace import COST_KEY, TOKEN_USAGE_KEY
from genver.exceptions import InvalidArgumentError

PREVIEW_CHARS = 1000


def _json_dumps() -> Callable[[Any], str]:
    """``json.dumps(value, default=str, ensure_ascii=False)`` without its per-call wrappers (it
    builds an encoder per call): json's own C encoder with the same settings, built once. No
    circular-reference check: previews are made of JSON-compatible values."""
    try:
        from _json import make_encoder
    except ImportError:  # no C accelerator
        return lambda value: json.dumps(value, default=str, ensure_ascii=False)
    encode = make_encoder(None, str, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)
    return lambda value: "".join(encode(value, 0))


_dumps = _json_dumps()
SPAN_COST_KEY = "genver.span.cost"
CHAT_USAGE_KEY = "mlflow.chat.tokenUsage"  # MLflow's per-span usage: input/output/total_tokens


@dataclass(frozen=True, slots=True)
class Price:
    input: float  # $ per 1M input tokens
    output: float  # $ per 1M output tokens

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-4": Price(30.00, 60.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "o1": Price(15.00, 60.00),
    "o1-mini": Price(1.10, 4.40),
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    "claude-3-5-sonnet": Price(3.00, 15.00),
    "claude-3-7-sonnet": Price(3.00, 15.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-3-5-haiku": Price(0.80, 4.00),
    "claude-3-haiku": Price(0.25, 1.25),
    "claude-3-opus": Price(15.00, 75.00),
    "claude-opus-4": Price(15.00, 75.00),
    "gemini-1.5-pro": Price(1.25, 5.00),
    "gemini-1.5-flash": Price(0.075, 0.30),
    "gemini-2.0-flash": Price(0.10, 0.40),
    "gemini-2.5-pro": Price(1.25, 10.00),
    "gemini-2.5-flash": Price(0.30, 2.50),
    "mistral-large": Price(2.00, 6.00),
    "mistral-small": Price(0.20, 0.60),
    "llama-3.1-8b": Price(0.05, 0.08),
    "llama-3.1-70b": Price(0.60, 0.80),
    "text-embedding-3-small": Price(0.02, 0.0),
    "text-embedding-3-large": Price(0.13, 0.0),
}


class PriceTable:
    """Thread-safe model → price lookup with user overrides."""

    def __init__(self, prices: Mapping[str, Price] | None = None) -> None:
        self._prices: dict[str, Price] = dict(DEFAULT_PRICES if prices is None else prices)
        self._lock = threading.Lock()
        self._cache: dict[str, Price | None] = {}

    def set(self, prices: Mapping[str, object]) -> None:
        """Add or override prices: ``{"model": Price(...) | {"input": x, "output": y} | (x, y)}``."""
        parsed = {name: _parse_price(name, p) for name, p in prices.items()}
        with self._lock:
            self._prices.update(parsed)
            self._cache.clear()

    def load_file(self, path: str) -> None:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as exc:
            raise InvalidArgumentError(f"Cannot read model prices from {path!r}: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidArgumentError(
                f"Model prices file {path!r} must hold a JSON object of model → price."
            )
        self.set(data)

    def lookup(self, model: str | None) -> Price | None:
        if not model:
            return None
        if model in self._cache:
            return self._cache[model]
        with self._lock:
            price = self._prices.get(model)
            if price is None:
                base = model.split("/")[-1].lower()
                price = self._prices.get(base)
                if price is None:
                    best = max((k for k in self._prices if base.startswith(k)), key=len, default=None)
                    price = self._prices[best] if best is not None else None
            self._cache[model] = price
        return price

    def as_dict(self) -> dict[str, Price]:
        with self._lock:
            return dict(self._prices)


def _parse_price(name: str, value: object) -> Price:
    if isinstance(value, Price):
        return value
    if isinstance(value, Mapping):
        inp, out = value.get("input"), value.get("output", 0.0)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        inp, out = value
    else:
        inp = out = None
    if (
        isinstance(inp, (int, float))
        and isinstance(out, (int, float))
        and not isinstance(inp, bool)
        and not isinstance(out, bool)
        and inp >= 0
        and out >= 0
    ):
        return Price(float(inp), float(out))
    raise InvalidArgumentError(
        f"Invalid price {value!r} for model {name!r}: expected {{'input': <$/1M tokens>, 'output': <$/1M tokens>}}."
    )


# -- per span and per trace ----------------------------------------------------------------------------
def span_usage(attributes: Mapping[str, Any]) -> tuple[int, int] | None:
    """Input and output tokens recorded in a span's attributes, or None: MLflow's
    ``mlflow.chat.tokenUsage`` first (as MLflow reads it, and where ``LiveSpan.set_token_usage``
    lands), else the GenAI semantic conventions' ``gen_ai.usage.*``."""
    inp = out = None
    usage = attributes.get(CHAT_USAGE_KEY)
    if isinstance(usage, str):
        try:
            usage = json.loads(usage)
        except ValueError:
            usage = None
    if isinstance(usage, dict):
        inp, out = usage.get("input_tokens"), usage.get("output_tokens")
    if inp is None and out is None:
        inp = attributes.get("gen_ai.usage.input_tokens", attributes.get("gen_ai.usage.prompt_tokens"))
        out = attributes.get("gen_ai.usage.output_tokens", attributes.get("gen_ai.usage.completion_tokens"))
    if inp is None and out is None:  # OpenInference
        inp, out = attributes.get("llm.token_count.prompt"), attributes.get("llm.token_count.completion")
    if inp is None and out is None:
        return None
    try:
        return int(inp or 0), int(out or 0)
    except (TypeError, ValueError, OverflowError):
        return None


def span_cost(attributes: Mapping[str, Any], usage: tuple[int, int], prices: PriceTable) -> float | None:
    """The cost of ``usage`` tokens at the price of the span's model, or None when unpriced."""
    model = (
        attributes.get("gen_ai.response.model")
        or attributes.get("gen_ai.request.model")
        or attributes.get("llm.model_name")  # OpenInference
    )
    price = prices.lookup(model if isinstance(model, str) else None)
    return None if price is None else price.cost(usage[0], usage[1])


def usage_attribute(input_tokens: int, output_tokens: int) -> dict[str, int]:
    """The value of ``mlflow.chat.tokenUsage`` for a span, as MLflow writes it."""
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }


def stored_cost(attributes: Mapping[str, Any]) -> float | None:
    """The cost a span carries in ``SPAN_COST_KEY`` (a finite number), or None."""
    value = attributes.get(SPAN_COST_KEY)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def summarize(spans: Iterable[Span]) -> tuple[TokenUsage | None, float | None]:
    """A trace's token usage and cost, added up from its spans' attributes (``span_usage`` and
    ``SPAN_COST_KEY``); None for what no span records.

    As in MLflow, a span whose ancestor already counts tokens (or cost) is not counted again: a
    LangChain chat model's span and the OpenAI call nested in it describe the same tokens."""
    spans = list(spans)
    if len(spans) == 1:  # the common case (an autolog call): no ancestors to count first
        attrs = spans[0].attributes
        one, one_cost = span_usage(attrs), stored_cost(attrs)
        total = None if one is None else TokenUsage(one[0], one[1], one[0] + one[1])
        return total, None if one_cost is None else 0.0 + one_cost
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[Span]] = {}
    for span in spans:
        parent = span.parent_id if span.parent_id in ids else None
        children.setdefault(parent, []).append(span)
    tokens_in = tokens_out = 0
    seen = False
    cost: float | None = None
    visited: set[int] = set()
    roots: list[Span] = children.get(None, []) or spans
    while roots:
        # Depth first, iteratively (a trace may nest thousands deep): (span, an ancestor counts
        # usage, an ancestor counts cost).
        stack = [(span, False, False) for span in roots]
        while stack:
            span, usage_above, cost_above = stack.pop()
            if id(span) in visited:
                continue
            visited.add(id(span))
            usage = span_usage(span.attributes)
            if usage is not None and not usage_above:
                seen = True
                tokens_in += usage[0]
                tokens_out += usage[1]
            value = stored_cost(span.attributes)
            if value is not None and not cost_above:
                cost = (cost or 0.0) + value
            below = (usage_above or usage is not None, cost_above or value is not None)
            stack.extend((child, *below) for child in children.get(span.span_id, ()))
        # Spans whose parents form a cycle (malformed input) are reached from none: count them too.
        roots = [s for s in spans if id(s) not in visited] if len(visited) < len(spans) else []
    usage_total = TokenUsage(tokens_in, tokens_out, tokens_in + tokens_out) if seen else None
    return usage_total, cost


def usage_metadata(usage: TokenUsage | None, cost: float | None) -> dict[str, str]:
    """The trace metadata MLflow and genver keep the totals in (``mlflow.trace.tokenUsage``,
    ``genver.trace.cost``)."""
    out: dict[str, str] = {}
    if usage is not None and (usage.input_tokens or usage.output_tokens):
        i, o, t = usage.input_tokens, usage.output_tokens, usage.total_tokens
        out[TOKEN_USAGE_KEY] = (
            f'{{"input_tokens": {i}, "output_tokens": {o}, "total_tokens": {t}}}'
            if type(i) is int and type(o) is int and type(t) is int
            else json.dumps(usage.to_dict())
        )
    if cost is not None:
        out[COST_KEY] = f"{cost:.8f}"
    return out


def preview(value: Any) -> str | None:
    """A request/response preview: the value as JSON (strings as they are), cut to
    ``PREVIEW_CHARS``."""
    if value is None:
        return None
    text = value if isinstance(value, str) else _dumps(value)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 3] + "..."
