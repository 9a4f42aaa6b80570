"""The trace exporter against a server whose token refuses it: the app is unaffected, the traces
wait in the spool (bounded, like a store that is down), and a process with a read-write token
delivers them."""

from __future__ import annotations

import time
from pathlib import Path

from genver.fluent import Genver
from genver.server.app import create_app
from genver.server.auth import parse_tokens
from genver.store.rest import RestStore
from genver.store.sql.store import SqlStore
from tests.server.conftest import asgi_client


def _genver(sql_store: SqlStore, token: str, spool: Path) -> Genver:
    app = create_app(sql_store, tokens=parse_tokens("rw:writer-token,ro:reader-token"))
    store = RestStore(http_client=asgi_client(app), token=token, sleep=lambda _: None)
    environ = {"GENVER_TRACE_SPOOL_DIR": str(spool), "GENVER_TRACE_FLUSH_INTERVAL": "0.05"}
    return Genver(store=store, environ=environ)


def test_a_read_only_token_spools_traces_until_a_writer_delivers_them(
    sql_store: SqlStore, tmp_path: Path
) -> None:
    model = sql_store.create_logged_model(experiment_id="0", name="agent-v1")
    reader = _genver(sql_store, "reader-token", tmp_path / "spool")
    active = reader.set_active_model(name="agent-v1")  # finding a version is a read
    assert active.model_id == model.model_id

    @reader.trace
    def answer(i: int) -> int:
        return i * 2

    assert [answer(i) for i in range(5)] == [0, 2, 4, 6, 8]  # the app is unaffected
    reader.flush_trace_async_logging(timeout=10)
    stats = reader.get_trace_export_stats()
    assert stats is not None and stats.exported == 0 and stats.spooled == 5 and stats.dropped == 0
    assert list((tmp_path / "spool").glob("batch-*"))
    reader.flush_trace_async_logging(terminate=True)
    assert len(sql_store.search_traces(experiment_ids=["0"])) == 0

    writer = _genver(sql_store, "writer-token", tmp_path / "spool")

    @writer.trace
    def ping() -> None:  # the next process: its exporter starts with its first trace
        pass

    ping()
    query = f"model_id = '{model.model_id}'"
    deadline = time.monotonic() + 20
    while len(sql_store.search_traces(experiment_ids=["0"], filter_string=query)) < 5:
        assert time.monotonic() < deadline, "the spooled traces were not delivered"
        writer.flush_trace_async_logging(timeout=5)
    assert len(sql_store.search_traces(experiment_ids=["0"], filter_string=query)) == 5
    assert not list((tmp_path / "spool").glob("batch-*"))
    writer.flush_trace_async_logging(terminate=True)
