"""``Judge``: a scorer that asks an LLM for a verdict. The built-in judges (``builtin_judges``,
``retrieval``, ``tool_calls``) and ``make_judge`` build on it.

A judge's model is a callable ``(prompt: str) -> reply`` or an OpenAI-compatible chat endpoint
(``genver.genai.judges.endpoint``)::

    Correctness(model=lambda prompt: my_llm(prompt))
    Correctness(model="openai:/gpt-4o-mini")                    # OPENAI_BASE_URL / OPENAI_API_KEY
    Correctness(model="llama3", base_url="http://localhost:11434/v1", api_key="-")

The built-in judges ask for ``{"result": "yes"|"no", "rationale": "..."}`` and return
``Feedback(value="yes"|"no", rationale=...)``, so ``<name>/mean`` is the share of "yes".

A judge that cannot answer never fails silently. Called directly, it raises the ``JudgeError``
that says why. In ``genai.evaluate``, the row's feedback is that error, the rows are counted in
``<name>/error_count``, and ``failure_summary`` makes the one warning line per judge that names
the endpoint and the setting that fixes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from genver.entities import AssessmentError, AssessmentSource, AssessmentSourceType, Feedback, Trace
from genver.genai.datasets import trace_expectations
from genver.genai.judges.endpoint import ChatEndpoint, Message
from genver.genai.judges.parsing import YES_NO, ResultType, parse_reply
from genver.genai.scorers.base import Scorer, most_common_error

if TYPE_CHECKING:
    import httpx

__all__ = ["Judge", "JudgeModel", "reply_format", "request_text", "response_text", "show"]

JudgeModel = str | Callable[[str], Any]
#: Error codes that mean the endpoint (not the row) is the problem.
ENDPOINT_CODES = frozenset(
    {
        "JUDGE_NOT_CONFIGURED",
        "JUDGE_UNAVAILABLE",
        "JUDGE_TIMEOUT",
        "JUDGE_AUTH_ERROR",
        "JUDGE_ERROR",
        "JUDGE_PARSE_ERROR",
    }
)


class Judge(Scorer):
    """A scorer that asks an LLM for a verdict; subclasses build the prompt and call ``judge``.

    ``model``: a callable, ``"openai:/<model>"`` or a model name the endpoint serves (default:
    ``GENVER_JUDGE_MODEL``); ``base_url``, ``api_key``, ``timeout``: the endpoint (defaults from
    the environment, see ``genver.genai.judges.endpoint``); ``inference_params`` go into the
    request body (``temperature`` is 0 unless given), ``extra_headers`` into its headers.
    """

    source_type = AssessmentSourceType.LLM_JUDGE

    def __init__(
        self,
        *,
        model: JudgeModel | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        max_retries: int = 2,
        retry_backoff: float = 0.5,
        inference_params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        environ: Mapping[str, str] | None = None,
        name: str | None = None,
        aggregations: Sequence[str] | None = None,
    ) -> None:
        super().__init__(name=name, aggregations=aggregations)
        self.model = model
        self.endpoint = ChatEndpoint(
            model=None if callable(model) else model,
            base_url=base_url,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            inference_params=inference_params,
            extra_headers=extra_headers,
            http_client=http_client,
            environ=environ,
        )

    # -- asking the model --------------------------------------------------------------------------------
    def ask(self, messages: Sequence[Message]) -> Any:
        """The model's reply to ``messages`` (a callable model gets them as one prompt)."""
        if callable(self.model):
            return self.model("\n\n".join(m["content"] for m in messages))
        return self.endpoint.complete(messages)

    def judge(self, prompt: str, *, rtype: ResultType = YES_NO, system: str | None = None) -> Feedback:
        """Ask the model; its verdict as Feedback (raises ``JudgeError`` when there is none)."""
        messages: list[Message] = [{"role": "user", "content": prompt}]
        if system is not None:
            messages.insert(0, {"role": "system", "content": system})
        value, rationale = parse_reply(self.ask(messages), rtype)
        return self.feedback(value, rationale)

    def feedback(self, value: Any, rationale: str | None, *, by_code: bool = False, **more: Any) -> Feedback:
        """A verdict named after this judge, from the model (or ``by_code``, when it was decided
        without asking, e.g. an exact match)."""
        kind = AssessmentSourceType.CODE if by_code else AssessmentSourceType.LLM_JUDGE
        return Feedback(
            name=self.name, value=value, rationale=rationale, source=AssessmentSource(kind, self.name), **more
        )

    def describe_model(self) -> str:
        """``model 'gpt-4o-mini' at http://.../chat/completions``, or the callable."""
        if callable(self.model):
            return f"model {getattr(self.model, '__qualname__', None) or type(self.model).__name__}"
        try:
            where = self.endpoint.resolve()
        except Exception as exc:  # a bad setting: say so rather than fail the summary
            return f"model {self.model!r} ({exc})"
        return f"model {where.model!r} at {where.url}"

    # -- when it failed ----------------------------------------------------------------------------------
    def failure_summary(self, errors: Sequence[AssessmentError], total: int) -> str:
        """One line: which judge failed on how many rows, at which endpoint, why, and the setting
        that fixes it."""
        about_endpoint = [e for e in errors if e.error_code in ENDPOINT_CODES]
        code, message = most_common_error(about_endpoint or errors)
        fix = None
        if code in ENDPOINT_CODES and not callable(self.model):
            fix = self.endpoint.fix(code)
        return (
            f"Judge {self.name!r} ({self.describe_model()}) failed on {len(errors)} of {total} rows: "
            f"{message}." + (f" To fix: {fix}." if fix else "") + f" {self._counted_note()}"
        )


