"""Store contract: every change to a version appends a history entry (who, when, before and
after) to one hash chain, in the change's own transaction; nothing is recorded for a change that
changes nothing or fails; an alias's moves answer "which version held it at t"."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from genver.client import GenverClient
from genver.client.audit import verify_chain
from genver.entities import LoggedModelStatus, Metric
from genver.entities import history as h
from genver.entities.history import GENESIS_HASH, HistoryHead
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.actor import acting_as
from genver.store.sql.store import SqlStore

from ._helpers import T0, all_counts, clocked, ticking_clock

UNKNOWN_ID = "m-" + "0" * 32


def _history(store: SqlStore, model_id: str) -> list[h.HistoryEntry]:
    return list(store.get_logged_model_history(model_id))


def _chain(store: SqlStore) -> list[h.HistoryEntry]:
    return store.read_history(after_seq=0, max_results=10_000)


def test_every_kind_of_change_is_recorded_with_before_and_after(store: SqlStore) -> None:
    with acting_as("ana"):
        model = store.create_logged_model(
            experiment_id="0", name="agent-v1", params={"llm": "gpt-4"}, tags={"env": "dev"}
        )
        mid = model.model_id
        store.update_logged_model(mid, status=LoggedModelStatus.READY)
        store.log_logged_model_params(mid, {"temperature": "0.2", "llm": "gpt-4"})  # llm: same, no-op
        store.set_logged_model_tags(mid, {"env": "prod", "team": "ml"})
        store.delete_logged_model_tag(mid, "team")
        store.log_batch(
            None, metrics=[Metric("acc", 0.9, T0, 3, model_id=mid), Metric("f1", 0.5, T0, 3, model_id=mid)]
        )
        store.set_logged_model_alias(mid, "production")
    with acting_as("bob"):
        store.update_logged_model(mid, deleted=True)

    entries = _history(store, mid)
    assert [e.kind for e in entries] == [
        h.CREATED,
        h.STATUS_CHANGED,
        h.PARAMS_LOGGED,
        h.TAGS_SET,
        h.TAG_DELETED,
        h.METRICS_LOGGED,
        h.ALIAS_SET,
        h.ALIAS_REMOVED,
        h.DELETED,
    ]
    created, status, params, tags, untag, metrics, alias, unalias, deleted = entries
    assert created.before is None
    assert created.after == {
        "experiment_id": "0",
        "name": "agent-v1",
        "model_type": None,
        "source_run_id": None,
        "status": "PENDING",
        "params": {"llm": "gpt-4"},
        "tags": {"env": "dev"},
    }
    assert (status.before, status.after) == (
        {"status": "PENDING", "status_message": None},
        {"status": "READY", "status_message": None},
    )
    assert (params.before, params.after) == ({"temperature": None}, {"temperature": "0.2"})
    assert (tags.before, tags.after) == ({"env": "dev", "team": None}, {"env": "prod", "team": "ml"})
    assert (untag.before, untag.after) == ({"team": "ml"}, {"team": None})
    assert [(m["key"], m["value"], m["step"], m["timestamp"]) for m in metrics.after] == [
        ("acc", 0.9, 3, T0),
        ("f1", 0.5, 3, T0),
    ]
    assert alias.after == {"alias": "production", "experiment_id": "0", "model_id": mid}
    assert unalias.after == {"alias": "production", "experiment_id": "0", "model_id": None}
    assert (deleted.before, deleted.after) == ({"lifecycle_stage": "active"}, {"lifecycle_stage": "deleted"})
    assert {e.actor for e in entries[:-2]} == {"ana"} and {e.actor for e in entries[-2:]} == {"bob"}
    assert all(e.model_id == mid for e in entries)
    seqs = [e.seq for e in entries]
    assert seqs == sorted(seqs) and [e.time for e in entries] == sorted(e.time for e in entries)
    assert verify_chain(_chain(store)).ok


def test_a_change_that_changes_nothing_records_nothing(store: SqlStore) -> None:
    model = store.create_logged_model(
        experiment_id="0",
        name="agent",
        params={"llm": "x"},
        tags={"env": "dev"},
        status=LoggedModelStatus.READY,
    )
    head = store.history_head()
    store.set_logged_model_tags(model.model_id, {"env": "dev"})
    store.log_logged_model_params(model.model_id, {"llm": "x"})
    store.update_logged_model(model.model_id, status=LoggedModelStatus.READY)
    store.create_logged_model(experiment_id="0", name="agent", reuse_latest_by_name=True)  # reused
    assert store.history_head() == head


def test_a_change_that_fails_records_nothing(store: SqlStore) -> None:
    model = store.create_logged_model(experiment_id="0", name="agent", params={"llm": "x"})
    counts = all_counts(store)
    with pytest.raises(InvalidArgumentError, match="write-once"):
        store.log_logged_model_params(model.model_id, {"llm": "y", "new": "1"})
    with pytest.raises(NotFoundError):
        store.delete_logged_model_tag(model.model_id, "nope")
    with pytest.raises(NotFoundError):
        store.log_batch(None, metrics=[Metric("acc", 1.0, T0, 0, model_id=UNKNOWN_ID)])
    with pytest.raises(InvalidArgumentError):
        store.set_logged_model_tags(model.model_id, {"bad\x00key": "v"})
    assert all_counts(store) == counts


def test_metric_entries_hold_values_json_can_carry(store: SqlStore) -> None:
    model = store.create_logged_model(experiment_id="0", name="agent")
    run_id = store.create_run(experiment_id="0").info.run_id
    store.log_batch(
        run_id,
        metrics=[
            Metric(
                "nan", math.nan, T0, 0, model_id=model.model_id, dataset_name="golden", dataset_digest="abc"
            ),
            Metric("inf", -math.inf, T0, 0, model_id=model.model_id),
        ],
    )
    (entry,) = [e for e in _history(store, model.model_id) if e.kind == h.METRICS_LOGGED]
    assert entry.after == [
        {
            "key": "nan",
            "value": "NaN",
            "step": 0,
            "timestamp": T0,
            "run_id": run_id,
            "dataset_name": "golden",
            "dataset_digest": "abc",
        },
        {"key": "inf", "value": "-Infinity", "step": 0, "timestamp": T0, "run_id": run_id},
    ]
    assert entry.computed_hash() == entry.hash
    store.log_batch(run_id, metrics=[Metric("acc", 1.0, T0, 0)])  # a run-only metric: no version changed
    assert [e.kind for e in _history(store, model.model_id)].count(h.METRICS_LOGGED) == 1


def test_two_versions_in_one_batch_get_one_entry_each(store: SqlStore) -> None:
    a = store.create_logged_model(experiment_id="0", name="a")
    b = store.create_logged_model(experiment_id="0", name="b")
    store.log_batch(
        None,
        metrics=[
            Metric("acc", 1.0, T0, 0, model_id=a.model_id),
            Metric("acc", 0.5, T0, 0, model_id=b.model_id),
        ],
    )
    assert [len(e.after) for e in _chain(store) if e.kind == h.METRICS_LOGGED] == [1, 1]


def test_history_is_paged_kept_for_deleted_versions_and_unknown_ids_are_not_found(store: SqlStore) -> None:
    model = store.create_logged_model(experiment_id="0", name="agent")
    for i in range(4):
        store.set_logged_model_tags(model.model_id, {"n": str(i)})
    store.update_logged_model(model.model_id, deleted=True)
    first = store.get_logged_model_history(model.model_id, max_results=2)
    assert len(first) == 2 and first.token
    rest = store.get_logged_model_history(model.model_id, max_results=10, page_token=first.token)
    assert [e.kind for e in [*first, *rest]] == [h.CREATED, *[h.TAGS_SET] * 4, h.DELETED]
    assert rest.token is None
    with pytest.raises(NotFoundError, match=UNKNOWN_ID):
        store.get_logged_model_history(UNKNOWN_ID)
    with pytest.raises(InvalidArgumentError, match="page token"):
        store.get_logged_model_history(model.model_id, page_token="nope")


def test_the_chain_links_every_entry_and_its_head_is_the_last(store: SqlStore) -> None:
    assert store.history_head() == HistoryHead(0, GENESIS_HASH)
    assert store.read_history() == []
    for i in range(5):
        store.create_logged_model(experiment_id="0", name=f"v{i}")
    chain = _chain(store)
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(chain, chain[1:], strict=False))
    assert store.history_head() == HistoryHead(5, chain[-1].hash)
    assert [e.seq for e in store.read_history(after_seq=2, max_results=2)] == [3, 4]
    report = verify_chain(chain, store.history_head())
    assert report.ok and report.checked == 5
    with pytest.raises(InvalidArgumentError, match="after_seq"):
        store.read_history(after_seq=-1)


def test_entry_times_follow_the_store_clock_and_never_go_back(store: SqlStore) -> None:
    ahead = clocked(store, ticking_clock(T0 + 10_000_000, 1000))
    ahead.create_logged_model(experiment_id="0", name="from-a-clock-ahead")
    behind = clocked(store, ticking_clock(T0, 1000))  # a replica whose clock is behind
    behind.create_logged_model(experiment_id="0", name="from-a-clock-behind")
    first, second = _chain(store)
    assert first.time == T0 + 10_000_000
    assert second.time == first.time  # never earlier than the entry before


def test_the_local_user_is_the_default_actor(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENVER_USER", "ci-runner")
    clocked(store).create_logged_model(experiment_id="0", name="agent")  # a store opened now
    assert _chain(store)[-1].actor == "ci-runner"


def test_which_version_held_an_alias_moved_twice_at_three_instants(store: SqlStore) -> None:
    timed = clocked(store, ticking_clock(T0, 60_000))  # a minute per clock reading
    client = GenverClient(store=timed)
    v1, v2, v3 = (timed.create_logged_model(experiment_id="0", name=f"agent-v{i}") for i in (1, 2, 3))
    timed.set_logged_model_alias(v1.model_id, "production")
    timed.set_logged_model_alias(v2.model_id, "production")  # moved once
    timed.set_logged_model_alias(v3.model_id, "production")  # and again
    moves = client.get_alias_history("0", "production")
    assert [(e.kind, e.model_id) for e in moves] == [
        (h.ALIAS_SET, v1.model_id),
        (h.ALIAS_REMOVED, v1.model_id),
        (h.ALIAS_SET, v2.model_id),
        (h.ALIAS_REMOVED, v2.model_id),
        (h.ALIAS_SET, v3.model_id),
    ]
    t1, t2, t3 = moves[0].time, moves[2].time, moves[4].time
    assert t1 < t2 < t3
    assert client.get_alias_holder_at("0", "production", t1 - 1).model_id is None  # before it existed
    for instant, expected in [
        (t1, v1),
        (t2 - 1, v1),
        (t2, v2),
        ((t2 + t3) // 2, v2),
        (t3, v3),
        (t3 + 10**9, v3),
    ]:
        held = client.get_alias_holder_at("0", "@production", instant)
        assert held.model_id == expected.model_id, instant
        assert held.since is not None and held.since.time <= instant
    iso = dt.datetime.fromtimestamp((t2 + 30_000) / 1000, dt.timezone.utc)
    assert (
        client.get_alias_holder_at("0", "production", iso.strftime("%Y-%m-%dT%H:%M:%S.%f")).model_id
        == v2.model_id
    )
    timed.delete_logged_model_alias(experiment_id="0", alias="production")
    assert client.get_alias_holder_at("0", "production", 2**60).model_id is None
    assert client.get_alias_holder_at("0", "production", t3).model_id == v3.model_id


def test_alias_history_reads_only_that_alias_in_that_experiment(store: SqlStore) -> None:
    other = store.create_experiment("other")
    a = store.create_logged_model(experiment_id="0", name="a")
    b = store.create_logged_model(experiment_id=other, name="b")
    store.set_logged_model_alias(a.model_id, "production")
    store.set_logged_model_alias(a.model_id, "canary")
    store.set_logged_model_alias(b.model_id, "production")
    assert [e.model_id for e in store.get_alias_history(experiment_id="0", alias="production")] == [
        a.model_id
    ]
    assert [e.model_id for e in store.get_alias_history(experiment_id=other, alias="production")] == [
        b.model_id
    ]
    assert store.get_alias_history(experiment_id="0", alias="nothing") == []
