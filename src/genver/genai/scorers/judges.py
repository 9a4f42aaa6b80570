"""LLM judges: ``Correctness``, ``Guidelines`` and ``RelevanceToQuery``.

A judge asks a model for a JSON verdict ``{"result": "yes"|"no", "rationale": "..."}`` and
returns it as ``Feedback(value="yes"|"no")`` (so ``<name>/mean`` is the share of "yes"). The
model is either a callable ``(prompt: str) -> str`` or an OpenAI-compatible chat endpoint::

    Correctness(model=lambda prompt: my_llm(prompt))
    Correctness(model="openai:/gpt-4o-mini")                    # OPENAI_BASE_URL / OPENAI_API_KEY
    Correctness(model="llama3", base_url="http://localhost:11434/v1", api_key="-")

Endpoint calls (``POST {base_url}/chat/completions``, temperature 0) time out and are retried
twice on timeouts, connection errors, 429 and 5xx. Any failure — unreachable endpoint, HTTP
error, a reply without a readable verdict — becomes a ``Feedback`` error, never an exception.

Errors: ``JudgeError`` (``JUDGE_ERROR``) ├── ``JudgeUnavailableError`` (``JUDGE_UNAVAILABLE``,
after the retries) └── ``JudgeParseError`` (``JUDGE_PARSE_ERROR``).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from genver.config import JUDGE_API_KEY, JUDGE_BASE_URL, JUDGE_MODEL, JUDGE_TIMEOUT
from genver.entities import AssessmentSourceType, Feedback
from genver.exceptions import GenverError, InvalidArgumentError
from genver.genai.scorers.base import Scorer
from genver.genai.scorers.builtin import EXPECTED_RESPONSE, MissingExpectationError

JudgeModel = str | Callable[[str], Any]
_FENCE = re.compile(r"```[a-zA-Z]*")
_LOOSE = re.compile(r"""["']?result["']?\s*[:=]\s*["']?(yes|no|true|false|pass|fail)\b""", re.IGNORECASE)
_LEADING = re.compile(r"^\W*(yes|no)\s*(?:[.,:;!\n]|$)", re.IGNORECASE)
_VERDICTS = {"yes": "yes", "true": "yes", "pass": "yes", "no": "no", "false": "no", "fail": "no"}
_REPLY_FORMAT = (
    'Reply with a JSON object only, no other text: {"result": "yes" or "no", "rationale": '
    '"<one or two sentences explaining the verdict>"}'
)

if TYPE_CHECKING:
    import httpx


class JudgeError(GenverError):
    """The judge could not give a verdict."""

    default_error_code = "JUDGE_ERROR"


class JudgeUnavailableError(JudgeError):
    """The judge endpoint timed out or failed (HTTP 429/5xx, connection error) on every attempt."""

    default_error_code = "JUDGE_UNAVAILABLE"


class JudgeParseError(JudgeError):
    """The judge answered, but no yes/no verdict could be read from the reply."""

    default_error_code = "JUDGE_PARSE_ERROR"


class Judge(Scorer):
    """A scorer that asks an LLM for a yes/no verdict. Subclasses build the prompt."""

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
        http_client: httpx.Client | None = None,
        environ: Mapping[str, str] | None = None,
        name: str | None = None,
        aggregations: Sequence[str] | None = None,
    ) -> None:
        super().__init__(name=name, aggregations=aggregations)
        self._environ = environ
        if model is None:
            model = JUDGE_MODEL.get(self._env()) or "openai:/gpt-4o-mini"
        if not callable(model):
            _model_name(model)  # a bad model URI fails now, not on every row
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise InvalidArgumentError(f"Invalid max_retries {max_retries!r}: expected an integer >= 0.")
        self.model = model
        self.base_url = base_url
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self.http_client = http_client

    def _env(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    # -- asking the model ----------------------------------------------------------------------------
    def judge(self, prompt: str) -> Feedback:
        """Ask the model; its verdict as Feedback (raises ``JudgeError`` when there is none)."""
        reply = self.model(prompt) if callable(self.model) else self._chat(prompt, _model_name(self.model))
        verdict, rationale = parse_verdict(reply)
        return Feedback(value=verdict, rationale=rationale)

    def _chat(self, prompt: str, model: str) -> str:
        import httpx

        env = self._env()
        base = (self.base_url or JUDGE_BASE_URL.get(env) or "").rstrip("/")
        url = f"{base}/chat/completions"
        key = self.api_key if self.api_key is not None else JUDGE_API_KEY.get(env)
        timeout = self.timeout if self.timeout is not None else JUDGE_TIMEOUT.get_float(env)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        body = {"model": model, "messages": [{"role": "user", "content": prompt}], "temperature": 0}
        last: JudgeError | None = None
        for attempt in range(self.max_retries + 1):
            if attempt and self.retry_backoff > 0:
                time.sleep(self.retry_backoff * 2 ** (attempt - 1))
            try:
                if self.http_client is not None:
                    resp = self.http_client.post(url, json=body, headers=headers, timeout=timeout)
                else:
                    with httpx.Client(timeout=timeout) as client:
                        resp = client.post(url, json=body, headers=headers)
            except httpx.TimeoutException:
                last = JudgeUnavailableError(f"judge endpoint {url} did not answer within {timeout} s")
                continue
            except httpx.TransportError as exc:
                last = JudgeUnavailableError(f"could not reach judge endpoint {url}: {exc}")
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                last = JudgeUnavailableError(
                    f"judge endpoint {url} answered HTTP {resp.status_code}: {resp.text[:200]!r}"
                )
                continue
            if resp.status_code >= 400:
                raise JudgeError(
                    f"judge endpoint {url} answered HTTP {resp.status_code}: {resp.text[:200]!r}"
                )
            return _content(resp)
        assert last is not None
        raise JudgeUnavailableError(f"{last} (after {self.max_retries + 1} attempts)")


class Correctness(Judge):
    """Is the response correct, given the expected response (``expectations["expected_response"]``)
    or the facts it must state (``expectations["expected_facts"]``)?"""

    default_name = "correctness"

    def __call__(self, *, inputs: Any = None, outputs: Any = None, expectations: Any = None) -> Feedback:  # type: ignore[override]
        exp = expectations if isinstance(expectations, Mapping) else {}
        if exp.get(EXPECTED_RESPONSE) is not None:
            expected = f"Expected response:\n{_show(exp[EXPECTED_RESPONSE])}"
        elif exp.get("expected_facts") is not None:
            facts = exp["expected_facts"]
            facts = facts if isinstance(facts, list) else [facts]
            expected = "Facts the response must state:\n" + "\n".join(f"- {_show(f)}" for f in facts)
        else:
            raise MissingExpectationError(
                f"{self.name} needs expectations['expected_response'] or ['expected_facts']; "
                f"the row has {sorted(exp)!r}"
            )
        prompt = (
            "You are an impartial grader. Decide whether the response to the request is correct.\n"
            "Answer yes when it agrees with the expected answer (wording may differ), no when it "
            "contradicts it or misses part of it.\n\n"
            f"Request:\n{_show(inputs)}\n\nResponse:\n{_show(outputs)}\n\n{expected}\n\n{_REPLY_FORMAT}"
        )
        return self.judge(prompt)


class Guidelines(Judge):
    """Does the response follow every guideline? Guidelines are given here or per row in
    ``expectations["guidelines"]``."""

    default_name = "guidelines"

    def __init__(self, guidelines: str | Sequence[str] | None = None, **kwargs: Any) -> None:
        if isinstance(guidelines, str):
            guidelines = [guidelines]
        if guidelines is not None and (
            not isinstance(guidelines, Sequence) or not all(isinstance(g, str) and g for g in guidelines)
        ):
            raise InvalidArgumentError(f"Invalid guidelines {guidelines!r}: expected a list of strings.")
        super().__init__(**kwargs)
        self.guidelines = list(guidelines) if guidelines is not None else None

    def __call__(self, *, inputs: Any = None, outputs: Any = None, expectations: Any = None) -> Feedback:  # type: ignore[override]
        rules = self.guidelines
        if rules is None:
            found = expectations.get("guidelines") if isinstance(expectations, Mapping) else None
            if not found:
                raise MissingExpectationError(
                    f"{self.name} has no guidelines: pass Guidelines(guidelines=[...]) or give "
                    "expectations['guidelines']"
                )
            rules = [found] if isinstance(found, str) else [str(g) for g in found]
        prompt = (
            "You are an impartial grader. Decide whether the response follows EVERY guideline below.\n"
            "Answer no if any guideline is broken.\n\nGuidelines:\n"
            + "\n".join(f"- {g}" for g in rules)
            + f"\n\nRequest:\n{_show(inputs)}\n\nResponse:\n{_show(outputs)}\n\n{_REPLY_FORMAT}"
        )
        return self.judge(prompt)


class RelevanceToQuery(Judge):
    """Does the response address the request (whether or not it is correct)?"""

    default_name = "relevance_to_query"

    def __call__(self, *, inputs: Any = None, outputs: Any = None) -> Feedback:  # type: ignore[override]
        prompt = (
            "You are an impartial grader. Decide whether the response is relevant to the request: "
            "it addresses what was asked (correctness does not matter here).\n\n"
            f"Request:\n{_show(inputs)}\n\nResponse:\n{_show(outputs)}\n\n{_REPLY_FORMAT}"
        )
        return self.judge(prompt)


# -- replies -------------------------------------------------------------------------------------------
def parse_verdict(reply: Any) -> tuple[str, str | None]:
    """``("yes"|"no", rationale)`` from a judge's reply: a JSON object (possibly in a code fence
    or amid other text), a dict, or text that states ``result: yes`` or starts with yes/no."""
    if isinstance(reply, Mapping):
        obj: Mapping[str, Any] | None = reply
        text = json.dumps(reply, default=str)
    elif isinstance(reply, str):
        text = reply
        obj = _find_object(_FENCE.sub("", reply))
    else:
        raise JudgeParseError(f"the judge returned {type(reply).__name__} {reply!r}; expected text")
    if obj is not None:
        verdict = _verdict(obj.get("result"))
        if verdict is not None:
            rationale = obj.get("rationale")
            return verdict, None if rationale is None else str(rationale)
    m = _LOOSE.search(text) or _LEADING.search(text)
    if m is not None:
        return _VERDICTS[m.group(1).lower()], text.strip() or None
    raise JudgeParseError(f"no yes/no verdict in the judge's reply {text[:300]!r}")


def _find_object(text: str) -> Mapping[str, Any] | None:
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            obj, _end = decoder.raw_decode(text, start)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and "result" in obj:
            return obj
        start = text.find("{", start + 1)
    return None


def _verdict(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return _VERDICTS.get(value.strip().lower())
    return None


def _content(resp: httpx.Response) -> str:
    try:
        data = resp.json()
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise JudgeParseError(
            f"the judge endpoint's reply is not a chat completion: {resp.text[:300]!r}"
        ) from None
    if not isinstance(content, str):
        raise JudgeParseError(f"the judge endpoint's reply has no text content: {resp.text[:300]!r}")
    return content


def _model_name(model: object) -> str:
    """``"openai:/gpt-4o-mini"`` or ``"gpt-4o-mini"`` → ``"gpt-4o-mini"``."""
    if not isinstance(model, str) or not model.strip():
        raise InvalidArgumentError(
            f"Invalid judge model {model!r}: expected a callable (prompt -> reply), 'openai:/<model>' "
            "or a model name served by base_url."
        )
    if ":/" in model:
        provider, _, name = model.partition(":/")
        if provider != "openai" or not name.strip("/"):
            raise InvalidArgumentError(
                f"Invalid judge model {model!r}: only 'openai:/<model>' (any OpenAI-compatible endpoint "
                "through base_url=) or a callable are supported."
            )
        return name.strip("/")
    return model


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
