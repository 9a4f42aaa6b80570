"""The body limit on the OTLP route, which reads its body itself (``request.stream()``).

The limit stops a streamed body by raising ``limits._TooLarge`` (an ``InvalidArgumentError``)
from ``receive()``. The OTLP route catches ``InvalidArgumentError`` and answers in OTLP's own
encoding; the middleware must still replace that answer with its 413, and nothing is logged as
an unhandled error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from genver.server.app import create_app
from genver.store.sql.store import SqlStore
from tests.server.conftest import TestClient, asgi_client
from tests.server.test_limits import LIMIT, assert_413
from tests.store._helpers import all_counts


@pytest.fixture
def small(sql_store: SqlStore) -> Iterator[TestClient]:
    with asgi_client(create_app(sql_store, max_request_bytes=LIMIT), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("content_type", ["application/x-protobuf", "application/json"])
def test_streamed_otlp_body_over_the_limit_is_413(
    small: TestClient, sql_store: SqlStore, content_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for _ in range(2 * LIMIT // 500):
            yield b"x" * 500

    before = all_counts(sql_store)
    with caplog.at_level(logging.ERROR):
        resp = small.post("/v1/traces", content=chunks(), headers={"content-type": content_type})
    assert_413(resp)
    assert resp.headers["content-type"] == "application/json"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert all_counts(sql_store) == before
