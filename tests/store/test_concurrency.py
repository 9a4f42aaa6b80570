"""Many writers on one database: threads sharing a store, threads with their own stores and
processes racing to open a fresh database (and so to create its schema). Nothing may be lost and
no writer may see an error (in particular no "database is locked"). Mainly about SQLite; the
same runs on PostgreSQL when it is configured."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from genver.client import GenverClient
from genver.store.sql.migrate import head_revision
from genver.store.sql.store import SqlStore

from ._helpers import count_rows
from ._workers import VERSIONS, run_in_process, workload

pytestmark = pytest.mark.slow

THREADS = 8
PROCESSES = 4


def _run_threads(target: Callable[[int], None], n: int) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def body(worker: int) -> None:
        try:
            barrier.wait(timeout=60)
            target(worker)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    return errors


def _assert_nothing_lost(uri: str, workers: int) -> None:
    store = SqlStore(uri)
    try:
        n = workers * VERSIONS
        assert count_rows(store, "logged_models") == n
        assert count_rows(store, "logged_model_params") == 2 * n
        assert count_rows(store, "logged_model_tags") == 2 * n
        assert count_rows(store, "logged_model_metrics") == n
        assert count_rows(store, "run_metrics") == n
        assert count_rows(store, "runs") == workers
        assert count_rows(store, "latest_metrics") == workers
        assert count_rows(store, "run_inputs") == n
        assert count_rows(store, "experiments") == 1
        for w in range(workers):
            found = store.search_logged_models(
                experiment_ids=["0"], filter_string=f"params.worker = '{w}'", max_results=1000
            )
            assert sorted(m.name for m in found) == sorted(f"w{w}-v{j}" for j in range(VERSIONS))
            assert all(m.metrics is not None and len(m.metrics) == 1 for m in found)
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [
                head_revision()
            ]
        # Every version's creation and metric are in one unforked history chain.
        report = GenverClient(store=store).verify_history()
        assert report.ok and report.checked == 2 * n, report.problem
    finally:
        store.close()


def test_threads_sharing_one_store(db_uri: str) -> None:
    uri = db_uri
    store = SqlStore(uri)
    try:
        errors = _run_threads(lambda w: workload(store, w), THREADS)
    finally:
        store.close()
    assert errors == []
    _assert_nothing_lost(uri, THREADS)


def test_threads_with_their_own_stores_on_a_fresh_database(db_uri: str) -> None:
    uri = db_uri

    def own_store(worker: int) -> None:
        store = SqlStore(uri)  # all of them race to create the schema
        try:
            workload(store, worker)
        finally:
            store.close()

    assert _run_threads(own_store, THREADS) == []
    _assert_nothing_lost(uri, THREADS)


def _run_processes(kind: str, uri: str) -> list[tuple[int, str | None]]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=run_in_process, args=(kind, uri, i, barrier, results)) for i in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    try:
        out = [results.get(timeout=300) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
                p.join()
        results.close()
        results.join_thread()
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    return sorted(out, key=lambda r: r[0])


def test_processes_racing_on_a_fresh_database(db_uri: str) -> None:
    results = _run_processes("store", db_uri)
    assert results == [(i, None) for i in range(PROCESSES)]
    _assert_nothing_lost(db_uri, PROCESSES)


def test_processes_setting_the_same_active_model(db_uri: str) -> None:
    uri = db_uri
    results = _run_processes("fluent", uri)
    model_ids = {model_id for _, model_id in results}
    assert len(model_ids) == 1, results
    (model_id,) = model_ids
    assert model_id is not None and model_id.startswith("m-"), results
    store = SqlStore(uri)
    try:
        found = store.search_logged_models(experiment_ids=["0"], filter_string="name = 'same'")
        assert [m.model_id for m in found] == [model_id]
        assert count_rows(store, "logged_models") == 1
    finally:
        store.close()
