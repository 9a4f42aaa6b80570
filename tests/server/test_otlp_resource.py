"""OTLP from other languages (issue 12, item 8): the resource (service.name, service.version,
deployment.environment) stays on the trace and is searchable as ``resource.<key>``; a trace's
spans come back parent before child even when a child's clock ran ahead; every refused span is
logged by the server with its reason, not only told in ``partial_success``."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from genver.store.sql.store import SqlStore
from tests.server.test_otlp_ingest import CHILD, CHILD2, PB, ROOT, TID, pb_span, request, response

RESOURCE = {
    "service.name": "checkout",
    "service.version": "2.3.1",
    "deployment.environment": "prod",
    "process.pid": 4242,
    "telemetry.sdk.language": "nodejs",
    "host.tags": ["a", "b"],  # an array: not kept
}


def test_the_resource_is_kept_and_searchable(client: TestClient, sql_store: SqlStore) -> None:
    body = request(pb_span(ROOT), pb_span(CHILD, ROOT, start_ms=10), resource=RESOURCE)
    assert client.post("/v1/traces", content=body, headers=PB).status_code == 200

    meta = sql_store.get_trace(TID).info.trace_metadata
    assert meta["resource.service.name"] == "checkout" and meta["resource.service.version"] == "2.3.1"
    assert meta["resource.deployment.environment"] == "prod" and meta["resource.process.pid"] == "4242"
    assert "resource.host.tags" not in meta
    for found, query in (
        ([TID], "resource.service.name = 'checkout'"),
        ([TID], "resource.deployment.environment = 'prod' AND resource.`service.version` LIKE '2.%'"),
        ([], "resource.service.name = 'billing'"),
    ):
        traces = sql_store.search_traces(experiment_ids=["0"], filter_string=query, include_spans=False)
        assert [t.info.trace_id for t in traces] == found, query


def test_spans_come_back_parent_before_child(client: TestClient, sql_store: SqlStore) -> None:
    # the children's clocks ran 50 ms ahead of the root's: by start time they come first
    body = request(
        pb_span(CHILD2, CHILD, start_ms=-40), pb_span(CHILD, ROOT, start_ms=-50), pb_span(ROOT, start_ms=0)
    )
    assert client.post("/v1/traces", content=body, headers=PB).status_code == 200
    spans = sql_store.get_trace(TID).data.spans
    assert [s.span_id for s in spans] == [ROOT, CHILD, CHILD2]


def test_refused_spans_are_logged_by_the_server(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="genver.server")
    unknown = "m-" + "0" * 32
    body = request(pb_span(ROOT, **{"genver.model_id": unknown}), pb_span(CHILD, ROOT))
    answer = response(client.post("/v1/traces", content=body, headers=PB))
    assert answer.partial_success.rejected_spans == 2
    (line,) = [r.getMessage() for r in caplog.records if r.name == "genver.server"]
    assert line.startswith("OTLP ingest: Rejected 2 span(s)") and unknown in line
    assert "rejected since start" in line
