"""``make_judge(name, instructions, model)``: a judge of your own criteria, as in MLflow 3.

The instructions name what the judge reads with template variables — ``{{ inputs }}``,
``{{ outputs }}``, ``{{ expectations }}``, ``{{ trace }}`` — and the judge answers with a
``result`` of ``feedback_value_type`` (default ``str``; ``bool``, ``int``, ``float``,
``Literal[...]``, ...) and a rationale. As in MLflow, the instructions go into the system message
and the values into the user message (``inputs: {...}``). MLflow's trace judges inspect the trace
through tool calls; genver's put a compact rendering of its spans into the message instead
(names, types, status, inputs and outputs, cut to ``TRACE_BUDGET`` characters).

>>> quality = make_judge(
...     name="response_quality",
...     instructions="Does {{ outputs }} answer {{ inputs }} accurately and politely?",
...     model="openai:/gpt-4o-mini",
...     feedback_value_type=Literal["yes", "no"],
... )  # doctest: +SKIP
>>> quality(inputs={"question": "What is MLflow?"}, outputs="An ML platform.")  # doctest: +SKIP
Feedback(name='response_quality', value='yes', ...)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from genver.entities import Feedback, Trace
from genver.exceptions import InvalidArgumentError
from genver.genai.judges.parsing import ResultType, result_type
from genver.genai.scorers.builtin import MissingExpectationError, MissingTraceError
from genver.genai.scorers.judges import Judge, JudgeModel

if TYPE_CHECKING:
    import httpx

__all__ = ["InstructionsJudge", "make_judge"]

VARIABLES = ("inputs", "outputs", "expectations", "trace")
#: Characters of a trace's rendering in a judge's message, and of one span value in it.
TRACE_BUDGET = 30_000
VALUE_BUDGET = 2_000
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SYSTEM = (
    "You are an expert judge tasked with evaluating the performance of an AI agent on a particular "
    "query. You will be given instructions that describe the criteria and methodology for "
    "evaluating the agent's performance on the query.\n\nYour task: {instructions}\n\n"
    "The values the instructions refer to as {{{{ name }}}} are given in the user message, one per "
    "line as 'name: value'."
)


def make_judge(
    name: str,
    instructions: str,
    model: JudgeModel | None = None,
    description: str | None = None,
    feedback_value_type: Any = None,
    inference_params: Mapping[str, Any] | None = None,
    base_url: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
    *,
    generate_rationale_first: bool = False,
    api_key: str | None = None,
    timeout: float | None = None,
    http_client: httpx.Client | None = None,
    environ: Mapping[str, str] | None = None,
    aggregations: Sequence[str] | None = None,
) -> InstructionsJudge:
    """A judge named ``name`` that follows ``instructions`` (see the module docstring). ``model``
    is ``"openai:/<model>"``, a model name ``base_url`` serves, or a callable; the other endpoint
    arguments are the built-in judges' (``genver.genai.scorers.judges.Judge``)."""
    return InstructionsJudge(
        name=name,
        instructions=instructions,
        model=model,
        description=description,
        feedback_value_type=feedback_value_type,
        inference_params=inference_params,
        base_url=base_url,
        extra_headers=extra_headers,
        generate_rationale_first=generate_rationale_first,
        api_key=api_key,
        timeout=timeout,
        http_client=http_client,
        environ=environ,
        aggregations=aggregations,
    )


class InstructionsJudge(Judge):
    """The judge ``make_judge`` returns; call it with the values its instructions name."""

    def __init__(
        self,
        *,
        name: str,
        instructions: str,
        description: str | None = None,
        feedback_value_type: Any = None,
        generate_rationale_first: bool = False,
        **kwargs: Any,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError(f"Invalid judge name {name!r}: expected a non-empty string.")
        if not isinstance(instructions, str) or not instructions.strip():
            raise InvalidArgumentError(f"Invalid instructions {instructions!r}: expected a non-empty string.")
        self.variables = _variables(instructions)
        self.result_type: ResultType = result_type(feedback_value_type)
        super().__init__(name=name, **kwargs)
        self.instructions = instructions
        self.description = description
        self.feedback_value_type = feedback_value_type
        self.generate_rationale_first = bool(generate_rationale_first)

    def __call__(
        self, *, inputs: Any = None, outputs: Any = None, expectations: Any = None, trace: Any = None
    ) -> Feedback:
        given = {"inputs": inputs, "outputs": outputs, "expectations": expectations, "trace": trace}
        lines = []
        for var in self.variables:
            value = given[var]
            if value is None or (var == "expectations" and not value):
                raise _missing(self.name, var)
            if var == "trace":
                if not isinstance(value, Trace):
                    raise MissingTraceError(
                        f"{self.name} reads {{{{ trace }}}}, and got {type(value).__name__}"
                    )
                text = render_trace(value)
            else:
                text = _json(value)
            lines.append(f"{var}: {text}")
        return self.judge("\n".join(lines), rtype=self.result_type, system=self._system())

    def _system(self) -> str:
        fields = [
            f'"result": {self.result_type.describe()}',
            '"rationale": "<why, in one or two sentences>"',
        ]
        if self.generate_rationale_first:
            fields.reverse()
        return (
            _SYSTEM.format(instructions=self.instructions)
            + "\n\nReply with a JSON object only, no other text or markdown: {"
            + ", ".join(fields)
            + "}"
        )

    def __repr__(self) -> str:
        return f"InstructionsJudge(name={self.name!r}, variables={list(self.variables)!r})"


def render_trace(trace: Trace) -> str:
    """A compact JSON rendering of a trace's spans, at most ``TRACE_BUDGET`` characters."""
    spans = sorted(trace.data.spans, key=lambda s: s.start_time_ns)
    parts: list[str] = []
    used = 0
    for i, s in enumerate(spans):
        item = {
            "span_id": s.span_id,
            "parent_id": s.parent_id,
            "name": s.name,
            "type": s.span_type,
            "status": str(s.status.status_code),
            "duration_ms": s.duration_ms,
            "inputs": _cut(s.inputs),
            "outputs": _cut(s.outputs),
        }
        text = json.dumps(item, default=str, ensure_ascii=False)
        if used + len(text) > TRACE_BUDGET:
            parts.append(json.dumps({"omitted_spans": len(spans) - i}))
            break
        parts.append(text)
        used += len(text)
    return "[\n" + ",\n".join(parts) + "\n]"


def _variables(instructions: str) -> tuple[str, ...]:
    found: list[str] = []
    for var in _VARIABLE.findall(instructions):
        if var not in VARIABLES:
            hint = " ({{ conversation }} judges of sessions are not offered)" if var == "conversation" else ""
            raise InvalidArgumentError(
                f"Invalid template variable {{{{ {var} }}}} in the instructions: expected only "
                f"{', '.join('{{ ' + v + ' }}' for v in VARIABLES)}{hint}."
            )
        if var not in found:
            found.append(var)
    if not found:
        raise InvalidArgumentError(
            f"Invalid instructions {instructions[:80]!r}: they must name at least one of "
            f"{', '.join('{{ ' + v + ' }}' for v in VARIABLES)}, the values the judge reads."
        )
    return tuple(found)


def _missing(judge: str, var: str) -> Exception:
    what = f"{judge} reads {{{{ {var} }}}}, and the row has none"
    if var == "expectations":
        return MissingExpectationError(what)
    if var == "trace":
        return MissingTraceError(what)
    return InvalidArgumentError(what)


def _json(value: Any) -> str:
    try:
        return json.dumps(value, default=str, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _cut(value: Any) -> Any:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= VALUE_BUDGET else text[: VALUE_BUDGET - 3] + "..."
