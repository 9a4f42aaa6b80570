"""Built-in code scorers: exact match, contains, regex, JSON validity, and latency, tokens and
cost read from the row's trace.

Each returns a ``Feedback`` named after the scorer (``exact_match``, ``contains``, ...), so the
metric is ``<name>/mean``; pass ``name=`` to run two of a kind side by side.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from genver.entities import Feedback, Trace
from genver.exceptions import GenverError, InvalidArgumentError
from genver.genai.scorers.base import Scorer

#: MLflow's expectation key for the expected answer.
EXPECTED_RESPONSE = "expected_response"


class MissingExpectationError(GenverError, LookupError):
    """The row has no expectation under the key a scorer compares against."""

    default_error_code = "MISSING_EXPECTATION"


class MissingTraceError(GenverError, LookupError):
    """The scorer reads the trace, and the row has none (tracing disabled or not exported)."""

    default_error_code = "MISSING_TRACE"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _expected(expectations: Any, key: str, scorer: str) -> Any:
    if not isinstance(expectations, Mapping) or key not in expectations:
        have = sorted(expectations) if isinstance(expectations, Mapping) else expectations
        raise MissingExpectationError(f"{scorer} needs expectations[{key!r}]; the row has {have!r}")
    return expectations[key]


class ExactMatch(Scorer):
    """``outputs`` equals ``expectations[expectation_key]`` (strings compared after ``strip()``,
    and case-insensitively with ``ignore_case=True``).

    >>> ExactMatch()(outputs=" Paris", expectations={"expected_response": "Paris"})
    Feedback(name='exact_match', value=True, ...)  # doctest: +SKIP
    """

    default_name = "exact_match"

    def __init__(
        self,
        expectation_key: str = EXPECTED_RESPONSE,
        *,
        ignore_case: bool = False,
        name: str | None = None,
        aggregations: Sequence[str] | None = None,
    ) -> None:
        super().__init__(name=name, aggregations=aggregations)
        self.expectation_key = expectation_key
        self.ignore_case = ignore_case

    def __call__(self, *, outputs: Any = None, expectations: Any = None) -> Feedback:  # type: ignore[override]
        expected = _expected(expectations, self.expectation_key, self.name)
        if isinstance(expected, str) or isinstance(outputs, str):
            got, want = _text(outputs).strip(), _text(expected).strip()
            if self.ignore_case:
                got, want = got.casefold(), want.casefold()
            match = got == want
        else:
            match = outputs == expected
        return Feedback(
            value=match,
            rationale=None if match else f"expected {_short(expected)}, got {_short(outputs)}",
        )


class Contains(Scorer):
    """``outputs`` (as text) contains ``substring``, or else ``expectations[expectation_key]``."""

    default_name = "contains"

    def __init__(
        self,
        substring: str | None = None,
        *,
        expectation_key: str = EXPECTED_RESPONSE,
        ignore_case: bool = False,
        name: str | None = None,
        aggregations: Sequence[str] | None = None,
    ) -> None:
        if substring is not None and not isinstance(substring, str):
            raise InvalidArgumentError(f"Invalid substring {substring!r}: expected a string.")
        super().__init__(name=name, aggregations=aggregations)
        self.substring = substring
        self.expectation_key = expectation_key
        self.ignore_case = ignore_case

    def __call__(self, *, outputs: Any = None, expectations: Any = None) -> Feedback:  # type: ignore[override]
        needle = self.substring
        if needle is None:
            needle = _text(_expected(expectations, self.expectation_key, self.name))
        text = _text(outputs)
        found = needle.casefold() in text.casefold() if self.ignore_case else needle in text
        return Feedback(value=found, rationale=None if found else f"{needle!r} not found in the outputs")


class RegexMatch(Scorer):
    """``re.search(pattern, outputs)`` finds a match (outputs as text)."""

    default_name = "regex_match"

    def __init__(
        self,
        pattern: str,
        *,
        flags: int = 0,
        name: str | None = None,
        aggregations: Sequence[str] | None = None,
    ) -> None:
        if not isinstance(pattern, str):
            raise InvalidArgumentError(f"Invalid regex pattern {pattern!r}: expected a string.")
        try:
            self.regex = re.compile(pattern, flags)
        except re.error as exc:
            raise InvalidArgumentError(f"Invalid regex pattern {pattern!r}: {exc}.") from None
        super().__init__(name=name, aggregations=aggregations)

    def __call__(self, *, outputs: Any = None) -> Feedback:  # type: ignore[override]
        found = self.regex.search(_text(outputs)) is not None
        return Feedback(
            value=found, rationale=None if found else f"no match for {self.regex.pattern!r} in the outputs"
        )


class IsValidJson(Scorer):
    """``outputs`` is JSON: a string that parses, or a dict/list already."""

    default_name = "is_valid_json"

    def __call__(self, *, outputs: Any = None) -> Feedback:  # type: ignore[override]
        if isinstance(outputs, (dict, list)):
            return Feedback(value=True)
        if not isinstance(outputs, str):
            return Feedback(value=False, rationale=f"outputs is {type(outputs).__name__}, not a JSON string")
        try:
            json.loads(outputs)
        except ValueError as exc:
            return Feedback(value=False, rationale=f"not valid JSON: {exc}")
        return Feedback(value=True)


def _need_trace(trace: Any, scorer: str) -> Trace:
    if not isinstance(trace, Trace):
        raise MissingTraceError(f"{scorer} reads the trace, and this row has none")
    return trace


class Latency(Scorer):
    """The root span's duration in milliseconds; with ``max_ms``, pass/fail against it instead
    (so the metric is the share of rows within the budget)."""

    default_name = "latency"

    def __init__(
        self,
        max_ms: float | None = None,
        *,
        name: str | None = None,
        aggregations: Sequence[str] | None = None,
    ) -> None:
        if max_ms is not None and (
            isinstance(max_ms, bool) or not isinstance(max_ms, (int, float)) or max_ms <= 0
        ):
            raise InvalidArgumentError(f"Invalid max_ms {max_ms!r}: expected a positive number.")
        super().__init__(name=name, aggregations=aggregations)
        self.max_ms = max_ms

    def __call__(self, *, trace: Any = None) -> Feedback:  # type: ignore[override]
        t = _need_trace(trace, self.name)
        root = t.data.root
        ms = root.duration_ms if root is not None else None
        if ms is None:
            ms = float(t.info.execution_duration) if t.info.execution_duration is not None else None
        if ms is None:
            raise MissingTraceError(f"{self.name}: the trace has no duration")
        if self.max_ms is None:
            return Feedback(value=ms)
        ok = ms <= self.max_ms
        return Feedback(value=ok, rationale=f"{ms:.1f} ms ({'within' if ok else 'over'} {self.max_ms} ms)")


class TokenCount(Scorer):
    """Total tokens the trace used (``trace.info.token_usage``); None when it records none."""

    default_name = "token_count"

    def __call__(self, *, trace: Any = None) -> Feedback:  # type: ignore[override]
        usage = _need_trace(trace, self.name).info.token_usage
        if usage is None:
            return Feedback(value=None, rationale="the trace records no token usage")
        return Feedback(
            value=usage.total_tokens,
            rationale=f"{usage.input_tokens} input + {usage.output_tokens} output tokens",
        )


class Cost(Scorer):
    """The trace's cost in dollars (``trace.info.cost``); None when no span was priced."""

    default_name = "cost"

    def __call__(self, *, trace: Any = None) -> Feedback:  # type: ignore[override]
        cost = _need_trace(trace, self.name).info.cost
        if cost is None:
            return Feedback(value=None, rationale="no span of the trace has a known model price")
        return Feedback(value=cost)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
