"""Store contract: aliases on versions — unique in an experiment, moved atomically, shown on the
version (``LoggedModel.aliases``) and in searches, refused by value when malformed."""

from __future__ import annotations

import pytest

from genver.entities import history as h
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.sql.store import SqlStore

from ._helpers import all_counts

UNKNOWN_ID = "m-" + "0" * 32


def _history(store: SqlStore, model_id: str) -> list[h.HistoryEntry]:
    return list(store.get_logged_model_history(model_id))


def test_an_alias_points_at_one_version_and_shows_on_it(store: SqlStore) -> None:
    v1 = store.create_logged_model(experiment_id="0", name="agent-v1")
    assert v1.aliases == []
    store.set_logged_model_alias(v1.model_id, "production")
    store.set_logged_model_alias(v1.model_id, "@stable")  # the "@" is optional

    found = store.get_logged_model_by_alias(experiment_id="0", alias="production")
    assert found.model_id == v1.model_id and found.aliases == ["production", "stable"]
    assert store.get_logged_model_by_alias(experiment_id="0", alias="@stable").model_id == v1.model_id
    assert store.get_logged_model(v1.model_id).aliases == ["production", "stable"]
    found_by_name = store.find_logged_model(experiment_id="0", name="agent-v1")
    assert found_by_name is not None and found_by_name.aliases == ["production", "stable"]
    (listed,) = store.search_logged_models(experiment_ids=["0"])
    assert listed.aliases == ["production", "stable"]
    assert [(a.alias, a.model_id) for a in store.get_logged_model_aliases(experiment_id="0")] == [
        ("production", v1.model_id),
        ("stable", v1.model_id),
    ]


def test_moving_an_alias_takes_it_off_the_version_that_had_it(store: SqlStore) -> None:
    v1 = store.create_logged_model(experiment_id="0", name="agent-v1")
    v2 = store.create_logged_model(experiment_id="0", name="agent-v2")
    store.set_logged_model_alias(v1.model_id, "production")
    store.set_logged_model_alias(v2.model_id, "production")

    assert store.get_logged_model_by_alias(experiment_id="0", alias="production").model_id == v2.model_id
    assert store.get_logged_model(v1.model_id).aliases == []
    assert store.get_logged_model(v2.model_id).aliases == ["production"]
    page = {m.model_id: m.aliases for m in store.search_logged_models(experiment_ids=["0"])}
    assert page == {v1.model_id: [], v2.model_id: ["production"]}
    (alias,) = store.get_logged_model_aliases(experiment_id="0")
    assert alias.model_id == v2.model_id and alias.set_by

    off, on = _history(store, v1.model_id)[-1], _history(store, v2.model_id)[-1]
    move = {"alias": "production", "experiment_id": "0"}
    assert (off.kind, off.before, off.after) == (
        h.ALIAS_REMOVED,
        {**move, "model_id": v1.model_id},
        {**move, "model_id": v2.model_id},
    )
    assert (on.kind, on.before, on.after) == (h.ALIAS_SET, off.before, off.after)
    assert on.seq == off.seq + 1 and on.time == off.time


def test_setting_an_alias_where_it_is_changes_nothing(store: SqlStore) -> None:
    v1 = store.create_logged_model(experiment_id="0", name="agent-v1")
    store.set_logged_model_alias(v1.model_id, "production")
    head = store.history_head()
    store.set_logged_model_alias(v1.model_id, "@production")
    assert store.history_head() == head


def test_aliases_are_unique_per_experiment_not_per_store(store: SqlStore) -> None:
    other = store.create_experiment("other")
    a = store.create_logged_model(experiment_id="0", name="agent")
    b = store.create_logged_model(experiment_id=other, name="agent")
    store.set_logged_model_alias(a.model_id, "production")
    store.set_logged_model_alias(b.model_id, "production")
    assert store.get_logged_model_by_alias(experiment_id="0", alias="production").model_id == a.model_id
    assert store.get_logged_model_by_alias(experiment_id=other, alias="production").model_id == b.model_id
    assert store.get_logged_model(a.model_id).aliases == ["production"]


