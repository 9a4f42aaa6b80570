"""Random trace filters against a Python evaluation of the same filter over a fixed corpus, on
SQLite and PostgreSQL: the SQL compiled for attributes, tags, metadata (including the keys kept in
trace columns), spans, fractional bounds on integer columns, NULLs, AND/OR must all agree."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genver.entities import SpanStatusCode, SpanType, Trace, TraceData, TraceState
from genver.search.parser import quote
from genver.store.sql.store import SqlStore
from tests.store.test_traces import T0, make_trace, search_ids, span

NAMES = ["root_a", "root_b", "Root", "agent", "x_y"]
MODELS = ["m-a", "m-b", "m-ab"]
ENVS = ["prod", "dev", "Prod"]
SPAN_NAMES = ["retrieve", "generate", "tool_call", "Generate"]
SPAN_TYPES = [SpanType.LLM, SpanType.TOOL, SpanType.RETRIEVER, "CUSTOM"]
LLMS = ["gpt-4o", "claude", "gpt-4o-mini"]


def _corpus() -> list[Trace]:
    rnd = random.Random(7)
    traces = []

    def pick(options: list[Any]) -> Any:  # a value, or None a quarter of the time
        return None if rnd.random() < 0.25 else rnd.choice(options)

    for i in range(40):
        trace = make_trace(
            request_time=T0 + rnd.randint(0, 20),
            duration=pick([0, 49, 50, 51, 150, 151, 1000]),
            state=rnd.choice([TraceState.OK, TraceState.OK, TraceState.ERROR, TraceState.IN_PROGRESS]),
            name=rnd.choice(NAMES),
            model_id=pick(MODELS),
            user=pick(["alice", "bob"]),
            tags={k: v for k, v in (("env", pick(ENVS)), ("team", pick(["a", "b"]))) if v is not None},
            metadata={"custom": v} if (v := pick(["v1", "v2"])) else None,
            tokens=None if rnd.random() < 0.3 else (rnd.randint(0, 20) * 10, rnd.randint(0, 20) * 10),
            cost=pick([0.0, 0.01, 0.02, 0.5]),
            spans=[] if i % 13 == 0 else None,
        )
        if trace.data.spans:
            root = trace.data.spans[0]
            spans = [root] + [
                span(
                    trace.info.trace_id,
                    rnd.choice(SPAN_NAMES),
                    parent=root,
                    span_type=rnd.choice(SPAN_TYPES),
                    start=1000 * (j + 1),
                    status=rnd.choice(list(SpanStatusCode)),
                    attributes={"model": m} if (m := pick(LLMS)) else {},
                )
                for j in range(rnd.randint(0, 3))
            ]
            trace = Trace(trace.info, TraceData(spans))
        traces.append(trace)
    return traces


CORPUS = _corpus()


# -- filters and their Python meaning ----------------------------------------------------------------------
@dataclass(frozen=True)
class Leaf:
    text: str
    test: Callable[[Trace], bool]


def _like(pattern: str, value: str, fold: bool) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value.lower() if fold else value, re.S | (re.I if fold else 0)) is not None


def _string_test(op: str, value: Any) -> Callable[[str | None], bool]:
    def test(actual: str | None) -> bool:
        if actual is None:
            return False
        if op == "=":
            return actual == value
        if op == "!=":
            return actual != value
        if op == "IN":
            return actual in value
        if op == "NOT IN":
            return actual not in value
        return _like(value, actual, fold=op == "ILIKE")

    return test


def _render(key: str, op: str, value: Any) -> str:
    if op in ("IN", "NOT IN"):
        return f"{key} {op} ({', '.join(quote(v) for v in value)})"
    return f"{key} {op} {quote(value) if isinstance(value, str) else value}"


@st.composite
def string_leaf(draw: st.DrawFn) -> Leaf:
    getters: list[tuple[str, list[str], Callable[[Trace], list[str | None]]]] = [
        ("name", NAMES, lambda t: [t.data.root.name if t.data.root else None]),
        ("state", ["OK", "ERROR", "IN_PROGRESS"], lambda t: [t.info.state.value]),
        ("model_id", MODELS, lambda t: [t.info.model_id]),
        ("user", ["alice", "bob"], lambda t: [t.info.trace_metadata.get("mlflow.trace.user")]),
        ("tags.env", ENVS, lambda t: [t.info.tags.get("env")]),
        ("tags.team", ["a", "b"], lambda t: [t.info.tags.get("team")]),
        ("metadata.`mlflow.modelId`", MODELS, lambda t: [t.info.model_id]),
        ("metadata.custom", ["v1", "v2"], lambda t: [t.info.trace_metadata.get("custom")]),
        ("span.name", SPAN_NAMES + NAMES, lambda t: [s.name for s in t.data.spans]),
        ("span.type", SPAN_TYPES + ["CHAIN"], lambda t: [s.span_type for s in t.data.spans]),
        (
            "span.status",
            ["OK", "ERROR", "UNSET"],
            lambda t: [s.status.status_code.value for s in t.data.spans],
        ),
        ("span.attributes.model", LLMS, lambda t: [s.attributes.get("model") for s in t.data.spans]),
    ]
    key, values, get = draw(st.sampled_from(getters))
    ops = ["=", "!=", "IN", "NOT IN"] + ([] if key == "state" else ["LIKE", "ILIKE"])
    op = draw(st.sampled_from(ops))
    if op in ("IN", "NOT IN"):
        value: Any = tuple(draw(st.lists(st.sampled_from(values), min_size=1, max_size=3)))
    elif op in ("LIKE", "ILIKE"):
        base = draw(st.sampled_from(values))
        value = draw(st.sampled_from([base, base[:2] + "%", "%" + base[-2:], base[:1] + "_" + base[2:], "%"]))
    else:
        value = draw(st.sampled_from(values))
    test = _string_test(op, value)
    return Leaf(_render(key, op, value), lambda t: any(test(v) for v in get(t)))


@st.composite
def number_leaf(draw: st.DrawFn) -> Leaf:
    getters: list[tuple[str, list[float], Callable[[Trace], float | None]]] = [
        ("execution_time", [0, 49.5, 50, 50.5, 150, 150.5, 151, 999.9], lambda t: t.info.execution_duration),
        ("cost", [0, 0.01, 0.015, 0.02, 0.5], lambda t: t.info.cost),
        (
            "total_tokens",
            [0, 99.5, 100, 200, 255.5],
            lambda t: t.info.token_usage and t.info.token_usage.total_tokens,
        ),
        ("request_time", [T0 + 5, T0 + 9.5, T0 + 20], lambda t: t.info.request_time),
    ]
    key, values, get = draw(st.sampled_from(getters))
    op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
    value = draw(st.sampled_from(values))
    compare: dict[str, Callable[[float, float], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }

    def test(t: Trace) -> bool:
        actual = get(t)
        if key == "total_tokens" and t.info.token_usage is None:
            actual = None
        return actual is not None and compare[op](actual, value)

    return Leaf(_render(key, op, value), test)


def _combine(kind: str, items: list[Leaf]) -> Leaf:
    text = f" {kind} ".join(f"({i.text})" for i in items)
    if kind == "AND":
        return Leaf(text, lambda t: all(i.test(t) for i in items))
    return Leaf(text, lambda t: any(i.test(t) for i in items))


filters = st.recursive(
    st.one_of(string_leaf(), number_leaf()),
    lambda inner: st.builds(
        _combine, st.sampled_from(["AND", "OR"]), st.lists(inner, min_size=2, max_size=3)
    ),
    max_leaves=5,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(leaf=filters)
def test_random_filters_agree_with_python(store: SqlStore, leaf: Leaf) -> None:
    if not store.search_traces(experiment_ids=["0"], max_results=1):  # the corpus, once per store
        store.log_traces(CORPUS)
    expected = sorted(t.info.trace_id for t in CORPUS if leaf.test(t))
    assert sorted(search_ids(store, leaf.text)) == expected, leaf.text
