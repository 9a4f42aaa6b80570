"""``POST /v1/traces``: OTLP/HTTP ingest from a real OpenTelemetry SDK over loopback, and from
protobuf and OTLP/JSON bodies built by hand."""

from __future__ import annotations

import base64
import gzip
import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from genver.entities import SpanType, TokenUsage, TraceState
from genver.exceptions import StoreError
from genver.server.app import create_app
from genver.server.otlp.convert import any_value
from genver.store.rest import RestStore
from genver.store.sql.store import SqlStore

TRACE = "5b8efff798038103d269b633813fc60c"
TID = "tr-" + TRACE
ROOT, CHILD, CHILD2 = "eee19b7ec3c1b174", "eee19b7ec3c1b175", "eee19b7ec3c1b176"
T0 = 1_700_000_000_000_000_000
PB = {"content-type": "application/x-protobuf"}


def kv(key: str, value: Any) -> KeyValue:
    return KeyValue(key=key, value=to_any(value))


def to_any(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[to_any(v) for v in value]))
    if isinstance(value, dict):
        return AnyValue(kvlist_value=KeyValueList(values=[kv(k, v) for k, v in value.items()]))
    if value is None:
        return AnyValue()
    return AnyValue(string_value=value)


def pb_span(span_id: str, parent: str = "", *, start_ms: int = 0, end_ms: int = 100, **attrs: Any) -> Span:
    error = attrs.pop("error", False)
    return Span(
        trace_id=bytes.fromhex(attrs.pop("trace", TRACE)),
        span_id=bytes.fromhex(span_id),
        parent_span_id=bytes.fromhex(parent),
        name=attrs.pop("name", f"span-{span_id[-3:]}"),
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=T0 + start_ms * 1_000_000,
        end_time_unix_nano=T0 + end_ms * 1_000_000,
        attributes=[kv(k, v) for k, v in attrs.items()],
        status=Status(
            code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_OK, message="boom" if error else ""
        ),
    )


def request(*spans: Span, resource: dict[str, Any] | None = None) -> bytes:
    rs = ResourceSpans(scope_spans=[ScopeSpans(spans=list(spans))])
    for k, v in (resource or {}).items():
        rs.resource.attributes.append(kv(k, v))
    return ExportTraceServiceRequest(resource_spans=[rs]).SerializeToString()


def response(r: Any) -> ExportTraceServiceResponse:
    assert r.status_code == 200, r.content
    assert r.headers["content-type"] == "application/x-protobuf"
    return ExportTraceServiceResponse.FromString(r.content)


@pytest.fixture
def model_id(sql_store: SqlStore) -> str:
    return sql_store.create_logged_model(experiment_id="0", name="agent-v1").model_id