def test_deleting_an_alias(store: SqlStore) -> None:
    v1 = store.create_logged_model(experiment_id="0", name="agent-v1")
    store.set_logged_model_alias(v1.model_id, "canary")
    store.delete_logged_model_alias(experiment_id="0", alias="@canary")
    with pytest.raises(NotFoundError, match=r"'@canary'.*experiment '0'"):
        store.get_logged_model_by_alias(experiment_id="0", alias="canary")
    assert store.get_logged_model(v1.model_id).aliases == []
    last = _history(store, v1.model_id)[-1]
    assert (last.kind, last.after["model_id"]) == (h.ALIAS_REMOVED, None)
    counts = all_counts(store)
    with pytest.raises(NotFoundError, match=r"'@canary'"):
        store.delete_logged_model_alias(experiment_id="0", alias="canary")
    assert all_counts(store) == counts


def test_deleting_a_version_removes_its_aliases_and_records_it(store: SqlStore) -> None:
    v1 = store.create_logged_model(experiment_id="0", name="agent-v1")
    store.set_logged_model_alias(v1.model_id, "production")
    store.set_logged_model_alias(v1.model_id, "beta")
    store.update_logged_model(v1.model_id, deleted=True)
    with pytest.raises(NotFoundError, match="'@production'"):
        store.get_logged_model_by_alias(experiment_id="0", alias="production")
    assert store.get_logged_model_aliases(experiment_id="0") == []
    kinds = [(e.kind, e.alias) for e in _history(store, v1.model_id)[-3:]]
    assert kinds == [(h.ALIAS_REMOVED, "beta"), (h.ALIAS_REMOVED, "production"), (h.DELETED, None)]
    v2 = store.create_logged_model(experiment_id="0", name="agent-v2")
    store.set_logged_model_alias(v2.model_id, "production")  # free again
    assert store.get_logged_model_by_alias(experiment_id="0", alias="production").model_id == v2.model_id


def test_an_alias_on_a_missing_or_deleted_version_is_not_found_and_writes_nothing(store: SqlStore) -> None:
    gone = store.create_logged_model(experiment_id="0", name="gone")
    store.update_logged_model(gone.model_id, deleted=True)
    counts = all_counts(store)
    for model_id in (UNKNOWN_ID, gone.model_id):
        with pytest.raises(NotFoundError, match=model_id):
            store.set_logged_model_alias(model_id, "production")
    assert all_counts(store) == counts


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("", "ASCII letters"),
        ("@", "ASCII letters"),
        ("pro duction", "ASCII letters"),
        ("-canary", "starting"),
        ("prod/eu", "ASCII letters"),
        ("produçtion", "ASCII letters"),
        ("x" * 256, "at most 255"),
        ("latest", "reserved"),
        ("@Latest", "reserved"),
        (42, "expected a string"),
        (None, "expected a string"),
    ],
)
def test_a_malformed_alias_is_refused_by_value_and_writes_nothing(
    store: SqlStore, bad: object, why: str
) -> None:
    v1 = store.create_logged_model(experiment_id="0", name="agent-v1")
    counts = all_counts(store)
    with pytest.raises(InvalidArgumentError, match=why) as raised:
        store.set_logged_model_alias(v1.model_id, bad)  # type: ignore[arg-type]
    assert repr(bad)[:30] in raised.value.message or "..." in raised.value.message
    with pytest.raises(InvalidArgumentError, match=why):
        store.get_logged_model_by_alias(experiment_id="0", alias=bad)  # type: ignore[arg-type]
    assert all_counts(store) == counts


def test_an_unknown_alias_names_it_and_its_experiment(store: SqlStore) -> None:
    with pytest.raises(NotFoundError, match=r"No version has alias '@production' in experiment '0'"):
        store.get_logged_model_by_alias(experiment_id="0", alias="production")
    with pytest.raises(NotFoundError):
        store.get_logged_model_by_alias(experiment_id="12345", alias="production")
    assert store.get_logged_model_aliases(experiment_id="0") == []
