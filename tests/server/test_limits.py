"""Request size limits: declared too large, streamed too large, and just under the limit."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from genver.exceptions import InvalidArgumentError
from genver.server.app import create_app
from genver.server.limits import DEFAULT_MAX_REQUEST_BYTES, max_request_bytes
from genver.server.main import ServerSettings
from genver.store.rest import RestStore
from genver.store.sql.store import SqlStore
from tests.server.conftest import TestClient, asgi_client
from tests.store._helpers import all_counts

LIMIT = 4000


@pytest.fixture
def small_app(sql_store: SqlStore) -> FastAPI:
    return create_app(sql_store, max_request_bytes=LIMIT)


@pytest.fixture
def small(small_app: FastAPI) -> Iterator[TestClient]:
    with asgi_client(small_app, raise_server_exceptions=False) as c:
        yield c


def experiment_body(size: int, name: str = "sized") -> bytes:
    """A valid create-experiment body of exactly ``size`` bytes."""
    empty = json.dumps({"name": name, "tags": {"pad": ""}}).encode()
    body = json.dumps({"name": name, "tags": {"pad": "x" * (size - len(empty))}}).encode()
    assert len(body) == size
    return body


def assert_413(resp: object) -> None:
    assert resp.status_code == 413, resp.text  # type: ignore[attr-defined]
    body = resp.json()  # type: ignore[attr-defined]
    assert body["error_code"] == "RESOURCE_LIMIT_EXCEEDED"
    assert body["error_type"] == "InvalidArgumentError"
    assert f"limit of {LIMIT / 1024 / 1024:g} MB ({LIMIT} bytes" in body["message"]
    assert "--max-request-mb" in body["message"]


def test_declared_too_large_is_refused_up_front(small: TestClient, sql_store: SqlStore) -> None:
    before = all_counts(sql_store)
    resp = small.post(
        "/api/v1/experiments",
        content=experiment_body(LIMIT + 1),
        headers={"content-type": "application/json"},
    )
    assert_413(resp)
    assert f"of {LIMIT + 1} bytes" in resp.json()["message"]
    assert all_counts(sql_store) == before


@pytest.mark.parametrize("chunk", [1, 500, LIMIT + 1], ids=["1-byte-chunks", "500-byte-chunks", "one-chunk"])
def test_streamed_too_large_is_refused_while_counting(
    small: TestClient, sql_store: SqlStore, chunk: int
) -> None:
    body = experiment_body(LIMIT + 1)

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for i in range(0, len(body), chunk):
            yield body[i : i + chunk]

    before = all_counts(sql_store)
    resp = small.post("/api/v1/experiments", content=chunks(), headers={"content-type": "application/json"})
    assert_413(resp)
    assert "bytes is larger" not in resp.json()["message"]  # counted, not declared
    assert all_counts(sql_store) == before


@pytest.mark.parametrize("size", [LIMIT, LIMIT - 1])
def test_just_under_the_limit_is_served(small: TestClient, size: int) -> None:
    body = experiment_body(size)
    resp = small.post("/api/v1/experiments", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 201, resp.text

    streamed = experiment_body(size, name="streamed")

    def chunks() -> Iterator[bytes]:
        yield streamed[: size // 2]
        yield streamed[size // 2 :]

    resp = small.post("/api/v1/experiments", content=chunks(), headers={"content-type": "application/json"})
    assert resp.status_code == 201, resp.text


def test_rest_store_reports_the_limit(small: TestClient) -> None:
    store = RestStore(http_client=small, sleep=lambda _: None)
    with pytest.raises(InvalidArgumentError, match="limit of"):
        store.create_experiment("big", tags={"pad": "x" * LIMIT})


def test_limit_setting() -> None:
    assert DEFAULT_MAX_REQUEST_BYTES == 32 * 1024 * 1024
    settings = ServerSettings.from_environ({"GENVER_SERVER_MAX_REQUEST_MB": "0.5"})
    assert settings.max_request_bytes == 512 * 1024
    for bad in ("0", "-1", "lots"):
        with pytest.raises(InvalidArgumentError, match="GENVER_SERVER_MAX_REQUEST_MB"):
            ServerSettings.from_environ({"GENVER_SERVER_MAX_REQUEST_MB": bad})
    with pytest.raises(InvalidArgumentError, match="above 0"):
        max_request_bytes(0)