# -- a real OpenTelemetry SDK over loopback ---------------------------------------------------------
@pytest.fixture
def server_uri(sql_store: SqlStore) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(sql_store), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_an_otel_sdk_exports_to_the_server(
    server_uri: str, sql_store: SqlStore, model_id: str, compression: str
) -> None:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporter = OTLPSpanExporter(
        endpoint=f"{server_uri}/v1/traces",
        compression=Compression.Gzip if compression == "gzip" else Compression.NoCompression,
    )
    provider = TracerProvider(
        resource=Resource.create({"service.name": "otel-app", "genver.model_id": model_id})
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    try:
        for i in range(3):
            chat = {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 100 + i,
                "gen_ai.usage.output_tokens": 20,
                "mlflow.spanInputs": json.dumps({"messages": [{"role": "user", "content": "hi"}]}),
            }
            with (
                tracer.start_as_current_span("agent", attributes={"session.id": "s-1", "user.id": "ann"}),
                tracer.start_as_current_span("chat gpt-4o", attributes=chat),
            ):
                pass
        assert provider.force_flush(30_000)
    finally:
        provider.shutdown()

    found = sql_store.search_traces(experiment_ids=["0"], filter_string=f"attributes.model_id = '{model_id}'")
    assert len(found) == 3
    usage = sorted(t.info.token_usage.input_tokens for t in found if t.info.token_usage)
    assert usage == [100, 101, 102]
    for trace in found:
        assert trace.info.state is TraceState.OK
        assert trace.info.trace_metadata["mlflow.trace.session"] == "s-1"
        assert trace.info.trace_metadata["mlflow.trace.user"] == "ann"
        assert trace.info.cost is not None and trace.info.cost > 0
        chat = trace.search_spans(span_type=SpanType.CHAT_MODEL)
        assert [s.name for s in chat] == ["chat gpt-4o"]
        assert chat[0].inputs == {"messages": [{"role": "user", "content": "hi"}]}
        assert chat[0].parent_id == trace.data.root.span_id  # type: ignore[union-attr]


# -- hand-built bodies -----------------------------------------------------------------------------
def test_protobuf_body(client: TestClient, sql_store: SqlStore, model_id: str) -> None:
    body = request(
        pb_span(ROOT, name="agent", **{"mlflow.spanType": "AGENT", "mlflow.spanInputs": '{"q": 1}'}),
        pb_span(CHILD, ROOT, start_ms=10, end_ms=50, **{"gen_ai.operation.name": "embeddings"}),
        resource={"mlflow.modelId": model_id},
    )
    assert not response(client.post("/v1/traces", content=body, headers=PB)).HasField("partial_success")
    trace = sql_store.get_trace(TID)
    assert trace.info.model_id == model_id
    assert trace.info.request_preview == '{"q": 1}'
    assert trace.info.execution_duration == 100
    assert {s.span_id: s.span_type for s in trace.data.spans} == {ROOT: "AGENT", CHILD: "EMBEDDING"}
    assert trace.data.spans[1].attributes["genver.span.kind"] == "CLIENT"


def test_otlp_json_body_with_hex_ids_enum_names_and_string_int64s(
    client: TestClient, sql_store: SqlStore, model_id: str
) -> None:
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "js-app"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "manual"},
                        "spans": [
                            {
                                "traceId": TRACE,
                                "spanId": ROOT,
                                "parentSpanId": "",
                                "name": "root",
                                "kind": "SPAN_KIND_SERVER",
                                "startTimeUnixNano": str(T0),
                                "endTimeUnixNano": str(T0 + 2_000_000),
                                "attributes": [
                                    {"key": "genver.model_id", "value": {"stringValue": model_id}},
                                    {
                                        "key": "blob",
                                        "value": {"bytesValue": base64.b64encode(b"\x00\x01").decode()},
                                    },
                                    {"key": "n", "value": {"intValue": "9007199254740993"}},
                                ],
                                "events": [{"timeUnixNano": str(T0 + 1), "name": "retry", "attributes": []}],
                                "status": {"code": 2, "message": "failed"},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    r = client.post("/v1/traces", json=body)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {}
    trace = sql_store.get_trace(TID)
    root = trace.data.spans[0]
    assert (root.span_id, root.parent_id, root.end_time_ns) == (ROOT, None, T0 + 2_000_000)
    assert root.attributes["blob"] == "AAE=" and root.attributes["n"] == 9007199254740993
    assert root.attributes["genver.span.kind"] == "SERVER"
    assert [e.name for e in root.events] == ["retry"]
    assert trace.info.state is TraceState.ERROR and root.status.description == "failed"


@pytest.mark.parametrize("media", ["protobuf", "json"])
def test_gzip_bodies(client: TestClient, sql_store: SqlStore, media: str) -> None:
    if media == "protobuf":
        raw, content_type = request(pb_span(ROOT)), "application/x-protobuf"
    else:
        raw = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": TRACE, "spanId": ROOT, "name": "r", "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]}).encode()  # fmt: skip
        content_type = "application/json"
    r = client.post(
        "/v1/traces",
        content=gzip.compress(raw),
        headers={"content-type": content_type, "content-encoding": "gzip"},
    )
    assert r.status_code == 200, r.content
    assert [s.span_id for s in sql_store.get_trace(TID).data.spans] == [ROOT]


def test_a_trace_split_across_requests_and_a_resent_span(client: TestClient, sql_store: SqlStore) -> None:
    usage = {"gen_ai.usage.input_tokens": 7, "gen_ai.usage.output_tokens": 3}
    children = request(
        pb_span(CHILD, ROOT, start_ms=10, end_ms=20, **usage), pb_span(CHILD2, ROOT, start_ms=30, end_ms=40)
    )
    response(client.post("/v1/traces", content=children, headers=PB))
    assert sql_store.get_trace(TID).info.state is TraceState.IN_PROGRESS
    response(client.post("/v1/traces", content=request(pb_span(ROOT, start_ms=0, end_ms=60)), headers=PB))
    response(client.post("/v1/traces", content=children, headers=PB))  # a retry: nothing doubles
    trace = sql_store.get_trace(TID)
    assert sorted(s.span_id for s in trace.data.spans) == [ROOT, CHILD, CHILD2]
    assert trace.info.state is TraceState.OK and trace.info.execution_duration == 60
    assert trace.info.token_usage == TokenUsage(7, 3, 10)


