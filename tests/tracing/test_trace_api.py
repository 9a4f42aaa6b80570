"""@trace and start_span through the public API: what users see in the stored traces."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from genver.entities import SpanStatusCode, SpanType, TraceState
from genver.fluent import Genver


def stored(gv: Genver, trace_id: str | None) -> Any:
    assert trace_id is not None
    assert gv.flush_trace_async_logging(timeout=10)
    trace = gv.get_trace(trace_id)
    assert trace is not None
    return trace


def test_spec_tracing_example_verbatim(mlflow: Any) -> None:
    mlflow.set_active_model(name="my-agent-v1.0")

    @mlflow.trace
    def process_request(query: str):  # type: ignore[no-untyped-def]
        return f"Processing: {query}"  # this trace is linked to my-agent-v1.0

    result = process_request("Hello world")

    assert result == "Processing: Hello world"
    model_id = mlflow.get_active_model_id()
    traces = mlflow.search_traces(model_id=model_id, return_type="list", flush=True)
    assert len(traces) == 1
    trace = traces[0]
    assert trace.info.trace_metadata["mlflow.modelId"] == model_id
    assert trace.info.model_id == mlflow.get_logged_model(model_id).model_id
    assert trace.info.trace_id.startswith("tr-") and len(trace.info.trace_id) == 35
    assert trace.info.state == TraceState.OK
    (span,) = trace.data.spans
    assert span.name == "process_request"
    assert span.inputs == {"query": "Hello world"}
    assert span.outputs == "Processing: Hello world"


def test_function_inputs_outputs_and_nesting(gv: Genver) -> None:
    @gv.trace(span_type=SpanType.RETRIEVER, attributes={"k": 3, "index": {"name": "docs"}})
    def retrieve(query: str, k: int = 3) -> list[str]:
        return [f"doc{i}" for i in range(k)]

    @gv.trace(name="answer", span_type=SpanType.CHAIN)
    def answer(question: str, **options: Any) -> str:
        docs = retrieve(question, k=2)
        return f"{question}: {len(docs)} docs"

    assert answer("why?", temperature=0.1) == "why?: 2 docs"
    trace = stored(gv, gv.get_last_active_trace_id())
    spans = {s.name: s for s in trace.data.spans}
    assert set(spans) == {"answer", "retrieve"}
    assert spans["answer"].parent_id is None
    assert spans["retrieve"].parent_id == spans["answer"].span_id
    assert spans["answer"].inputs == {"question": "why?", "temperature": 0.1}
    assert spans["retrieve"].inputs == {"query": "why?", "k": 2}
    assert spans["retrieve"].outputs == ["doc0", "doc1"]
    assert spans["retrieve"].span_type == "RETRIEVER"
    assert spans["retrieve"].attributes["k"] == 3
    assert spans["retrieve"].attributes["index"] == {"name": "docs"}
    assert trace.info.request_preview is not None and "why?" in trace.info.request_preview


def test_methods_classmethods_staticmethods(gv: Genver) -> None:
    class Agent:
        factor = 2

        @gv.trace
        def run(self, x: int) -> int:
            return x * self.factor

        @gv.trace
        @classmethod
        def make(cls, x: int) -> int:
            return x + cls.factor

        @gv.trace
        @staticmethod
        def helper(x: int) -> int:
            return -x

    agent = Agent()
    assert agent.run(3) == 6
    assert stored(gv, gv.get_last_active_trace_id()).data.spans[0].inputs == {"x": 3}
    assert Agent.make(1) == 3
    assert stored(gv, gv.get_last_active_trace_id()).data.spans[0].inputs == {"x": 1}
    assert Agent.helper(5) == -5
    assert stored(gv, gv.get_last_active_trace_id()).data.spans[0].outputs == -5


def test_async_function(gv: Genver) -> None:
    @gv.trace
    async def fetch(n: int) -> int:
        await asyncio.sleep(0)
        return n + 1

    @gv.trace
    async def main() -> list[int]:
        return list(await asyncio.gather(fetch(1), fetch(2)))

    assert asyncio.run(main()) == [2, 3]
    trace = stored(gv, gv.get_last_active_trace_id())
    root = next(s for s in trace.data.spans if s.parent_id is None)
    children = [s for s in trace.data.spans if s.parent_id == root.span_id]
    assert sorted(s.outputs for s in children) == [2, 3]


def test_generator_span_lasts_until_exhausted(gv: Genver) -> None:
    @gv.trace
    def inner(i: int) -> int:
        return i * 10

    @gv.trace(output_reducer=lambda items: sum(items))
    def stream(n: int) -> Any:
        for i in range(n):
            yield inner(i)

    assert list(stream(3)) == [0, 10, 20]
    trace = stored(gv, gv.get_last_active_trace_id())
    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert root.name == "stream" and root.outputs == 30
    assert [s.parent_id for s in trace.data.spans if s.name == "inner"] == [root.span_id] * 3


def test_async_generator(gv: Genver) -> None:
    @gv.trace
    async def tokens(text: str) -> Any:
        for word in text.split():
            await asyncio.sleep(0)
            yield word

    async def consume() -> list[str]:
        return [w async for w in tokens("a b c")]

    assert asyncio.run(consume()) == ["a", "b", "c"]
    trace = stored(gv, gv.get_last_active_trace_id())
    assert trace.data.spans[0].outputs == ["a", "b", "c"]


def test_output_reducer_only_for_generators(gv: Genver) -> None:
    from genver.exceptions import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="output_reducer"):

        @gv.trace(output_reducer=sum)
        def plain() -> int:
            return 1


def test_exception_marks_error_and_is_reraised_unchanged(gv: Genver) -> None:
    class Boom(Exception):
        pass

    error = Boom("bad things")

    @gv.trace
    def fails() -> None:
        raise error

    with pytest.raises(Boom) as caught:
        fails()
    assert caught.value is error
    trace = stored(gv, gv.get_last_active_trace_id())
    assert trace.info.state == TraceState.ERROR
    span = trace.data.spans[0]
    assert span.status.status_code == SpanStatusCode.ERROR
    assert "bad things" in span.status.description
    assert any(e.name == "exception" for e in span.events)


def test_start_span_live_span_api(gv: Genver) -> None:
    @gv.trace
    def outer() -> str:
        with gv.start_span("step", span_type=SpanType.TOOL) as span:
            assert gv.get_current_active_span() is span
            span.set_inputs({"q": 1})
            span.set_attribute("tool.name", "calculator")
            span.set_attributes({"nested": {"a": [1, 2]}, "flag": True})
            span.add_event("checkpoint", {"i": 1})
            span.set_outputs("42")
        return "done"

    assert gv.get_current_active_span() is None
    outer()
    trace = stored(gv, gv.get_last_active_trace_id())
    step = next(s for s in trace.data.spans if s.name == "step")
    assert step.inputs == {"q": 1} and step.outputs == "42"
    assert step.attributes["tool.name"] == "calculator"
    assert step.attributes["nested"] == {"a": [1, 2]} and step.attributes["flag"] is True
    assert step.attributes["gen_ai.operation.name"] == "execute_tool"
    assert [e.name for e in step.events] == ["checkpoint"]


def test_start_span_records_exception(gv: Genver) -> None:
    with pytest.raises(KeyError), gv.start_span("lookup"):
        raise KeyError("missing")
    trace = stored(gv, gv.get_last_active_trace_id())
    assert trace.info.state == TraceState.ERROR


def test_update_current_trace(gv: Genver) -> None:
    other = gv.create_external_model(name="override-target")

    @gv.trace
    def handle() -> None:
        gv.update_current_trace(
            tags={"env": "prod"},
            metadata={"tenant": "acme"},
            client_request_id="req-1",
            session_id="s-9",
            user="ada",
            model_id=other.model_id,
        )

    handle()
    trace = stored(gv, gv.get_last_active_trace_id())
    assert trace.info.tags["env"] == "prod"
    assert trace.info.trace_metadata["tenant"] == "acme"
    assert trace.info.trace_metadata["mlflow.trace.session"] == "s-9"
    assert trace.info.trace_metadata["mlflow.trace.user"] == "ada"
    assert trace.info.client_request_id == "req-1"
    assert trace.info.model_id == other.model_id


def test_update_current_trace_outside_a_trace_is_harmless(
    gv: Genver, caplog: pytest.LogCaptureFixture
) -> None:
    gv.update_current_trace(tags={"a": "b"})  # no trace: a warning, no error
    assert "outside a trace" in caplog.text
    assert gv.get_last_active_trace_id() is None


def test_tokens_and_cost_from_genai_attributes(gv: Genver) -> None:
    @gv.trace(span_type=SpanType.CHAT_MODEL)
    def chat(prompt: str) -> str:
        span = gv.get_current_active_span()
        assert span is not None
        span.set_attributes(
            {
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 500,
            }
        )
        return "hi"

    @gv.trace(span_type=SpanType.LLM)
    def complete(prompt: str) -> str:
        span = gv.get_current_active_span()
        assert span is not None
        span.set_attribute("gen_ai.request.model", "my-local-llm")
        span.set_token_usage(200, 100)
        return "ok"

    @gv.trace
    def agent() -> None:
        chat("a")
        complete("b")

    gv.set_model_prices({"my-local-llm": {"input": 1.0, "output": 2.0}})
    agent()
    trace = stored(gv, gv.get_last_active_trace_id())
    usage = trace.info.token_usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (1200, 600, 1800)
    expected = (1000 * 2.50 + 500 * 10.00) / 1e6 + (200 * 1.0 + 100 * 2.0) / 1e6
    assert trace.info.cost == pytest.approx(expected)
    found = gv.search_traces(
        experiment_ids=["0"], filter_string="total_tokens >= 1800 AND cost > 0", return_type="list"
    )
    assert [t.info.trace_id for t in found] == [trace.info.trace_id]


def test_search_traces_by_model_and_run_and_pandas(gv: Genver) -> None:
    @gv.trace
    def work(i: int) -> int:
        return i

    with gv.set_active_model(name="search-a") as a:
        for i in range(3):
            work(i)
    with gv.start_run() as run, gv.set_active_model(name="search-b") as b:
        work(99)
    assert gv.flush_trace_async_logging(timeout=10)
    by_a = gv.search_traces(model_id=a.model_id, return_type="list")
    assert len(by_a) == 3 and all(t.info.model_id == a.model_id for t in by_a)
    by_run = gv.search_traces(run_id=run.info.run_id, return_type="list")
    assert [t.info.model_id for t in by_run] == [b.model_id]
    assert by_run[0].info.run_id == run.info.run_id
    frame = gv.search_traces(model_id=a.model_id)
    assert list(frame.columns) == [
        "trace_id",
        "trace",
        "client_request_id",
        "state",
        "request_time",
        "execution_duration",
        "request",
        "response",
        "trace_metadata",
        "tags",
        "spans",
        "assessments",
    ]
    assert len(frame) == 3
    no_spans = gv.search_traces(model_id=a.model_id, return_type="list", include_spans=False)
    assert all(t.data.spans == [] for t in no_spans)


def test_search_traces_rejects_model_id_with_filter(gv: Genver) -> None:
    from genver.exceptions import InvalidArgumentError

    with pytest.raises(InvalidArgumentError):
        gv.search_traces(model_id="m-x", filter_string="state = 'OK'")
    with pytest.raises(InvalidArgumentError, match="bogus"):
        gv.search_traces(return_type="bogus")


def test_delete_traces_and_get_trace_missing(gv: Genver) -> None:
    @gv.trace
    def work() -> None:
        pass

    work()
    trace_id = gv.get_last_active_trace_id()
    assert gv.flush_trace_async_logging(timeout=10)
    assert gv.delete_traces("0", trace_ids=[trace_id]) == 1
    assert gv.get_trace(trace_id, silent=True) is None


def test_trace_stats_per_version(gv: Genver) -> None:
    @gv.trace
    def work(fail: bool) -> None:
        if fail:
            raise ValueError("x")

    with gv.set_active_model(name="stats-v1") as v1:
        for i in range(4):
            with pytest.raises(ValueError) if i == 0 else _nothing():
                work(i == 0)
    stats = {s.model_id: s for s in gv.get_trace_stats(experiment_ids=["0"])}
    s1 = stats[v1.model_id]
    assert s1.trace_count == 4 and s1.error_count == 1 and s1.error_rate == 0.25
    assert s1.latency_p50_ms is not None


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None


def test_tracing_disabled_is_a_noop(tmp_path: Any) -> None:
    from tests.tracing.conftest import make_genver

    gv = make_genver(tmp_path, GENVER_TRACING_ENABLED="false")

    @gv.trace
    def f(x: int) -> int:
        return x + 1

    assert f(1) == 2
    with gv.start_span("x") as span:
        span.set_inputs({"a": 1})
    assert gv.get_last_active_trace_id() is None
    gv.client.close()


def test_global_tracer_provider_is_left_alone(gv: Genver) -> None:
    from opentelemetry import trace as otel

    before = otel.get_tracer_provider()

    @gv.trace
    def f() -> None:
        pass

    f()
    assert otel.get_tracer_provider() is before
