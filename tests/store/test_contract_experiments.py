"""Store contract: experiments (create, get, search, rename, delete/restore)."""

from __future__ import annotations

import pytest

from genver.entities import ViewType
from genver.exceptions import AlreadyExistsError, InvalidArgumentError, NotFoundError
from genver.store.sql.store import SqlStore

from ._helpers import clocked


def test_default_experiment_exists(store: SqlStore) -> None:
    exp = store.get_experiment("0")
    assert (exp.experiment_id, exp.name, exp.lifecycle_stage) == ("0", "Default", "active")
    by_name = store.get_experiment_by_name("Default")
    assert by_name is not None and by_name.experiment_id == "0"
    assert [e.experiment_id for e in store.search_experiments()] == ["0"]


def test_create_and_get(store: SqlStore) -> None:
    exp_id = store.create_experiment("agents", tags={"team": "ml"})
    assert isinstance(exp_id, str) and exp_id.isdigit() and exp_id != "0"
    exp = store.get_experiment(exp_id)
    assert exp.name == "agents"
    assert exp.tags == {"team": "ml"}
    assert exp.lifecycle_stage == "active"
    assert exp.artifact_location.endswith(exp_id)
    assert isinstance(exp.creation_time, int) and exp.creation_time == exp.last_update_time
    found = store.get_experiment_by_name("agents")
    assert found is not None and found.experiment_id == exp_id
    assert store.get_experiment_by_name("Agents") is None  # names are case-sensitive
    assert store.get_experiment_by_name("nope") is None
    second = store.create_experiment("agents-2", artifact_location="s3://bucket/x")
    assert store.get_experiment(second).artifact_location == "s3://bucket/x"
    assert int(second) > int(exp_id)


def test_duplicate_name_raises_already_exists(store: SqlStore) -> None:
    exp_id = store.create_experiment("dup")
    with pytest.raises(AlreadyExistsError, match="'dup'") as info:
        store.create_experiment("dup")
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"
    store.update_experiment(exp_id, lifecycle_stage="deleted")
    with pytest.raises(AlreadyExistsError):  # a deleted experiment still owns its name
        store.create_experiment("dup")
    with pytest.raises(AlreadyExistsError):
        store.create_experiment("Default")
    # The failed creates left the store usable and consistent.
    assert store.create_experiment("dup-2") != exp_id


@pytest.mark.parametrize("exp_id", ["12345", "1"])
def test_get_unknown_experiment(store: SqlStore, exp_id: str) -> None:
    with pytest.raises(NotFoundError, match=exp_id) as info:
        store.get_experiment(exp_id)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_filters_order_and_paging(store: SqlStore) -> None:
    s = clocked(store)
    ids = {
        name: s.create_experiment(name, tags=tags)
        for name, tags in [
            ("alpha", {"team": "ml"}),
            ("Alpha-2", {"team": "ML"}),
            ("beta", {"team": "ml", "env": "prod"}),
            ("gamma", {}),
        ]
    }

    def names(**kwargs: object) -> list[str]:
        return [e.name for e in store.search_experiments(**kwargs)]  # type: ignore[arg-type]

    # Default order: newest first, then id.
    assert names() == ["gamma", "beta", "Alpha-2", "alpha", "Default"]
    assert names(filter_string="name LIKE 'alpha%'") == ["alpha"]
    assert names(filter_string="name ILIKE 'alpha%'") == ["Alpha-2", "alpha"]
    assert names(filter_string="tags.team = 'ml'") == ["beta", "alpha"]
    assert names(filter_string="tags.team ILIKE 'ml' AND tags.env = 'prod'") == ["beta"]
    assert names(filter_string="name = 'gamma' OR tags.team = 'ML'") == ["gamma", "Alpha-2"]
    assert names(filter_string=f"experiment_id = '{ids['beta']}'") == ["beta"]
    # (mixed case is left out: its order depends on the PostgreSQL collation)
    lower = "name != 'Alpha-2' AND name != 'Default'"
    assert names(filter_string=lower, order_by=["name ASC"]) == ["alpha", "beta", "gamma"]
    assert names(filter_string=lower, order_by=["name DESC"]) == ["gamma", "beta", "alpha"]
    assert names(order_by=["creation_time ASC"])[-1] == "gamma"

    seen: list[str] = []
    token = None
    while True:
        page = store.search_experiments(max_results=2, page_token=token)
        assert len(page) <= 2
        seen += [e.name for e in page]
        token = page.token
        if token is None:
            break
    assert seen == names()
    with pytest.raises(InvalidArgumentError, match="page token"):
        store.search_experiments(page_token="not-a-token")
    with pytest.raises(InvalidArgumentError):
        store.search_experiments(filter_string="params.x = 'y'")  # experiments have no params


def test_delete_restore_rename(store: SqlStore) -> None:
    exp_id = store.create_experiment("old-name")
    store.update_experiment(exp_id, lifecycle_stage="deleted")
    assert store.get_experiment(exp_id).lifecycle_stage == "deleted"  # still readable by id
    assert exp_id not in [e.experiment_id for e in store.search_experiments()]
    assert [e.experiment_id for e in store.search_experiments(view_type=ViewType.DELETED_ONLY)] == [exp_id]
    assert len(store.search_experiments(view_type=ViewType.ALL)) == 2
    with pytest.raises(InvalidArgumentError, match="deleted"):
        store.create_logged_model(experiment_id=exp_id, name="v1")
    with pytest.raises(InvalidArgumentError, match="deleted"):
        store.create_run(experiment_id=exp_id)

    store.update_experiment(exp_id, lifecycle_stage="active")
    assert store.get_experiment(exp_id).lifecycle_stage == "active"
    store.create_logged_model(experiment_id=exp_id, name="v1")

    store.update_experiment(exp_id, new_name="new-name", tags={"k": "v"})
    assert store.get_experiment_by_name("old-name") is None
    renamed = store.get_experiment_by_name("new-name")
    assert renamed is not None and renamed.experiment_id == exp_id and renamed.tags == {"k": "v"}
    store.update_experiment(exp_id, tags={"k": "v2"})
    assert store.get_experiment(exp_id).tags == {"k": "v2"}

    with pytest.raises(AlreadyExistsError, match="Default"):
        store.update_experiment(exp_id, new_name="Default")
    assert store.get_experiment(exp_id).name == "new-name"
    with pytest.raises(InvalidArgumentError, match="Default"):
        store.update_experiment("0", lifecycle_stage="deleted")
    with pytest.raises(InvalidArgumentError, match="'archived'"):
        store.update_experiment(exp_id, lifecycle_stage="archived")
    with pytest.raises(NotFoundError, match="'999'"):
        store.update_experiment("999", new_name="x")