def test_unknown_ids_in_attributes_are_rejected_by_partial_success(
    client: TestClient, sql_store: SqlStore, model_id: str
) -> None:
    other = "11111111111111111111111111111111"
    body = request(
        pb_span(ROOT, **{"genver.model_id": "m-nope"}),
        pb_span(CHILD, ROOT, **{"genver.model_id": "m-nope"}),
        pb_span(ROOT, trace=other, **{"genver.model_id": model_id}),
    )
    partial = response(client.post("/v1/traces", content=body, headers=PB)).partial_success
    assert partial.rejected_spans == 2
    assert "'m-nope'" in partial.error_message and TID in partial.error_message
    assert [t.info.trace_id for t in sql_store.search_traces(experiment_ids=["0"])] == ["tr-" + other]
    exp = request(pb_span(ROOT, **{"genver.experiment_id": "424242"}))
    partial = response(client.post("/v1/traces", content=exp, headers=PB)).partial_success
    assert partial.rejected_spans == 1 and "'424242'" in partial.error_message


def test_a_version_named_by_name_or_alias_is_resolved_like_everywhere_else(
    client: TestClient, sql_store: SqlStore, model_id: str
) -> None:
    newer = sql_store.create_logged_model(experiment_id="0", name="agent-v1").model_id
    other = "22222222222222222222222222222222"
    body = request(
        pb_span(ROOT, **{"genver.model_id": "agent-v1"}),  # a name: its latest version
        pb_span(ROOT, trace=other, **{"genver.model_id": "@production"}),  # no such alias
    )
    partial = response(client.post("/v1/traces", content=body, headers=PB)).partial_success
    assert partial.rejected_spans == 1 and "'@production'" in partial.error_message
    assert sql_store.get_trace(TID).info.model_id == newer != model_id
    headers = {**PB, "X-Genver-Model-Id": "agent-v1"}
    response(client.post("/v1/traces", content=request(pb_span(ROOT, trace=other)), headers=headers))
    assert sql_store.get_trace("tr-" + other).info.model_id == newer
    assert len(sql_store.search_logged_models(experiment_ids=["0"])) == 2  # a name never creates one


def test_an_alias_is_looked_up_in_the_span_s_experiment(client: TestClient, sql_store: SqlStore) -> None:
    exp = sql_store.create_experiment("otlp-aliases")
    in_default = sql_store.create_logged_model(experiment_id="0", name="agent").model_id
    in_exp = sql_store.create_logged_model(experiment_id=exp, name="agent").model_id
    sql_store.set_logged_model_alias(in_default, "production")
    sql_store.set_logged_model_alias(in_exp, "production")
    other = "33333333333333333333333333333333"
    body = request(
        pb_span(ROOT, **{"genver.model_id": "@production", "genver.experiment_id": exp}),
        pb_span(ROOT, trace=other, **{"genver.model_id": "@production"}),  # the Default experiment
    )
    assert response(client.post("/v1/traces", content=body, headers=PB)).partial_success.rejected_spans == 0
    assert sql_store.get_trace(TID).info.model_id == in_exp
    assert sql_store.get_trace("tr-" + other).info.model_id == in_default


def test_header_links(client: TestClient, sql_store: SqlStore, model_id: str) -> None:
    exp = sql_store.create_experiment("otlp")
    headers = {**PB, "x-mlflow-experiment-id": exp, "X-Genver-Model-Id": model_id}
    response(client.post("/v1/traces", content=request(pb_span(ROOT)), headers=headers))
    info = sql_store.get_trace(TID).info
    assert (info.experiment_id, info.model_id) == (exp, model_id)
    # unknown ids in headers fail the whole request: the exporter logs it, nothing is stored
    for header, value in (("x-genver-experiment-id", "424242"), ("x-genver-model-id", "m-missing")):
        r = client.post("/v1/traces", content=request(pb_span(CHILD, ROOT)), headers={**PB, header: value})
        assert r.status_code == 404 and repr(value).encode() in r.content
    assert len(sql_store.get_trace(TID).data.spans) == 1


