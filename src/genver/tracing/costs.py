"""Prices per model, for the cost of LLM calls recorded on traces.

Prices are US dollars per million tokens, ``(input, output)``. The table ships with defaults for
common models; users extend or override it with ``set_model_prices({...})`` or a JSON file named
by ``GENVER_MODEL_PRICES_FILE`` (``{"my-model": {"input": 0.5, "output": 1.5}}``). Model names
match exactly, then by the longest known prefix (``gpt-4o-2024-08-06`` → ``gpt-4o``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from genver.exceptions import InvalidArgumentError


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
