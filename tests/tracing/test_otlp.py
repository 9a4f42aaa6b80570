"""Spans also go to any OTLP/HTTP collector when one is configured."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.tracing.conftest import make_genver


class Collector:
    def __init__(self) -> None:
        self.requests: list[Any] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector.requests.append((self.path, request))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def spans(self) -> list[Any]:
        return [
            s for _, r in self.requests for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans
        ]


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.server.shutdown()
    c.server.server_close()


def test_spans_reach_an_otlp_collector_with_the_version_link(tmp_path: Path, collector: Collector) -> None:
    gv = make_genver(tmp_path, GENVER_OTLP_ENDPOINT=collector.endpoint)
    with gv.set_active_model(name="otlp-v1") as model:

        @gv.trace(span_type="CHAIN")
        def outer(q: str) -> str:
            return inner(q)

        @gv.trace(span_type="LLM")
        def inner(q: str) -> str:
            return q[::-1]

        outer("abc")
    assert gv.flush_trace_async_logging(timeout=10)
    assert {p for p, _ in collector.requests} == {"/v1/traces"}
    spans = {s.name: s for s in collector.spans()}
    assert set(spans) == {"outer", "inner"}
    root_attrs = {a.key: a.value.string_value for a in spans["outer"].attributes}
    assert root_attrs["mlflow.modelId"] == model.model_id
    assert root_attrs["mlflow.spanType"] == "CHAIN"
    assert root_attrs["mlflow.spanInputs"] == '{"q": "abc"}'
    inner_attrs = {a.key: a.value.string_value for a in spans["inner"].attributes}
    assert inner_attrs["mlflow.spanOutputs"] == '"cba"'
    assert spans["inner"].parent_span_id == spans["outer"].span_id
    assert spans["inner"].trace_id == spans["outer"].trace_id
    # the store got the same trace
    assert len(gv.search_traces(model_id=model.model_id, return_type="list")) == 1
    gv.flush_trace_async_logging(terminate=True)
    gv.client.close()