@pytest.mark.parametrize(
    ("content", "headers", "status", "expected"),
    [
        (b"\xff\xff\xff", PB, 400, "Undecodable OTLP protobuf body"),
        (b"{not json", {"content-type": "application/json"}, 400, "Malformed OTLP/JSON body"),
        (b"[1]", {"content-type": "application/json"}, 400, "expected an object"),
        (
            json.dumps(
                {
                    "resourceSpans": [
                        {"scopeSpans": [{"spans": [{"traceId": base64.b64encode(b"x" * 16).decode()}]}]}
                    ]
                }
            ).encode(),  # fmt: skip
            {"content-type": "application/json"},
            400,
            "ids are hex",
        ),
        (b"not gzip", {**PB, "content-encoding": "gzip"}, 400, "Invalid gzip body"),
        (b"", {**PB, "content-encoding": "br"}, 415, "content encoding 'br'"),
        (b"x", {"content-type": "text/plain"}, 415, "content type 'text/plain'"),
    ],
)
def test_bad_requests(
    client: TestClient, content: bytes, headers: dict[str, str], status: int, expected: str
) -> None:
    r = client.post("/v1/traces", content=content, headers=headers)
    assert r.status_code == status
    assert expected.encode() in r.content


def test_json_errors_are_google_rpc_status(client: TestClient) -> None:
    r = client.post("/v1/traces", content=b"{", headers={"content-type": "application/json; charset=utf-8"})
    assert r.status_code == 400 and r.json()["code"] == 3 and "Malformed" in r.json()["message"]


def test_invalid_spans_are_rejected_and_the_rest_stored(client: TestClient, sql_store: SqlStore) -> None:
    bad = pb_span(ROOT, trace="00" * 16)
    partial = response(
        client.post("/v1/traces", content=request(bad, pb_span(ROOT)), headers=PB)
    ).partial_success
    assert partial.rejected_spans == 1 and "invalid trace id" in partial.error_message
    assert len(sql_store.get_trace(TID).data.spans) == 1


def test_the_rest_store_cannot_merge(store: RestStore) -> None:
    with pytest.raises(StoreError, match="RestStore cannot merge spans.*/v1/traces"):
        store.merge_traces([])


def test_any_store_answers_active_model_ids(store: RestStore) -> None:
    """The ``Store`` default (a look-up per id), here over REST, answers as SQL's one query."""
    kept = store.create_logged_model(experiment_id="0", name="v1").model_id
    gone = store.create_logged_model(experiment_id="0", name="v2").model_id
    store.update_logged_model(gone, deleted=True)
    assert store.active_model_ids([kept, gone, "m-" + "f" * 32, kept]) == {kept}


# -- arbitrary attribute values ---------------------------------------------------------------------
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.binary(max_size=20),
)
_values = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def _expected(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, list):
        return [_expected(v) for v in value]
    if isinstance(value, dict):
        return {k: _expected(v) for k, v in value.items()}
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b and type(a) is type(b))


@given(_values)
def test_any_value_trees_convert(value: Any) -> None:
    assert _same(_expected(value), any_value(to_any(value)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attrs=st.dictionaries(st.text(min_size=1, max_size=20), _values, max_size=5))
def test_arbitrary_attributes_are_stored(
    client: TestClient, sql_store: SqlStore, attrs: dict[str, Any]
) -> None:
    named = {f"a.{k}": v for k, v in attrs.items()}
    r = client.post("/v1/traces", content=request(pb_span(ROOT, **named)), headers=PB)
    assert not response(r).HasField("partial_success")
    stored = sql_store.get_trace(TID).data.spans[0].attributes
    assert set(named) <= set(stored)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10,
)
_SPAN_FIELDS = (
    "traceId", "spanId", "parentSpanId", "name", "kind", "startTimeUnixNano", "endTimeUnixNano",
    "attributes", "events", "status", "links", "flags", "traceState",
)  # fmt: skip
_hex_or_junk = st.sampled_from([TRACE, ROOT, "", "zz", "00" * 16]) | _json
_span_json = st.fixed_dictionaries(
    {},
    optional={f: (_hex_or_junk if f.endswith("Id") else _json) for f in _SPAN_FIELDS},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    spans=st.lists(_span_json, max_size=3),
    resource=_json,
    raw=st.binary(max_size=64),
    media=st.sampled_from(["json", "protobuf-junk"]),
)
def test_no_otlp_body_is_a_server_error(
    client: TestClient, spans: list[Any], resource: Any, raw: bytes, media: str
) -> None:
    if media == "json":
        body = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]}
        r = client.post("/v1/traces", content=json.dumps(body), headers={"content-type": "application/json"})
    else:
        r = client.post("/v1/traces", content=raw, headers=PB)
    assert r.status_code in (200, 400), (r.status_code, r.content[:300])


