"""Concurrent writers of the history chain, each with its own store (own connections), as server
replicas are: the chain never forks, every change has its entry, and the moves of one alias form
one sequence in which each move starts where the previous one ended."""

from __future__ import annotations

import threading

import pytest

from genver.client import GenverClient
from genver.entities import Metric
from genver.entities import history as h
from genver.store.base import Store
from genver.store.sql.store import SqlStore

from ._helpers import T0

pytestmark = pytest.mark.slow
WORKERS = 6
ROUNDS = 12


def assert_one_consistent_history(store: Store, experiment_id: str, alias: str) -> list[h.HistoryEntry]:
    """The chain verifies, and ``alias``'s moves chain: each ``before`` is the previous ``after``,
    and the last one names the version the alias points to now. Returns the moves."""
    client = GenverClient(store=store)
    report = client.verify_history()
    assert report.ok, report.problem
    moves = client.get_alias_history(experiment_id, alias)
    sets = [e for e in moves if e.kind == h.ALIAS_SET]
    holder = None
    for entry in sets:
        assert entry.before["model_id"] == holder, (entry.seq, entry.before, holder)
        holder = entry.after["model_id"]
    for off in (e for e in moves if e.kind == h.ALIAS_REMOVED):  # each removal is followed by its set
        following = next(e for e in moves if e.seq == off.seq + 1)
        assert (following.kind, following.before, following.after) == (h.ALIAS_SET, off.before, off.after)
    assert client.get_logged_model_by_alias(experiment_id, alias).model_id == holder
    assert [e.time for e in moves] == sorted(e.time for e in moves)
    return moves


def test_writers_with_their_own_stores_keep_one_chain(db_uri: str) -> None:
    setup = SqlStore(db_uri)
    versions = [setup.create_logged_model(experiment_id="0", name=f"v{i}").model_id for i in range(WORKERS)]
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        store = SqlStore(db_uri, upgrade=False)
        try:
            barrier.wait(60)
            mine = versions[worker]
            for i in range(ROUNDS):
                store.set_logged_model_alias(versions[(worker + i) % WORKERS], "production")
                store.set_logged_model_tags(mine, {"round": str(i)})
                store.log_batch(None, metrics=[Metric("acc", i / ROUNDS, T0 + i, i, model_id=mine)])
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    try:
        assert errors == []
        moves = assert_one_consistent_history(setup, "0", "production")
        assert len([e for e in moves if e.kind == h.ALIAS_SET]) >= WORKERS  # many moves, none lost
        chain = setup.read_history(max_results=10_000)
        assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
        per_kind = {k: sum(e.kind == k for e in chain) for k in (h.TAGS_SET, h.METRICS_LOGGED, h.CREATED)}
        assert per_kind == {
            h.TAGS_SET: WORKERS * ROUNDS,
            h.METRICS_LOGGED: WORKERS * ROUNDS,
            h.CREATED: WORKERS,
        }
    finally:
        setup.close()


def test_a_store_whose_remembered_head_is_stale_still_links_to_the_real_one(db_uri: str) -> None:
    a, b = SqlStore(db_uri), SqlStore(db_uri, upgrade=False)
    try:
        model = a.create_logged_model(experiment_id="0", name="agent").model_id  # a remembers entry 1
        b.set_logged_model_tags(model, {"by": "b"})  # entry 2, behind a's back
        a.set_logged_model_tags(model, {"by": "a"})  # a's head is stale: it re-reads, writes 3
        b.set_logged_model_tags(model, {"by": "b2"})
        chain = a.read_history()
        assert [e.seq for e in chain] == [1, 2, 3, 4]
        assert GenverClient(store=a).verify_history().ok
    finally:
        a.close()
        b.close()


def test_a_rolled_back_append_is_not_remembered(db_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from genver.store.sql import history_rows

    store = SqlStore(db_uri)
    try:
        model = store.create_logged_model(experiment_id="0", name="agent").model_id
        real = history_rows.append

        def append_then_fail(*args: object, **kwargs: object) -> object:
            real(*args, **kwargs)  # type: ignore[arg-type]
            raise RuntimeError("the transaction fails after the entry was written")

        monkeypatch.setattr(history_rows, "append", append_then_fail)
        with pytest.raises(RuntimeError):
            store.set_logged_model_tags(model, {"env": "prod"})
        monkeypatch.setattr(history_rows, "append", real)
        assert store.get_logged_model(model).tags == {}  # the change and its entry rolled back together
        store.set_logged_model_tags(model, {"env": "dev"})
        assert [e.seq for e in store.read_history()] == [1, 2]
        assert GenverClient(store=store).verify_history().ok
    finally:
        store.close()


def test_a_lone_sqlite_writer_appends_in_one_statement_and_falls_back_when_overtaken(
    tmp_path: object,
) -> None:
    """The hot path: after its first entry, a store appends after the head it remembers with one
    conditional INSERT, reading the head only when another writer got there first."""
    import sqlalchemy as sa

    uri = f"sqlite:///{tmp_path}/chain.db"
    store, other = SqlStore(uri), SqlStore(uri, upgrade=False)
    statements: list[str] = []
    sa.event.listen(store._engine, "connect", lambda dbapi, _rec: dbapi.set_trace_callback(statements.append))
    store._engine.dispose()  # new connections, traced
    try:
        a = store.create_logged_model(experiment_id="0", name="a").model_id
        b = store.create_logged_model(experiment_id="0", name="b").model_id
        statements.clear()
        store.log_batch(
            None, metrics=[Metric("acc", 1.0, T0, 0, model_id=a), Metric("acc", 1.0, T0, 0, model_id=b)]
        )
        history = [s for s in statements if "model_history" in s]
        assert [s.split(" (")[0] for s in history] == [
            "INSERT OR IGNORE INTO model_history",
            "INSERT INTO model_history",
        ]
        other.set_logged_model_tags(a, {"by": "other"})  # overtaken: the remembered head is stale
        statements.clear()
        store.set_logged_model_tags(b, {"by": "store"})
        history = [s for s in statements if "model_history" in s]
        assert len(history) == 3 and history[1].startswith("SELECT seq, entry_hash")
        assert [e.seq for e in store.read_history()] == [1, 2, 3, 4, 5, 6]
        assert GenverClient(store=store).verify_history().ok
    finally:
        store.close()
        other.close()
