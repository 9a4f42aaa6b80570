"""Span outlines: a span's place in the tree, timing, status, tokens and cost, without its
payload. Tokens are read as everywhere else (``trace_summary.span_usage``) and cost from the
span's own ``SPAN_COST_KEY``; every store builds outlines here, so they agree."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from genver.entities import Span, SpanOutline
from genver.trace_summary import SPAN_COST_KEY, span_usage

#: Attribute text without any of these holds no tokens and no cost: it is not decoded.
_MARKERS = ("tokens", "tokenUsage", SPAN_COST_KEY)
_MAX_TOKENS = 2**63 - 1


def outline(
    span_id: str,
    parent_id: str | None,
    name: str,
    span_type: str,
    status: str,
    start_time_ns: int,
    end_time_ns: int | None,
    attributes: Mapping[str, Any] | None,
) -> SpanOutline:
    usage = span_usage(attributes) if attributes else None
    if usage is not None and not all(0 <= n <= _MAX_TOKENS for n in usage):
        usage = None  # a count no model returns (negative, or a float past 2**63): not a usage
    cost = attributes.get(SPAN_COST_KEY) if attributes else None
    priced = isinstance(cost, (int, float)) and not isinstance(cost, bool) and math.isfinite(cost)
    return SpanOutline(
        span_id=span_id,
        parent_id=parent_id,
        name=name,
        span_type=span_type,
        status=status,
        start_time_ns=start_time_ns,
        end_time_ns=end_time_ns,
        input_tokens=None if usage is None else usage[0],
        output_tokens=None if usage is None else usage[1],
        cost=float(cost) if priced else None,  # type: ignore[arg-type]
    )


def outline_of(span: Span) -> SpanOutline:
    return outline(
        span.span_id,
        span.parent_id,
        span.name,
        span.span_type,
        span.status.status_code.value,
        span.start_time_ns,
        span.end_time_ns,
        span.attributes,
    )


def usage_attributes(text: str | None) -> Mapping[str, Any] | None:
    """A span's attributes decoded from their stored JSON text, only when they can hold tokens
    or a cost (most spans of a big trace hold neither, and are never decoded)."""
    if not text or not any(m in text for m in _MARKERS):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
