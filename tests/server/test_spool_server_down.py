"""The trace exporter spools to disk while the genver server is down and delivers everything once
it is back: a server that is not up yet, and a server process killed with SIGKILL mid-run."""

from __future__ import annotations

from pathlib import Path

import pytest

from genver.fluent import Genver
from genver.store.sql.store import SqlStore
from tests.server._processes import free_port, server_process, sqlite_uri, uvicorn_thread


def traced_genver(tmp_path: Path, port: int) -> Genver:
    environ = {"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"), "GENVER_TRACE_FLUSH_INTERVAL": "0.05"}
    gv = Genver(environ=environ)
    gv.set_tracking_uri(f"http://127.0.0.1:{port}")
    return gv


def spooled_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "spool").rglob("*") if p.is_file()]


def stored_trace_ids(uri: str) -> set[str]:
    store = SqlStore(uri)
    try:
        return {t.info.trace_id for t in store.search_traces(experiment_ids=["0"], max_results=1000)}
    finally:
        store.close()


def test_traces_made_before_the_server_starts_arrive_once_it_does(tmp_path: Path) -> None:
    port = free_port()
    gv = traced_genver(tmp_path, port)

    @gv.trace
    def answer(q: str) -> str:
        return q.upper()

    try:
        # No server listens: the calls return their results and raise nothing.
        assert [answer(f"q{i}") for i in range(20)] == [f"Q{i}" for i in range(20)]
        assert gv.flush_trace_async_logging(timeout=60) is False  # not stored: spooled instead
        stats = gv.get_trace_export_stats()
        assert stats is not None
        assert (stats.exported, stats.spooled, stats.dropped) == (0, 20, 0)
        assert stats.failed_batches >= 1 and not stats.store_available
        assert spooled_files(tmp_path)

        store = SqlStore(sqlite_uri(tmp_path))
        with uvicorn_thread(store, port):
            assert gv.flush_trace_async_logging(timeout=60)
            stats = gv.get_trace_export_stats()
            assert stats is not None
            assert (stats.delivered_from_spool, stats.dropped) == (20, 0)
            traces = store.search_traces(experiment_ids=["0"], max_results=1000)
            assert sorted(t.info.request_preview or "" for t in traces) == sorted(
                f'{{"q": "q{i}"}}' for i in range(20)
            )
        store.close()
    finally:
        gv.flush_trace_async_logging(terminate=True, timeout=5)
        gv.client.close()


@pytest.mark.slow
def test_a_server_killed_mid_run_and_restarted_loses_nothing(tmp_path: Path) -> None:
    uri = sqlite_uri(tmp_path)
    port = free_port()
    gv = traced_genver(tmp_path, port)

    @gv.trace
    def work(i: int) -> int:
        return i * 2

    try:
        with server_process(uri, port) as server:
            assert [work(i) for i in range(10)] == [i * 2 for i in range(10)]
            assert gv.flush_trace_async_logging(timeout=60)
            server.kill()
            assert [work(i) for i in range(10, 30)] == [i * 2 for i in range(10, 30)]
            assert gv.flush_trace_async_logging(timeout=60) is False  # the server is gone: spooled
        stats = gv.get_trace_export_stats()
        assert stats is not None
        assert (stats.exported, stats.spooled, stats.dropped) == (10, 20, 0)
        assert len(stored_trace_ids(uri)) == 10

        with server_process(uri, port):
            assert gv.flush_trace_async_logging(timeout=60)
        stats = gv.get_trace_export_stats()
        assert stats is not None
        assert (stats.delivered_from_spool, stats.dropped) == (20, 0)
        assert len(stored_trace_ids(uri)) == 30
        assert not spooled_files(tmp_path)
    finally:
        gv.flush_trace_async_logging(terminate=True, timeout=5)
        gv.client.close()
