"""``set_tracking_uri("http://host:port")`` against a real uvicorn server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from genver.fluent import Genver
from genver.server.app import create_app
from genver.store import store_for_uri
from genver.store.rest import RestStore
from genver.store.sql.store import SqlStore


def test_http_uris_open_a_rest_store() -> None:
    for uri in ("http://localhost:5000", "https://genver.example.com/"):
        store = store_for_uri(uri)
        assert isinstance(store, RestStore)
        store.close()


@pytest.fixture
def server_uri(sql_store: SqlStore) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(sql_store), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_public_api_through_a_real_server(server_uri: str, sql_store: SqlStore, tmp_path: Path) -> None:
    environ = {"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"), "GENVER_TRACE_FLUSH_INTERVAL": "0.05"}
    gv = Genver(environ=environ)
    gv.set_tracking_uri(server_uri)
    try:
        gv.set_experiment("remote")
        model = gv.set_active_model(name="agent-v2")

        @gv.trace
        def work(x: int) -> int:
            return x + 1

        assert work(1) == 2
        assert gv.flush_trace_async_logging(timeout=10)
        traces = gv.search_traces(model_id=model.model_id, return_type="list")
        assert len(traces) == 1
        assert sql_store.get_experiment_by_name("remote") is not None
    finally:
        gv.flush_trace_async_logging(terminate=True)
        gv.client.close()  # closes the REST store's HTTP client
