"""Prices per model, for the cost of LLM calls recorded on traces. The table lives in
``genver.trace_summary``, which the server's OTLP ingest shares; this module keeps its names."""

from __future__ import annotations

from genver.trace_summary import DEFAULT_PRICES, Price, PriceTable

__all__ = ["DEFAULT_PRICES", "Price", "PriceTable"]
