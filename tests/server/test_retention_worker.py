"""The server's background retention (issue 13 item 3): ``GENVER_RETENTION_*`` settings make a
schedule; the app prunes in a daemon thread started with it and stopped at shutdown, logs what it
deleted, keeps evaluated traces, and survives a failing prune. A real ``genver server`` with
``--retention-older-than`` prunes its database; two replicas on one PostgreSQL database never
delete a trace twice."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from genver.entities import Assessment
from genver.entities.retention import PruneResult, RetentionPolicy
from genver.exceptions import InvalidArgumentError
from genver.server.app import create_app
from genver.server.main import ServerSettings
from genver.server.retention import RetentionSchedule, RetentionWorker
from genver.store.sql.store import SqlStore
from tests.conftest import PgDatabases
from tests.server._processes import ServerProcess, simple_trace

DAY = 86_400_000


def now_ms() -> int:
    return int(time.time() * 1000)


def old_traces(store: SqlStore, n: int, *, model_id: str = "m-" + "0" * 32) -> list[str]:
    traces = [simple_trace("0", model_id, now_ms() - 40 * DAY + i) for i in range(n)]
    store.log_traces(traces)
    return [tr.info.trace_id for tr in traces]


def trace_ids(store: SqlStore) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(sa.text("SELECT trace_id FROM traces")).scalars())


def test_settings_make_a_schedule_and_bad_ones_are_named() -> None:
    assert RetentionSchedule.from_environ({}) is None
    schedule = RetentionSchedule.from_environ(
        {"GENVER_RETENTION_OLDER_THAN": "30d", "GENVER_RETENTION_KEEP_PER_VERSION": "1000"}
    )
    assert schedule == RetentionSchedule(
        policy=RetentionPolicy(older_than_ms=30 * DAY, keep_per_version=1000), interval_s=3600.0
    )
    assert schedule.describe() == "traces older than 30d, except the newest 1000 of each version, every 1h"
    only_keep = RetentionSchedule.from_environ(
        {"GENVER_RETENTION_KEEP_PER_VERSION": "5", "GENVER_RETENTION_INTERVAL": "10m"}
    )
    assert only_keep is not None and only_keep.interval_s == 600 and only_keep.policy.older_than_ms is None
    settings = ServerSettings.from_environ({"GENVER_RETENTION_OLDER_THAN": "12h"})
    assert settings.retention is not None and settings.retention.policy.older_than_ms == 12 * 3_600_000
    for env, message in (
        ({"GENVER_RETENTION_OLDER_THAN": "30 days"}, "Invalid GENVER_RETENTION_OLDER_THAN '30 days'"),
        (
            {"GENVER_RETENTION_OLDER_THAN": "0h"},
            "Invalid GENVER_RETENTION_OLDER_THAN '0h': expected a duration above",
        ),
        ({"GENVER_RETENTION_KEEP_PER_VERSION": "-3"}, "Invalid GENVER_RETENTION_KEEP_PER_VERSION '-3'"),
        (
            {"GENVER_RETENTION_KEEP_PER_VERSION": "1", "GENVER_RETENTION_INTERVAL": "soon"},
            "GENVER_RETENTION_INTERVAL 'soon'",
        ),
    ):
        with pytest.raises(InvalidArgumentError, match=message):
            RetentionSchedule.from_environ(env)


def test_the_app_prunes_in_the_background_and_stops_with_it(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/s.db")
    doomed = old_traces(store, 5)
    kept = old_traces(store, 1)
    run = store.create_run(experiment_id="0", tags={"mlflow.runType": "genai_evaluate"})
    store.log_assessments(
        [
            Assessment(
                assessment_id="a-" + "1" * 32,
                trace_id=kept[0],
                name="ok",
                kind="feedback",
                value=True,
                run_id=run.info.run_id,
            )
        ]
    )
    schedule = RetentionSchedule(policy=RetentionPolicy(older_than_ms=30 * DAY), interval_s=3600)
    app = create_app(store, retention=schedule)
    with caplog.at_level(logging.INFO, logger="genver.server.retention"), TestClient(app) as client:
        worker: RetentionWorker = app.state.retention
        deadline = time.monotonic() + 30
        while not worker.results and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.get("/health").status_code == 200
    assert worker._thread is not None and not worker._thread.is_alive()  # stopped with the app
    assert [r.deleted for r in worker.results] == [5]
    assert trace_ids(store) == set(kept) and not set(doomed) & trace_ids(store)
    assert "retention: deleted 5 trace(s) older than 30d" in caplog.text
    assert "1 evaluated" in caplog.text
    entries = [e for e in store.read_history() if e.kind == "traces_pruned"]
    assert [(e.actor, e.after["deleted"]) for e in entries] == [("genver-retention", 5)]
    store.close()


def test_a_failing_prune_is_logged_and_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    class Broken:
        def prune_traces(self, policy: RetentionPolicy, **kwargs: Any) -> PruneResult:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("database on fire")
            return PruneResult(policy=policy, dry_run=False, cutoff_ms=0)

    schedule = RetentionSchedule(policy=RetentionPolicy(keep_per_version=1), interval_s=0.01)
    worker = RetentionWorker(Broken(), schedule)
    with caplog.at_level(logging.INFO, logger="genver.server.retention"):
        worker.start()
        deadline = time.monotonic() + 30
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        worker.stop()
    assert len(calls) >= 3 and worker.results
    assert (
        "retention: the prune failed; trying again in 10ms" in caplog.text
        and "database on fire" in caplog.text
    )


@pytest.mark.postgres
def test_two_replicas_pruning_one_database_delete_each_trace_once(pg_databases: PgDatabases) -> None:
    uri = pg_databases.create()
    stores = [SqlStore(uri), SqlStore(uri)]
    try:
        doomed = set(old_traces(stores[0], 1200))
        policy = RetentionPolicy(older_than_ms=30 * DAY)
        results: list[PruneResult] = []
        barrier = threading.Barrier(2)

        def prune(store: SqlStore) -> None:
            barrier.wait(30)
            results.append(store.prune_traces(policy, batch_size=100))

        threads = [threading.Thread(target=prune, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert sum(r.deleted for r in results) == len(doomed)
        assert trace_ids(stores[0]) == set()
        assert any(r.deleted == len(doomed) for r in results)  # one pruned; the other skipped or found none
    finally:
        for s in stores:
            s.close()
        pg_databases.drop(uri)


@pytest.mark.slow
def test_genver_server_prunes_its_database(tmp_path: Any) -> None:
    uri = f"sqlite:///{tmp_path}/served.db"
    store = SqlStore(uri)
    old_traces(store, 3)
    recent = simple_trace("0", "m-" + "1" * 32, now_ms())
    store.log_traces([recent])
    server = ServerProcess(uri, args=["--retention-older-than", "30d", "--retention-interval", "1h"]).start()
    try:
        deadline = time.monotonic() + 60
        while trace_ids(store) != {recent.info.trace_id} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert trace_ids(store) == {recent.info.trace_id}
        server.stop()
        output = server.output()
    finally:
        server.close()
    assert "retention: traces older than 30d, every 1h" in output
    assert "retention: deleted 3 trace(s) older than 30d" in output
    store.close()
