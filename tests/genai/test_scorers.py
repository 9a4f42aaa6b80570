"""Scorers: the ``@scorer`` decorator, the ``Scorer`` base class, what they may return, and the
built-in code scorers (on hand-built traces and inside ``evaluate``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genver.compare.stats import score_value as numeric_value
from genver.entities import (
    AssessmentSource,
    Feedback,
    Span,
    TokenUsage,
    Trace,
    TraceData,
    TraceInfo,
)
from genver.exceptions import InvalidArgumentError
from genver.fluent import Genver
from genver.genai.evaluation import evaluate
from genver.genai.scorers import (
    Contains,
    Cost,
    ExactMatch,
    IsValidJson,
    Latency,
    RegexMatch,
    Scorer,
    TokenCount,
    scorer,
    validate_scorers,
)
from genver.genai.scorers.base import aggregate
from tests.genai._eval_support import instance


def _trace(duration_ms: float = 250.0, usage: TokenUsage | None = None, cost: float | None = None) -> Trace:
    start = 1_700_000_000_000_000_000
    root = Span(
        trace_id="tr-" + "1" * 32,
        span_id="1" * 16,
        parent_id=None,
        name="predict",
        start_time_ns=start,
        end_time_ns=start + int(duration_ms * 1_000_000),
    )
    info = TraceInfo(
        trace_id="tr-" + "1" * 32,
        experiment_id="0",
        request_time=start // 1_000_000,
        execution_duration=int(duration_ms),
        token_usage=usage,
        cost=cost,
    )
    return Trace(info=info, data=TraceData(spans=[root]))


def _one(s: Scorer, **kwargs: Any) -> Feedback:
    (fb,) = s.run(**kwargs)
    return fb


# -- @scorer and Scorer ------------------------------------------------------------------------------------
def test_scorer_gets_only_the_arguments_it_names() -> None:
    seen: dict[str, Any] = {}

    @scorer
    def needs_two(outputs: Any, expectations: Any) -> bool:
        seen.update(outputs=outputs, expectations=expectations)
        return True

    fb = _one(needs_two, inputs={"q": 1}, outputs="o", expectations={"e": 1}, trace=None)
    assert seen == {"outputs": "o", "expectations": {"e": 1}}
    assert (fb.name, fb.value, fb.error) == ("needs_two", True, None)
    assert fb.source == AssessmentSource("CODE", "needs_two")
    assert needs_two(outputs="x", expectations={}) is True  # still callable as the function
    assert needs_two.__name__ == "needs_two"


def test_scorer_with_kwargs_gets_everything_and_a_name() -> None:
    @scorer(name="everything")
    def anything(**kwargs: Any) -> str:
        return ",".join(sorted(kwargs))

    fb = _one(anything, inputs=1, outputs=2, expectations=3, trace=None)
    assert (fb.name, fb.value) == ("everything", "expectations,inputs,outputs,trace")


def test_scorer_rejects_unknown_parameters() -> None:
    with pytest.raises(InvalidArgumentError, match="Invalid scorer parameter 'answer' of 'bad'"):

        @scorer
        def bad(answer: str) -> bool:
            return True

    @scorer
    def with_default(outputs: Any, threshold: int = 3) -> bool:  # defaults are fine
        return len(outputs) > threshold

    assert _one(with_default, outputs="long text").value is True
    with pytest.raises(InvalidArgumentError, match="Invalid aggregation 'avg'"):
        scorer(aggregations=["avg"])(lambda outputs: 1)
    with pytest.raises(InvalidArgumentError, match="Invalid scorer name 'a/b'"):
        scorer(name="a/b")(lambda outputs: 1)


def test_what_a_scorer_may_return() -> None:
    cases: list[tuple[Any, list[tuple[str, Any, str | None]]]] = [
        (True, [("s", True, None)]),
        (0.5, [("s", 0.5, None)]),
        (3, [("s", 3, None)]),
        ("yes", [("s", "yes", None)]),
        (None, [("s", None, None)]),
        (Feedback(value=1, rationale="r"), [("s", 1, "r")]),
        (Feedback(name="own", value=False), [("own", False, None)]),
        ([Feedback(name="a", value=1), Feedback(name="b", value=2)], [("a", 1, None), ("b", 2, None)]),
    ]
    for returned, expected in cases:
        s = scorer(name="s")(lambda outputs, r=returned: r)
        assert [(f.name, f.value, f.rationale) for f in s.run(outputs="x")] == expected, returned


def test_a_scorer_that_fails_or_returns_nonsense_gives_an_error_feedback() -> None:
    def boom(outputs: Any) -> Any:
        raise KeyError("missing")

    bad_returns = [
        object(),
        [Feedback(name="a", value=1), Feedback(name="a", value=2)],
        [Feedback(value=1), 3],
    ]
    for fn in [boom, *(lambda outputs, r=r: r for r in bad_returns)]:
        fb = _one(scorer(name="s")(fn), outputs="x")
        assert fb.name == "s" and fb.value is None and fb.error is not None, fn
        assert fb.error.error_message
    assert _one(scorer(name="s")(boom), outputs="x").error.error_code == "KeyError"  # type: ignore[union-attr]


def test_scorer_subclass() -> None:
    class WordCount(Scorer):
        def __call__(self, *, outputs: Any) -> int:  # type: ignore[override]
            return len(str(outputs).split())

    s = WordCount()
    assert s.name == "word_count" and s.aggregations == ["mean"]
    assert _one(s, inputs={}, outputs="a b c").value == 3
    assert WordCount(name="words", aggregations=["max"]).name == "words"
    assert _one(Scorer(name="abstract"), outputs="x").error is not None  # __call__ not implemented


def test_validate_scorers() -> None:
    em = ExactMatch()
    assert validate_scorers(em) == [em]
    assert [s.name for s in validate_scorers((em, Contains("x")))] == ["exact_match", "contains"]
    with pytest.raises(InvalidArgumentError, match=r"Invalid scorer 42: expected a Scorer instance\.$"):
        validate_scorers([em, 42])
    with pytest.raises(InvalidArgumentError, match="Decorate it with @scorer"):
        validate_scorers([len])
    with pytest.raises(InvalidArgumentError, match="Invalid scorers None"):
        validate_scorers(None)


def test_numeric_values_and_aggregations() -> None:
    assert [numeric_value(v) for v in (True, False, 2, 0.5, "Yes", "pass", "no", "FAIL", "maybe", None)] == [
        1.0,
        0.0,
        2.0,
        0.5,
        1.0,
        1.0,
        0.0,
        0.0,
        None,
        None,
    ]
    assert numeric_value(float("nan")) is None and numeric_value({"a": 1}) is None
    values = [1.0, 2.0, 3.0, 4.0]
    got = {how: aggregate(values, how) for how in ("mean", "min", "max", "median", "variance", "p90")}
    assert got == pytest.approx(
        {"mean": 2.5, "min": 1, "max": 4, "median": 2.5, "variance": 1.25, "p90": 3.7}
    )
    assert aggregate([7.0], "p90") == 7.0


# -- built-ins on hand-built values --------------------------------------------------------------------------
def test_exact_match() -> None:
    exp = {"expected_response": "Paris"}
    assert _one(ExactMatch(), outputs=" Paris\n", expectations=exp).value is True
    miss = _one(ExactMatch(), outputs="paris", expectations=exp)
    assert miss.value is False and miss.rationale == "expected 'Paris', got 'paris'"
    assert _one(ExactMatch(ignore_case=True), outputs="paris", expectations=exp).value is True
    assert _one(ExactMatch("answer"), outputs={"a": 1}, expectations={"answer": {"a": 1}}).value is True
    assert _one(ExactMatch(), outputs=4, expectations={"expected_response": "4"}).value is True
    missing = _one(ExactMatch(), outputs="Paris", expectations={"other": 1})
    assert missing.error is not None and missing.error.error_code == "MISSING_EXPECTATION"
    assert "expectations['expected_response']" in (missing.error.error_message or "")


def test_contains_and_regex() -> None:
    assert _one(Contains("Par"), outputs="Paris").value is True
    assert _one(Contains("par", ignore_case=True), outputs="Paris").value is True
    assert _one(Contains(), outputs="It is Paris.", expectations={"expected_response": "Paris"}).value is True
    assert _one(Contains(), outputs="Lyon", expectations={"expected_response": "Paris"}).value is False
    assert _one(Contains("x"), outputs=None).value is False
    assert _one(RegexMatch(r"^\d+$"), outputs="42").value is True
    assert _one(RegexMatch(r"^\d+$"), outputs="4 2").value is False
    with pytest.raises(InvalidArgumentError, match=r"Invalid regex pattern '\(': "):
        RegexMatch("(")
    with pytest.raises(InvalidArgumentError, match="Invalid substring 3"):
        Contains(3)  # type: ignore[arg-type]


def test_is_valid_json() -> None:
    assert _one(IsValidJson(), outputs='{"a": [1, 2]}').value is True
    assert _one(IsValidJson(), outputs={"a": 1}).value is True
    bad = _one(IsValidJson(), outputs="{'a': 1}")
    assert bad.value is False and (bad.rationale or "").startswith("not valid JSON")
    assert _one(IsValidJson(), outputs=None).value is False


def test_latency_tokens_and_cost_from_the_trace() -> None:
    t = _trace(duration_ms=250, usage=TokenUsage(100, 20, 120), cost=0.0042)
    assert _one(Latency(), trace=t).value == pytest.approx(250.0)
    within = _one(Latency(max_ms=300), trace=t)
    assert within.value is True and within.rationale == "250.0 ms (within 300 ms)"
    assert _one(Latency(max_ms=100), trace=t).value is False
    tokens = _one(TokenCount(), trace=t)
    assert tokens.value == 120 and tokens.rationale == "100 input + 20 output tokens"
    assert _one(Cost(), trace=t).value == 0.0042
    bare = _trace()
    assert _one(TokenCount(), trace=bare).value is None
    assert _one(Cost(), trace=bare).value is None
    for s in (Latency(), TokenCount(), Cost()):
        fb = _one(s, trace=None)
        assert fb.error is not None and fb.error.error_code == "MISSING_TRACE"
    with pytest.raises(InvalidArgumentError, match="Invalid max_ms -1"):
        Latency(max_ms=-1)


# -- built-ins inside evaluate ---------------------------------------------------------------------------------
@pytest.fixture
def gv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Genver]:
    with instance(tmp_path, monkeypatch) as g:
        yield g


def test_every_builtin_in_an_evaluation(gv: Genver) -> None:
    gv.set_model_prices({"tiny-llm": {"input": 1.0, "output": 2.0}})  # $ per 1M tokens

    def app(question: str) -> str:
        with gv.start_span("llm", span_type="LLM", attributes={"gen_ai.request.model": "tiny-llm"}) as span:
            span.set_token_usage(1000, 500)
        return json.dumps({"answer": question.upper()})

    model = gv.create_external_model(name="json-app")
    rows = [
        {"inputs": {"question": q}, "expectations": {"expected_response": json.dumps({"answer": q.upper()})}}
        for q in ("a", "b")
    ]
    scorers = [
        ExactMatch(),
        Contains('"answer"'),
        RegexMatch(r'"[A-Z]"'),
        IsValidJson(),
        Latency(),
        Latency(max_ms=60_000, name="fast_enough"),
        TokenCount(),
        Cost(),
    ]
    result = evaluate(rows, scorers, predict_fn=app, model_id=model.model_id, genver=gv)
    m = result.metrics
    assert {k: m[k] for k in m if k not in ("latency/mean",)} == pytest.approx(
        {
            "exact_match/mean": 1.0,
            "contains/mean": 1.0,
            "regex_match/mean": 1.0,
            "is_valid_json/mean": 1.0,
            "fast_enough/mean": 1.0,
            "token_count/mean": 1500.0,
            "cost/mean": 0.002,  # 1000 * 1e-6 + 500 * 2e-6
        }
    )
    assert 0 < m["latency/mean"] < 60_000
    assert result.passed
    names = {x.key for x in gv.get_logged_model(model.model_id).metrics}
    assert names == set(m)
