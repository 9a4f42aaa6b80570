"""Store contract: versions (LoggedModel) — create, get, find, reuse, finalize, delete, tags, params."""

from __future__ import annotations

import re

import pytest

from genver.entities import LoggedModelStatus, Metric
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.sql.store import SqlStore

from ._helpers import T0, all_counts, clocked, count_rows, ticking_clock

MODEL_ID = re.compile(r"m-[0-9a-f]{32}")
UNKNOWN_ID = "m-" + "0" * 32


def test_create_with_params_and_tags(store: SqlStore) -> None:
    run_id = store.create_run(experiment_id="0").info.run_id
    model = clocked(store).create_logged_model(
        experiment_id="0",
        name="recommendation-engine-v2.1",
        model_type="rag-agent",
        source_run_id=run_id,
        params={"llm_model": "gpt-4", "temperature": "0.7"},
        tags={"team": "ml-platform", "git_commit": "abc123def"},
    )
    assert MODEL_ID.fullmatch(model.model_id)
    assert model.name == "recommendation-engine-v2.1"
    assert model.experiment_id == "0"
    assert model.model_type == "rag-agent"
    assert model.source_run_id == run_id
    assert model.status == LoggedModelStatus.PENDING
    assert model.status_message is None
    assert model.creation_timestamp == model.last_updated_timestamp == T0
    assert model.artifact_location.endswith(f"models/{model.model_id}/artifacts")
    assert model.params == {"llm_model": "gpt-4", "temperature": "0.7"}
    assert model.tags == {"team": "ml-platform", "git_commit": "abc123def"}
    assert model.metrics is None
    again = store.get_logged_model(model.model_id)
    assert again.to_dictionary() == model.to_dictionary()

    unnamed = store.create_logged_model(experiment_id="0")
    assert unnamed.name and unnamed.params == {} and unnamed.tags == {}
    assert unnamed.model_id != model.model_id


@pytest.mark.parametrize("status", list(LoggedModelStatus))
def test_every_status(store: SqlStore, status: LoggedModelStatus) -> None:
    model = store.create_logged_model(experiment_id="0", status=status)
    assert store.get_logged_model(model.model_id).status is status
    other = store.create_logged_model(experiment_id="0")
    assert store.update_logged_model(other.model_id, status=status).status is status  # type: ignore[union-attr]
    hits = store.search_logged_models(experiment_ids=["0"], filter_string=f"status = '{status.value}'")
    assert {m.model_id for m in hits} == {model.model_id, other.model_id}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("READY", LoggedModelStatus.READY),
        ("failed_registration", LoggedModelStatus.FAILED_REGISTRATION),
        ("LOGGED_MODEL_UPLOAD_FAILED", LoggedModelStatus.FAILED),
        (2, LoggedModelStatus.READY),
        (4, LoggedModelStatus.FAILED_REGISTRATION),
    ],
)
def test_status_spellings(store: SqlStore, given: object, expected: LoggedModelStatus) -> None:
    model = store.create_logged_model(experiment_id="0", status=given)  # type: ignore[arg-type]
    assert model.status is expected


@pytest.mark.parametrize("bad", ["DONE", "", 9, True, None, 1.0])
def test_bad_status(store: SqlStore, bad: object) -> None:
    model = store.create_logged_model(experiment_id="0")
    before = all_counts(store)
    with pytest.raises(InvalidArgumentError, match=re.escape(repr(bad))):
        store.create_logged_model(experiment_id="0", status=bad)  # type: ignore[arg-type]
    if bad is not None:  # None means "leave the status alone" in update
        with pytest.raises(InvalidArgumentError, match=re.escape(repr(bad))):
            store.update_logged_model(model.model_id, status=bad)  # type: ignore[arg-type]
    assert all_counts(store) == before


def test_get_unknown_or_deleted(store: SqlStore) -> None:
    with pytest.raises(NotFoundError, match=UNKNOWN_ID) as info:
        store.get_logged_model(UNKNOWN_ID)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    model = store.create_logged_model(experiment_id="0", name="v1", tags={"k": "v"})
    assert store.update_logged_model(model.model_id, deleted=True) is None
    with pytest.raises(NotFoundError, match=model.model_id) as info:
        store.get_logged_model(model.model_id)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert store.search_logged_models(experiment_ids=["0"]) == []
    assert store.search_logged_models(experiment_ids=["0"], filter_string="name = 'v1'") == []
    assert store.find_logged_model(experiment_id="0", name="v1") is None
    for call in (
        lambda: store.set_logged_model_tags(model.model_id, {"a": "b"}),
        lambda: store.delete_logged_model_tag(model.model_id, "k"),
        lambda: store.log_logged_model_params(model.model_id, {"a": "b"}),
        lambda: store.update_logged_model(model.model_id, status=LoggedModelStatus.READY),
        lambda: store.update_logged_model(model.model_id, deleted=True),
        lambda: store.log_batch(None, metrics=[Metric("m", 1.0, T0, 0, model_id=model.model_id)]),
    ):
        with pytest.raises(NotFoundError, match=model.model_id):
            call()
    # The row is kept (soft delete).
    assert count_rows(store, "logged_models") == 1


