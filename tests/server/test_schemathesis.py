"""Property-based run of schemathesis over every operation of the app's own OpenAPI schema.

Each operation gets a bounded, derandomized hypothesis run (the same cases on every run) against
the ASGI app over a real SQLite store. Checks: no 5xx (the ASGI client also re-raises any
exception the app did not turn into an error body), every status code and content type is one
the schema documents, and every body matches its documented schema (error bodies included).

CI runs 25 cases per operation. A deeper run: ``GENVER_SCHEMATHESIS_EXAMPLES=300`` (cases per
operation) and ``GENVER_SCHEMATHESIS_RANDOM=1`` (new random cases instead of the fixed ones);
300 random cases per operation on SQLite and PostgreSQL found no server error (2026-11-26).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import cast

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from genver.server.app import create_app
from genver.store.base import Store
from genver.store.sql.store import SqlStore
from tests.conftest import BACKENDS
from tests.server.conftest import TestClient

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


# The schema is read once at import; the OpenAPI document needs no store, the calls get a real one.
APP = create_app(cast(Store, None))
with warnings.catch_warnings():
    # Starlette's TestClient asks for httpx2 (see conftest.py).
    warnings.filterwarnings("ignore", message=".*httpx2", category=UserWarning)
    schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True, params=BACKENDS)
def real_store(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[SqlStore]:
    """The store behind ``APP``: a SQLite file, or a fresh PostgreSQL database (NUL bytes, integer
    ranges and text limits differ there)."""
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'api.db'}"
    else:
        uri = request.getfixturevalue("pg_databases").create()
    store = SqlStore(uri)
    APP.state.store = store
    yield store
    APP.state.store = None
    store.close()


@schema.parametrize()
@hypothesis.settings(
    max_examples=int(os.environ.get("GENVER_SCHEMATHESIS_EXAMPLES", "25")),
    derandomize=os.environ.get("GENVER_SCHEMATHESIS_RANDOM") is None,
    database=None,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_every_operation_answers_within_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)


def test_the_schema_documents_error_bodies_and_not_fastapis_422() -> None:
    raw = schema.raw_schema
    operations = [op for path in raw["paths"].values() for op in path.values()]
    assert len(operations) >= 25
    for op in operations:
        responses = op["responses"]
        assert "422" not in responses, op["operationId"]
        for status in ("400", "404", "409", "500", "503"):
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorBody"), (op["operationId"], status)
    assert "HTTPValidationError" not in raw["components"]["schemas"]


# The 500s schemathesis found, pinned as plain cases: each is now a 400 that names the value.
@pytest.mark.parametrize(
    ("method", "path", "body", "named"),
    [
        ("POST", "/api/v1/models/search", {"experiment_ids": ["0"], "order_by": True}, "True"),
        ("POST", "/api/v1/traces/stats", {"end_time": 2**63}, "end_time"),
        (
            "PUT",
            "/api/v1/traces",
            {"traces": [{"info": {"trace_id": "t", "experiment_id": "0", "request_time": 0}, "spans": [{}]}]},
            "'trace_id'",
        ),
        (
            "PUT",
            "/api/v1/traces",
            {
                "traces": [
                    {
                        "info": {
                            "trace_id": "t",
                            "experiment_id": "0",
                            "request_time": 0,
                            "token_usage": {"x": 1},
                        }
                    }
                ]
            },
            "['x']",
        ),
    ],
    ids=["order-by-not-a-list", "int-past-64-bits", "span-missing-key", "unknown-token-usage-key"],
)
def test_bad_values_found_by_schemathesis_are_400s(
    client: TestClient, method: str, path: str, body: object, named: str
) -> None:
    resp = client.request(method, path, json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error_type"] == "InvalidArgumentError"
    assert named in resp.json()["message"]


def test_unknown_paths_answer_with_an_error_body(client: TestClient) -> None:
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404
    assert resp.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert "/api/v1/no-such-thing" in resp.json()["message"]
    resp = client.delete("/api/v1/experiments/search")
    assert resp.status_code == 405
    assert resp.json()["error_code"] == "METHOD_NOT_ALLOWED"
