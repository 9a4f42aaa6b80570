"""Two ``genver server`` processes on one PostgreSQL database, with named tokens: alias moves
racing through both replicas leave one consistent, verifiable history, in which each change names
the token that made it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from genver.client import GenverClient
from genver.entities import history as h
from genver.store.rest import RestStore
from tests.conftest import PgDatabases
from tests.server._processes import ServerProcess
from tests.store.test_history_concurrency import assert_one_consistent_history

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
TOKENS = {"alpha-token": "deploy-bot", "beta-token": "ana"}
THREADS = 8
MOVES = 10


@pytest.fixture
def replicas(pg_databases: PgDatabases, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    uri = pg_databases.create()
    token_file = tmp_path / "tokens.txt"
    token_file.write_text("".join(f"{secret} read-write {name}\n" for secret, name in TOKENS.items()))
    a = ServerProcess(uri, args=["--token-file", str(token_file)]).start()
    try:
        b = ServerProcess(uri, args=["--token-file", str(token_file)]).start()
        try:
            yield a, b
        finally:
            b.close()
    finally:
        a.close()


def test_alias_moves_racing_through_two_replicas_leave_one_history(
    replicas: tuple[ServerProcess, ServerProcess],
) -> None:
    secrets = list(TOKENS)
    stores = [
        RestStore(s.url, token=secrets[i], retries=1, backoff=0.01, timeout=60)
        for i, s in enumerate(replicas)
    ]
    exp = stores[0].create_experiment("replicated-aliases")
    versions = [stores[i % 2].create_logged_model(experiment_id=exp, name=f"v{i}").model_id for i in range(4)]
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def move(worker: int) -> None:
        store = RestStore(replicas[worker % 2].url, token=secrets[worker % 2], retries=1, timeout=60)
        try:
            barrier.wait(60)
            for i in range(MOVES):
                store.set_logged_model_alias(versions[(worker + i) % len(versions)], "production")
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=move, args=(w,)) for w in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert errors == []
    for store in stores:  # both replicas read the same, consistent history
        moves = assert_one_consistent_history(store, exp, "production")
        assert {e.actor for e in moves} == set(TOKENS.values())  # each move names its token
        assert len([e for e in moves if e.kind == h.ALIAS_SET]) > len(versions)
    heads = [GenverClient(store=s).get_history_head() for s in stores]
    assert heads[0] == heads[1]
    created = [e for e in GenverClient(store=stores[0]).iter_history() if e.kind == h.CREATED]
    assert {e.actor for e in created} == set(TOKENS.values())
    for store in stores:
        store.close()