def test_active_model_ids_answers_for_many_ids_at_once(store: SqlStore) -> None:
    """One question for a batch of links (the OTLP ingest's): unknown and deleted ids are left
    out, repeats and an empty list are fine, and the answer matches ``get_logged_model``'s."""
    kept = [store.create_logged_model(experiment_id="0", name=f"v{i}").model_id for i in range(3)]
    gone = store.create_logged_model(experiment_id="0", name="gone").model_id
    store.update_logged_model(gone, deleted=True)
    asked = [*kept, gone, UNKNOWN_ID, kept[0]]
    assert store.active_model_ids(asked) == set(kept)
    assert store.active_model_ids([]) == set()
    many = [f"m-{i:032x}" for i in range(1200)] + [kept[1]]  # past one statement's chunk
    assert store.active_model_ids(many) == {kept[1]}
    assert store.active_model_ids(["not an id"]) == set()  # as get_logged_model: not found
    for bad in ([""], [None], kept[0]):
        with pytest.raises(InvalidArgumentError, match=re.escape(repr(bad if bad == kept[0] else bad[0]))):
            store.active_model_ids(bad)  # type: ignore[arg-type]


def test_find_logged_model_returns_the_latest_by_name(store: SqlStore) -> None:
    s = clocked(store)
    exp = s.create_experiment("other")
    first = s.create_logged_model(experiment_id="0", name="agent-v1.0")
    second = s.create_logged_model(experiment_id="0", name="agent-v1.0")
    s.create_logged_model(experiment_id="0", name="agent-v1.1")
    elsewhere = s.create_logged_model(experiment_id=exp, name="agent-v1.0")
    found = store.find_logged_model(experiment_id="0", name="agent-v1.0")
    assert found is not None and found.model_id == second.model_id
    assert found.params == {} and found.tags == {}
    found = store.find_logged_model(experiment_id=exp, name="agent-v1.0")
    assert found is not None and found.model_id == elsewhere.model_id
    assert store.find_logged_model(experiment_id="0", name="AGENT-v1.0") is None
    assert store.find_logged_model(experiment_id="0", name="agent-v1") is None
    assert store.find_logged_model(experiment_id="12345", name="agent-v1.0") is None
    store.update_logged_model(second.model_id, deleted=True)
    found = store.find_logged_model(experiment_id="0", name="agent-v1.0")
    assert found is not None and found.model_id == first.model_id


def test_find_breaks_timestamp_ties_like_search(store: SqlStore) -> None:
    s = clocked(store, ticking_clock(step=0))  # every version in the same millisecond
    ids = [s.create_logged_model(experiment_id="0", name="same").model_id for _ in range(5)]
    found = store.find_logged_model(experiment_id="0", name="same")
    first = store.search_logged_models(experiment_ids=["0"], filter_string="name = 'same'", max_results=1)
    assert found is not None and found.model_id == first[0].model_id == min(ids)


def test_reuse_latest_by_name(store: SqlStore) -> None:
    s = clocked(store)
    created = s.create_logged_model(experiment_id="0", name="v1", reuse_latest_by_name=True)
    assert count_rows(store, "logged_models") == 1
    latest = s.create_logged_model(experiment_id="0", name="v1")  # without the flag: a new version
    assert latest.model_id != created.model_id
    reused = s.create_logged_model(experiment_id="0", name="v1", params={"x": "1"}, reuse_latest_by_name=True)
    assert reused.model_id == latest.model_id
    assert reused.params == {}  # the existing version is returned untouched
    assert count_rows(store, "logged_models") == 2
    exp = s.create_experiment("e2")
    assert s.create_logged_model(experiment_id=exp, name="v1", reuse_latest_by_name=True).model_id not in {
        created.model_id,
        latest.model_id,
    }
    s.update_logged_model(latest.model_id, deleted=True)
    assert (
        s.create_logged_model(experiment_id="0", name="v1", reuse_latest_by_name=True).model_id
        == created.model_id
    )