# -- texts of a row --------------------------------------------------------------------------------------------
def from_trace(
    trace: Any, inputs: Any = None, outputs: Any = None, expectations: Any = None
) -> tuple[Any, Any, Mapping[str, Any]]:
    """Inputs, outputs and expectations, each taken from ``trace`` (root span, expectation
    assessments) when not given, as MLflow's judges do when called with ``trace=`` only."""
    if isinstance(trace, Trace):
        root = trace.data.root
        if inputs is None and root is not None:
            inputs = root.inputs
        if outputs is None and root is not None:
            outputs = root.outputs
        if not expectations:
            expectations = trace_expectations(trace)
    return inputs, outputs, expectations if isinstance(expectations, Mapping) else {}


def request_text(inputs: Any) -> str:
    """The request as a judge reads it: a string as is; chat inputs (``{"messages": [...]}``)
    as the last message's content; anything else as JSON."""
    if isinstance(inputs, Mapping):
        messages = inputs.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[-1], Mapping):
            content = messages[-1].get("content")
            if isinstance(content, str) and len(messages) == 1:
                return content
    return show(inputs)


def response_text(outputs: Any) -> str:
    """The response as a judge reads it: a string as is; an OpenAI chat completion as its first
    choice's content; ``{"messages": [...]}`` as the last message's; anything else as JSON."""
    if isinstance(outputs, Mapping):
        choices = outputs.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
            message = choices[0].get("message")
            if isinstance(message, Mapping) and isinstance(message.get("content"), str):
                return str(message["content"])
        messages = outputs.get("messages")
        last = messages[-1] if isinstance(messages, list) and messages else None
        if isinstance(last, Mapping) and isinstance(last.get("content"), str):
            return str(last["content"])
    return show(outputs)


def show(value: Any) -> str:
    """A value in a prompt: a string as is, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError):  # keys that do not sort, circular values
        return repr(value)


def reply_format(rtype: ResultType = YES_NO) -> str:
    """The sentence that asks for the JSON verdict."""
    return (
        f'Reply with a JSON object only, no other text: {{"result": {rtype.describe()}, '
        '"rationale": "<one or two sentences explaining the verdict>"}'
    )
