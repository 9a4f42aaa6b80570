"""Two ``genver server`` processes on one PostgreSQL database: what one writes, the other reads;
racing get-or-create through both makes one version; a replica killed with SIGKILL leaves the
other serving, and its own clients get ``StoreUnavailableError`` at once, not a hang."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from genver.exceptions import StoreUnavailableError
from genver.store.rest import RestStore
from tests.conftest import PgDatabases
from tests.server._processes import ServerProcess, server_process, simple_trace

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
T0 = 1_700_000_000_000


@pytest.fixture
def replicas(pg_databases: PgDatabases) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    uri = pg_databases.create()
    with server_process(uri) as a, server_process(uri) as b:
        yield a, b


def rest(server: ServerProcess) -> RestStore:
    return RestStore(server.url, retries=1, backoff=0.01, timeout=30)


def test_what_one_replica_writes_the_other_reads(replicas: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = (rest(s) for s in replicas)
    exp = a.create_experiment("replicated", tags={"team": "x"})
    model = a.create_logged_model(experiment_id=exp, name="v1", params={"llm": "small"}, tags={"t": "1"})
    traces = [simple_trace(exp, model.model_id, T0 + i) for i in range(5)]
    a.log_traces(traces)
    a.set_trace_tags(traces[0].info.trace_id, {"reviewed": "yes"})

    assert b.get_experiment_by_name("replicated") == a.get_experiment(exp)
    assert b.get_logged_model(model.model_id) == a.get_logged_model(model.model_id)
    query = {"experiment_ids": [exp], "filter_string": "params.llm = 'small'"}
    assert list(b.search_logged_models(**query)) == list(a.search_logged_models(**query))
    found_b = b.search_traces(experiment_ids=[exp])
    assert [t.info.trace_id for t in found_b] == [
        t.info.trace_id for t in a.search_traces(experiment_ids=[exp])
    ]
    assert {t.info.trace_id for t in found_b} == {t.info.trace_id for t in traces}
    assert b.get_trace(traces[0].info.trace_id).info.tags["reviewed"] == "yes"
    assert b.trace_stats(model_ids=[model.model_id])[0].trace_count == 5
    a.close()
    b.close()


def test_get_or_create_racing_through_both_replicas_makes_one_version(
    replicas: tuple[ServerProcess, ServerProcess],
) -> None:
    stores = [rest(s) for s in replicas]
    exp = stores[0].create_experiment("race")
    barrier = threading.Barrier(16)
    got: list[str] = []
    errors: list[BaseException] = []

    def resolve(store: RestStore) -> None:
        try:
            barrier.wait(60)
            m = store.create_logged_model(experiment_id=exp, name="agent", reuse_latest_by_name=True)
            got.append(m.model_id)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=resolve, args=(stores[i % 2],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert len(got) == 16 and len(set(got)) == 1
    assert len(stores[1].search_logged_models(experiment_ids=[exp], filter_string="name = 'agent'")) == 1
    for s in stores:
        s.close()


def test_a_killed_replica_leaves_the_other_serving(replicas: tuple[ServerProcess, ServerProcess]) -> None:
    victim, survivor = replicas
    to_victim, to_survivor = rest(victim), rest(survivor)
    exp = to_survivor.create_experiment("failover")
    started = threading.Event()
    survivor_errors: list[BaseException] = []
    written: list[str] = []

    def keep_writing() -> None:
        store = rest(survivor)
        try:
            for i in range(60):
                written.append(store.create_logged_model(experiment_id=exp, name=f"s-{i}").model_id)
                if i == 5:
                    started.set()
        except BaseException as e:
            survivor_errors.append(e)
        finally:
            started.set()
            store.close()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    assert started.wait(120)
    to_victim.create_logged_model(experiment_id=exp, name="before-the-kill")
    victim.kill()
    with pytest.raises(StoreUnavailableError, match="Cannot reach"):
        to_victim.create_logged_model(experiment_id=exp, name="after-the-kill")
    with pytest.raises(StoreUnavailableError):
        to_victim.get_experiment(exp)
    writer.join(300)
    assert not writer.is_alive()
    assert survivor_errors == []
    names = {m.name for m in to_survivor.search_logged_models(experiment_ids=[exp], max_results=1000)}
    assert names == {f"s-{i}" for i in range(60)} | {"before-the-kill"}
    to_victim.close()
    to_survivor.close()