def test_a_found_version_link_is_trusted_for_link_ttl_a_missing_one_never(
    client: TestClient, sql_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Links are looked up once per ``LINK_TTL`` (each look-up cost as much as storing the
    trace): an alias moved is seen when it expires; a version created after a refusal at once."""
    from genver.server.otlp import ingest

    clock = [1000.0]
    monkeypatch.setattr(ingest.time, "monotonic", lambda: clock[0])
    v1 = sql_store.create_logged_model(experiment_id="0", name="agent").model_id
    v2 = sql_store.create_logged_model(experiment_id="0", name="agent-next").model_id
    sql_store.set_logged_model_alias(v1, "production")
    traces = iter(f"{i:032x}" for i in range(1, 100))

    def send(ref: str) -> tuple[str | None, int]:
        trace = next(traces)
        body = request(pb_span(ROOT, trace=trace, **{"genver.model_id": ref}))
        partial = response(client.post("/v1/traces", content=body, headers=PB)).partial_success
        stored = sql_store.search_traces(experiment_ids=["0"], filter_string=f"trace_id = 'tr-{trace}'")
        return (stored[0].info.model_id if stored else None), partial.rejected_spans

    assert send("@production") == (v1, 0)
    sql_store.set_logged_model_alias(v2, "production")
    clock[0] += ingest.LINK_TTL - 1
    assert send("@production") == (v1, 0)  # still trusted
    clock[0] += 2
    assert send("@production") == (v2, 0)  # expired: looked up again
    assert send("agent-v9") == (None, 1)
    v9 = sql_store.create_logged_model(experiment_id="0", name="agent-v9").model_id
    assert send("agent-v9") == (v9, 0)  # a refusal is not remembered


def test_links_by_model_id_are_checked_together_once_per_request(
    client: TestClient, sql_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request naming versions by id asks the store once for all the ids it has not seen in
    ``LINK_TTL`` (one at a time, they cost more than storing the traces); a deleted or unknown
    id is still refused by name, and the other traces stored."""
    from genver.server.otlp import ingest

    clock = [5000.0]
    monkeypatch.setattr(ingest.time, "monotonic", lambda: clock[0])
    ids = [sql_store.create_logged_model(experiment_id="0", name=f"v{i}").model_id for i in range(5)]
    gone = sql_store.create_logged_model(experiment_id="0", name="gone").model_id
    sql_store.update_logged_model(gone, deleted=True)
    unknown = "m-" + "e" * 32
    asked: list[list[str]] = []
    real = SqlStore.active_model_ids

    def spy(self: SqlStore, model_ids: list[str]) -> set[str]:
        asked.append(sorted(model_ids))
        return real(self, model_ids)

    monkeypatch.setattr(SqlStore, "active_model_ids", spy)

    def send(first: int, refs: list[str]) -> Any:
        spans = [
            pb_span(ROOT, trace=f"{first + i:032x}", **{"genver.model_id": r}) for i, r in enumerate(refs)
        ]
        return response(client.post("/v1/traces", content=request(*spans), headers=PB))

    refs = [*ids, ids[0], gone, unknown]
    partial = send(1, refs).partial_success
    assert asked == [sorted({*ids, gone, unknown})]
    assert partial.rejected_spans == 2
    assert repr(gone) in partial.error_message and repr(unknown) in partial.error_message
    stored = {t.info.trace_id: t.info.model_id for t in sql_store.search_traces(experiment_ids=["0"])}
    assert stored == {f"tr-{i + 1:032x}": r for i, r in enumerate(refs[:6])}

    looked_up: list[str] = []
    real_look_up = ingest._look_up_model

    def count(store: Any, ref: str, experiment_id: str) -> Any:
        looked_up.append(ref)
        return real_look_up(store, ref, experiment_id)

    monkeypatch.setattr(ingest, "_look_up_model", count)
    assert send(50, [unknown] * 5).partial_success.rejected_spans == 5
    assert looked_up == [unknown]  # refused once for the batch, not once per trace
    asked.pop()
    assert not send(100, ids).HasField("partial_success")
    assert len(asked) == 1  # all trusted for LINK_TTL
    clock[0] += ingest.LINK_TTL + 1
    send(200, ids[:2])
    assert asked[1:] == [sorted(ids[:2])]  # expired: asked again, together
