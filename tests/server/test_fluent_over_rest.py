"""The public API end to end through the server: ``Genver(store=RestStore(...))``.

Versions, metrics and traces written through the REST store land in the server's SQL store, and
searches through the server find them (the trace exporter included).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from genver.entities import Metric
from genver.exceptions import NotFoundError
from genver.fluent import Genver
from genver.store.rest import RestStore
from genver.store.sql.store import SqlStore


@pytest.fixture
def gv(store: RestStore, tmp_path: Path) -> Iterator[Genver]:
    environ = {"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"), "GENVER_TRACE_FLUSH_INTERVAL": "0.05"}
    g = Genver(store=store, environ=environ)
    yield g
    g.flush_trace_async_logging(terminate=True)


def test_versions_metrics_and_traces_through_the_server(gv: Genver, sql_store: SqlStore) -> None:
    gv.set_experiment("agents")
    model = gv.create_external_model(name="agent-v1", params={"llm": "gpt-4"})
    gv.set_active_model(model_id=model.model_id)

    @gv.trace
    def answer(question: str) -> str:
        return question.upper()

    assert [answer(q) for q in ("a", "b", "c")] == ["A", "B", "C"]
    gv.log_metric("accuracy", 0.9, model_id=model.model_id)

    found = gv.search_logged_models(filter_string="metrics.accuracy > 0.5", output_format="list")
    assert [m.model_id for m in found] == [model.model_id]  # type: ignore[union-attr]
    assert gv.get_logged_model(model.model_id).params == {"llm": "gpt-4"}

    assert gv.flush_trace_async_logging(timeout=10)
    traces = gv.search_traces(model_id=model.model_id, return_type="list")
    assert len(traces) == 3
    assert all(t.info.model_id == model.model_id for t in traces)  # type: ignore[union-attr]
    assert {t.data.spans[0].outputs for t in traces} == {"A", "B", "C"}  # type: ignore[union-attr]

    # What went through the server is in the server's own store.
    on_server = sql_store.get_logged_model(model.model_id)
    assert [m.key for m in on_server.metrics or []] == ["accuracy"]
    stats = sql_store.trace_stats(model_ids=[model.model_id])
    assert [s.trace_count for s in stats] == [3]


def test_same_exceptions_as_the_local_store(gv: Genver) -> None:
    with pytest.raises(NotFoundError):
        gv.get_logged_model("m-" + "0" * 32)
    with pytest.raises(NotFoundError):
        gv.set_active_model(model_id="m-" + "0" * 32)


def test_log_batch_metric_with_model_and_dataset(store: RestStore) -> None:
    run_id = store.create_run(experiment_id="0").info.run_id
    model_id = store.create_logged_model(experiment_id="0", name="m").model_id
    metric = Metric("f1", float("nan"), 5, 1, model_id=model_id, dataset_name="eval", dataset_digest="d1")
    store.log_batch(run_id, metrics=[metric])
    logged = store.get_logged_model(model_id).metrics or []
    assert [(m.key, m.dataset_name, m.dataset_digest, m.run_id) for m in logged] == [
        ("f1", "eval", "d1", run_id)
    ]
    assert logged[0].value != logged[0].value  # NaN survives the wire
    assert [i.model_id for i in store.get_run(run_id).inputs.model_inputs] == [model_id]
