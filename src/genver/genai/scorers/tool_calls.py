"""``ToolCallCorrectness`` (MLflow 3's name): were the right tools called, with sensible
arguments, for the request?

The calls are the trace's TOOL spans in start order (name: the span's name, arguments: its
inputs); the tools the model could call are read from LLM/CHAT_MODEL spans (attribute
``mlflow.chat.tools`` or a ``tools`` input). As in MLflow, three modes:

- no ``expectations["expected_tool_calls"]``: the judge decides whether the calls are reasonable;
- expected calls, ``should_exact_match=False``: the judge compares them with the expected ones;
- expected calls, ``should_exact_match=True``: compared in code (names, and arguments when every
  expected call gives them), in order with ``should_consider_ordering=True``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from genver.entities import Feedback, SpanType, Trace
from genver.exceptions import InvalidArgumentError
from genver.genai.scorers.builtin import MissingExpectationError, MissingTraceError
from genver.genai.scorers.judges import Judge, reply_format, request_text, show

__all__ = ["ToolCallCorrectness", "tool_calls"]

EXPECTED_TOOL_CALLS = "expected_tool_calls"
TOOLS_ATTRIBUTE = "mlflow.chat.tools"

Call = dict[str, Any]  # {"name": str, "arguments": dict | None}


class ToolCallCorrectness(Judge):
    """Are the tool calls of the trace correct for its request? See the module docstring."""

    default_name = "tool_call_correctness"

    def __init__(
        self, *, should_exact_match: bool = False, should_consider_ordering: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.should_exact_match = bool(should_exact_match)
        self.should_consider_ordering = bool(should_consider_ordering)

    def __call__(self, *, trace: Any = None, expectations: Any = None) -> Feedback:  # type: ignore[override]
        if not isinstance(trace, Trace):
            raise MissingTraceError(f"{self.name} reads the tool calls from the trace, and this row has none")
        actual = tool_calls(trace)
        expected = _expected_calls(expectations)
        if expected is None and self.should_exact_match:
            raise MissingExpectationError(
                f"{self.name} with should_exact_match=True needs expectations['{EXPECTED_TOOL_CALLS}']"
            )
        if expected is not None and self.should_exact_match:
            return self._exact(actual, expected)
        root = trace.data.root
        request = request_text(root.inputs if root is not None else None)
        order = (
            " The order of the calls matters."
            if self.should_consider_ordering
            else " The order does not matter."
        )
        if expected is None:
            task = (
                "Decide whether the tools called, and the arguments they were called with, are "
                "reasonable and sufficient for the request, given the tools available." + order
            )
            reference = ""
        else:
            task = (
                "Decide whether the tool calls match the expected tool calls: the same tools, with "
                "arguments that mean the same (exact wording may differ)." + order
            )
            reference = f"\n\nExpected tool calls:\n{show(expected)}"
        tools = _available_tools(trace)
        return self.judge(
            f"You are an impartial grader. {task}\n\nRequest:\n{request}\n\n"
            f"Available tools:\n{show(tools) if tools else '(not recorded)'}\n\n"
            f"Tool calls, in order:\n{show(actual) if actual else '(none)'}{reference}\n\n{reply_format()}"
        )

    def _exact(self, actual: list[Call], expected: list[Call]) -> Feedback:
        with_args = all(c.get("arguments") is not None for c in expected)
        got = [_signature(c, with_args) for c in actual]
        want = [_signature(c, with_args) for c in expected]
        if self.should_consider_ordering:
            if len(got) != len(want):
                why = f"Expected {len(want)} tool call(s), but got {len(got)}."
            else:
                mismatches = [
                    f"position {i + 1}: expected {w}, got {g}"
                    for i, (g, w) in enumerate(zip(got, want, strict=True))
                    if g != w
                ]
                why = "; ".join(mismatches)
            if not why:
                return self.feedback("yes", "All tool calls match the expected sequence.", by_code=True)
            return self.feedback("no", f"Tool calls do not match in order: {why}", by_code=True)
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        if not missing and not extra:
            return self.feedback("yes", "All expected tool calls are present (order ignored).", by_code=True)
        parts = ([f"missing: {', '.join(missing)}"] if missing else []) + (
            [f"unexpected: {', '.join(extra)}"] if extra else []
        )
        return self.feedback("no", "; ".join(parts), by_code=True)


def tool_calls(trace: Trace) -> list[Call]:
    """The trace's tool calls: its TOOL spans in start order, as ``{"name", "arguments"}``."""
    spans = sorted(trace.search_spans(span_type=SpanType.TOOL), key=lambda s: s.start_time_ns)
    return [{"name": s.name, "arguments": s.inputs if s.inputs not in (None, {}) else None} for s in spans]


def _available_tools(trace: Trace) -> list[Any]:
    found: list[Any] = []
    seen: set[str] = set()
    for span in trace.data.spans:
        if span.span_type not in (SpanType.LLM, SpanType.CHAT_MODEL):
            continue
        tools = span.attributes.get(TOOLS_ATTRIBUTE)
        if tools is None and isinstance(span.inputs, Mapping):
            tools = span.inputs.get("tools")
        if isinstance(tools, str):
            try:
                tools = json.loads(tools)
            except ValueError:
                continue
        for tool in tools if isinstance(tools, list) else []:
            key = json.dumps(tool, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                found.append(tool)
    return found


def _expected_calls(expectations: Any) -> list[Call] | None:
    if not isinstance(expectations, Mapping) or not expectations.get(EXPECTED_TOOL_CALLS):
        return None
    raw = expectations[EXPECTED_TOOL_CALLS]
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise InvalidArgumentError(
            f"Invalid expectations['{EXPECTED_TOOL_CALLS}'] {raw!r}: expected a list of "
            "{'name': ..., 'arguments': {...}} (arguments optional)."
        )
    calls: list[Call] = []
    for call in raw:
        if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
            raise InvalidArgumentError(
                f"Invalid expected tool call {call!r}: expected {{'name': ..., 'arguments': {{...}}}}."
            )
        args = call.get("arguments")
        if args is not None and not isinstance(args, Mapping):
            raise InvalidArgumentError(
                f"Invalid arguments {args!r} of expected tool call {call['name']!r}: expected a dict."
            )
        calls.append({"name": call["name"], "arguments": dict(args) if args is not None else None})
    return calls


def _signature(call: Call, with_args: bool) -> str:
    if not with_args:
        return str(call["name"])
    args = call.get("arguments") or {}
    return f"{call['name']}({json.dumps(args, sort_keys=True, default=str)})"