def test_update_and_finalize(store: SqlStore) -> None:
    s = clocked(store)
    model = s.create_logged_model(experiment_id="0", name="v1")
    ready = s.update_logged_model(model.model_id, status=LoggedModelStatus.READY)
    assert ready is not None and ready.status == "READY"
    assert ready.last_updated_timestamp > ready.creation_timestamp == model.creation_timestamp
    failed = s.update_logged_model(model.model_id, status="FAILED", status_message="upload broke")
    assert failed is not None
    assert (failed.status, failed.status_message) == (LoggedModelStatus.FAILED, "upload broke")
    back = s.update_logged_model(model.model_id, status="READY")  # transitions are not checked
    assert back is not None and back.status is LoggedModelStatus.READY
    assert back.status_message == "upload broke"
    with pytest.raises(NotFoundError, match=UNKNOWN_ID):
        s.update_logged_model(UNKNOWN_ID, status="READY")
    with pytest.raises(InvalidArgumentError, match="42"):
        s.update_logged_model(model.model_id, status_message=42)  # type: ignore[arg-type]


def test_set_and_delete_tags(store: SqlStore) -> None:
    model = store.create_logged_model(experiment_id="0", tags={"env": "dev", "team": "ml"})
    store.set_logged_model_tags(model.model_id, {"env": "prod", "mlflow.source.git.commit": "abc"})
    assert store.get_logged_model(model.model_id).tags == {
        "env": "prod",
        "team": "ml",
        "mlflow.source.git.commit": "abc",
    }
    store.set_logged_model_tags(model.model_id, {"n": 7})  # type: ignore[dict-item]  # stringified
    assert store.get_logged_model(model.model_id).tags["n"] == "7"
    store.delete_logged_model_tag(model.model_id, "team")
    assert "team" not in store.get_logged_model(model.model_id).tags
    with pytest.raises(NotFoundError, match=f"'team'.*'{model.model_id}'") as info:
        store.delete_logged_model_tag(model.model_id, "team")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(NotFoundError, match=UNKNOWN_ID):
        store.delete_logged_model_tag(UNKNOWN_ID, "env")
    with pytest.raises(NotFoundError, match=UNKNOWN_ID):
        store.set_logged_model_tags(UNKNOWN_ID, {"env": "x"})


def test_log_params_write_once(store: SqlStore) -> None:
    model = store.create_logged_model(experiment_id="0", params={"llm": "gpt-4"})
    store.log_logged_model_params(model.model_id, {"llm": "gpt-4"})  # same value: fine
    store.log_logged_model_params(model.model_id, {"temperature": "0.7"})
    store.log_logged_model_params(model.model_id, {})
    before = all_counts(store)
    with pytest.raises(InvalidArgumentError, match=r"'llm' is 'gpt-4', not 'gpt-5'") as info:
        store.log_logged_model_params(model.model_id, {"new": "1", "llm": "gpt-5"})
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert all_counts(store) == before  # "new" was not written either
    assert store.get_logged_model(model.model_id).params == {"llm": "gpt-4", "temperature": "0.7"}
    with pytest.raises(NotFoundError, match=UNKNOWN_ID):
        store.log_logged_model_params(UNKNOWN_ID, {"a": "b"})
    with pytest.raises(InvalidArgumentError, match="temperature.*0.9.*float"):
        store.log_logged_model_params(model.model_id, {"temperature": 0.9})  # type: ignore[dict-item]


def test_model_metrics_keep_every_row(store: SqlStore) -> None:
    run_id = store.create_run(experiment_id="0").info.run_id
    model_id = store.create_logged_model(experiment_id="0").model_id
    store.log_batch(
        run_id,
        metrics=[
            Metric("acc", 0.5, T0, 0, model_id=model_id, dataset_name="eval", dataset_digest="d1"),
            Metric("acc", 0.7, T0 + 1, 1, model_id=model_id, dataset_name="eval", dataset_digest="d1"),
            Metric("acc", 0.6, T0 + 2, 0, model_id=model_id, dataset_name="train", dataset_digest="t1"),
        ],
    )
    metrics = store.get_logged_model(model_id).metrics
    assert metrics is not None
    assert [(m.value, m.dataset_name, m.run_id) for m in metrics] == [
        (0.5, "eval", run_id),
        (0.7, "eval", run_id),
        (0.6, "train", run_id),
    ]
    # The run keeps only its latest value per key (highest step, then timestamp).
    assert store.get_run(run_id).data.metrics == {"acc": 0.7}
