"""Reading versions back: one statement for a version (get, find), two for a page of them; what
``create_logged_model`` returns is what the store then holds."""

from __future__ import annotations

import pytest

from genver.entities import LoggedModelStatus, Metric
from genver.exceptions import NotFoundError
from genver.store.sql.store import SqlStore

from ._helpers import T0, clocked


def test_create_returns_what_get_reads(store: SqlStore) -> None:
    run_id = store.create_run(experiment_id="0").info.run_id
    for kwargs in (
        {},
        {"name": "full", "model_type": "agent", "source_run_id": run_id, "status": LoggedModelStatus.READY},
        {"params": {"a": "1", "ü": "ß", "empty": ""}, "tags": {"t": "x" * 8000, "quote": 'it\'s "q"'}},
    ):
        made = store.create_logged_model(experiment_id="0", **kwargs)  # type: ignore[arg-type]
        assert store.get_logged_model(made.model_id) == made
        assert made.metrics is None


def test_reusing_the_latest_by_name_returns_it_with_its_metrics(store: SqlStore) -> None:
    first = store.create_logged_model(experiment_id="0", name="agent", params={"llm": "gpt-4"})
    store.log_batch(None, metrics=[Metric("acc", 0.5, T0, 0, model_id=first.model_id)])
    reused = store.create_logged_model(experiment_id="0", name="agent", reuse_latest_by_name=True)
    assert reused == store.get_logged_model(first.model_id)
    assert reused.metrics is not None and [m.value for m in reused.metrics] == [0.5]
    found = store.find_logged_model(experiment_id="0", name="agent")
    assert found == reused


def test_a_page_carries_each_version_s_own_params_tags_and_metrics(store: SqlStore) -> None:
    s = clocked(store)
    made = []
    for i in range(12):
        params = {f"p{j}": str(i * j) for j in range(i % 4)}
        tags = {"i": str(i)} if i % 3 else {}
        made.append(s.create_logged_model(experiment_id="0", name=f"v{i}", params=params, tags=tags))
    for m in made[::5]:
        s.log_batch(
            None,
            metrics=[
                Metric("acc", 0.1, T0, 1, model_id=m.model_id),
                Metric("acc", 0.2, T0, 0, model_id=m.model_id),
            ],
        )
    expected = {m.model_id: store.get_logged_model(m.model_id) for m in made}
    token = None
    seen = []
    while True:
        page = store.search_logged_models(experiment_ids=["0"], max_results=5, page_token=token)
        for m in page:
            assert m == expected[m.model_id]
            seen.append(m.name)
        token = page.token
        if not token:
            break
    assert seen == [f"v{i}" for i in reversed(range(12))]
    with_metrics = [m for m in expected.values() if m.metrics]
    assert len(with_metrics) == 3
    assert all([x.step for x in m.metrics or []] == [0, 1] for m in with_metrics)  # by key, time, step


def test_a_deleted_version_is_not_read(store: SqlStore) -> None:
    model = store.create_logged_model(experiment_id="0", name="gone")
    store.update_logged_model(model.model_id, deleted=True)
    with pytest.raises(NotFoundError, match=model.model_id):
        store.get_logged_model(model.model_id)
    assert store.find_logged_model(experiment_id="0", name="gone") is None
    assert list(store.search_logged_models(experiment_ids=["0"])) == []
