"""The trace exporter against a server's request size limit: a batch the server refuses as too
large (413) is split until each part fits, so every trace that fits alone is stored, and only a
single trace over the limit is dropped, counted, never retried forever."""

from __future__ import annotations

from pathlib import Path

import pytest

from genver.exceptions import InvalidArgumentError
from genver.fluent import Genver
from genver.server.app import create_app
from genver.store.rest import RestStore
from genver.store.sql.store import SqlStore
from tests.server.conftest import asgi_client

LIMIT = 20_000  # bytes: one trace below fits, ten of them in one batch do not


def test_a_batch_over_the_limit_is_split_and_only_an_oversized_trace_is_dropped(
    sql_store: SqlStore, tmp_path: Path
) -> None:
    client = asgi_client(create_app(sql_store, max_request_bytes=LIMIT), raise_server_exceptions=False)
    store = RestStore(http_client=client, sleep=lambda _: None)
    environ = {
        "GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"),
        "GENVER_TRACE_FLUSH_INTERVAL": "60",  # one batch, sent by the flush below
    }
    gv = Genver(store=store, environ=environ)
    model = gv.create_external_model(name="agent-v1")
    gv.set_active_model(model_id=model.model_id)

    @gv.trace
    def answer(text: str) -> int:
        return len(text)

    for i in range(10):
        answer(f"{i} " + "x" * 3_000)  # ~3 KB of input per trace: the batch is ~30 KB
    answer("y" * (2 * LIMIT))  # one trace larger than the limit on its own
    with pytest.raises(InvalidArgumentError, match="limit"):  # under pytest the drop surfaces at flush
        gv.flush_trace_async_logging(timeout=20)

    stats = gv.get_trace_export_stats()
    assert stats is not None and stats.exported == 10 and stats.dropped == 1 and stats.spooled == 0
    stored = sql_store.search_traces(experiment_ids=["0"], filter_string=f"model_id = '{model.model_id}'")
    assert len(stored) == 10
    gv.flush_trace_async_logging(terminate=True)
    store.close()
