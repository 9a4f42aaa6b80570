"""50 concurrent clients against a real ``genver server`` process on loopback.

Each client (its own ``RestStore``, so its own connection pool, with retries off so no failure is
papered over) creates versions, logs metrics on them, logs traces and reads back (get, search) —
a bounded amount of work, started together behind a barrier. Every request must succeed, and
afterwards every version, metric and trace must be there. Nothing here is timed.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from genver.entities import Metric
from genver.store.rest import RestStore
from tests.conftest import BACKENDS
from tests.server._processes import server_process, simple_trace, sqlite_uri

CLIENTS = 50
VERSIONS_PER_CLIENT = 2
METRIC_STEPS = 3
TRACES_PER_VERSION = 2
T0 = 1_700_000_000_000

pytestmark = pytest.mark.slow


@pytest.fixture(params=BACKENDS)
def backend_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_uri(tmp_path)
    return str(request.getfixturevalue("pg_databases").create())


def client_work(url: str, experiment_id: str, n: int, barrier: threading.Barrier) -> list[str]:
    """One client's share; returns the ids of the versions it created."""
    store = RestStore(url, retries=0, timeout=120)
    try:
        barrier.wait(120)
        ids = []
        for v in range(VERSIONS_PER_CLIENT):
            model = store.create_logged_model(
                experiment_id=experiment_id, name=f"client-{n}-v{v}", params={"client": str(n)}
            )
            ids.append(model.model_id)
            metrics = [
                Metric("acc", 0.5 + step / 10, T0 + step, step, model_id=model.model_id)
                for step in range(METRIC_STEPS)
            ]
            store.log_batch(None, metrics=metrics)
            store.log_traces(
                [simple_trace(experiment_id, model.model_id, T0 + n) for _ in range(TRACES_PER_VERSION)]
            )
            assert store.get_logged_model(model.model_id).name == f"client-{n}-v{v}"
            found = store.search_logged_models(
                experiment_ids=[experiment_id], filter_string=f"params.client = '{n}'"
            )
            assert {m.model_id for m in found} == set(ids)
        return ids
    finally:
        store.close()


def test_fifty_concurrent_clients_lose_nothing(backend_uri: str) -> None:
    with server_process(backend_uri) as server:
        setup = RestStore(server.url, retries=0)
        experiment_id = setup.create_experiment("load")
        barrier = threading.Barrier(CLIENTS)
        results: dict[int, list[str]] = {}
        errors: list[BaseException] = []

        def run(n: int) -> None:
            try:
                results[n] = client_work(server.url, experiment_id, n, barrier)
            except BaseException as e:  # reported below, with every other failure
                errors.append(e)
                barrier.abort()

        threads = [threading.Thread(target=run, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        assert not any(t.is_alive() for t in threads), "a client never finished"
        assert errors == [], f"{len(errors)} client(s) failed, first: {errors[0]!r}"

        ids = [m for n in range(CLIENTS) for m in results[n]]
        assert len(set(ids)) == CLIENTS * VERSIONS_PER_CLIENT
        page = setup.search_logged_models(experiment_ids=[experiment_id], max_results=1000)
        assert {m.model_id for m in page} == set(ids)
        for model in page:
            assert [(m.step, m.value) for m in sorted(model.metrics or [], key=lambda m: m.step)] == [
                (step, 0.5 + step / 10) for step in range(METRIC_STEPS)
            ]
        stats = setup.trace_stats(experiment_ids=[experiment_id])
        assert sum(s.trace_count for s in stats) == CLIENTS * VERSIONS_PER_CLIENT * TRACES_PER_VERSION
        assert {s.model_id for s in stats} == set(ids)
        assert all(s.trace_count == TRACES_PER_VERSION for s in stats)
        assert "Unhandled error" not in server.output()
        setup.close()
