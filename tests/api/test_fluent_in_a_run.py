"""Versions made or activated inside a run: they go to the run's experiment, which the fluent
API asks the store for once per run (a run never changes experiment)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import genver
from genver.fluent import Genver


def _count_get_run(g: Genver, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    store = g.client.store
    real = store.get_run

    def get_run(run_id: str) -> Any:
        calls.append(run_id)
        return real(run_id)

    monkeypatch.setattr(store, "get_run", get_run)
    return calls


def test_versions_in_a_run_use_its_experiment_without_asking_each_time(
    make_genver: Callable[..., Genver], monkeypatch: pytest.MonkeyPatch
) -> None:
    g = make_genver()
    exp = g.set_experiment("runs-here").experiment_id
    with g.start_run() as run:
        g.set_experiment("elsewhere")  # the active run's experiment still wins
        calls = _count_get_run(g, monkeypatch)
        first = g.set_active_model(name="agent")
        again = g.set_active_model(name="agent")
        made = g.create_external_model(name="ext")
        assert first.experiment_id == exp and again.model_id == first.model_id
        assert made.experiment_id == exp and made.source_run_id == run.info.run_id
        assert calls == []  # start_run already knew the experiment
    with g.start_run(run_id=run.info.run_id):  # resumed: start_run reads the run anyway
        before = len(calls)
        assert g.set_active_model(name="agent").model_id == first.model_id
        assert g.create_external_model(name="ext-2").experiment_id == exp
        assert len(calls) == before


def test_a_run_started_elsewhere_is_asked_for_once(
    make_genver: Callable[..., Genver], monkeypatch: pytest.MonkeyPatch
) -> None:
    g = make_genver()
    exp = g.set_experiment("source").experiment_id
    source = g.client.create_run(exp).info.run_id
    g.set_experiment("active")
    other = make_genver(tracking_uri=g.get_tracking_uri())  # a fresh instance, same database
    calls = _count_get_run(other, monkeypatch)
    for i in range(3):  # source_run_id without an active experiment: the run's experiment
        assert other.create_external_model(name=f"v{i}", source_run_id=source).experiment_id == exp
    assert calls == [source]


def test_create_external_model_returns_what_the_store_holds(fresh_genver: Path) -> None:
    with genver.start_run():
        model = genver.create_external_model(
            name="agent-v1.0", params={"llm": "gpt-4"}, tags={"team": "ml"}, model_type="agent"
        )
    assert genver.get_logged_model(model.model_id) == model
    assert model.tags["team"] == "ml" and model.tags["mlflow.model.isExternal"] == "true"
    assert model.metrics is None
