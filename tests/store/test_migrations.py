"""Schema migrations: an old database is upgraded in place on open, keeping every row."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from genver.entities import Dataset, LoggedModelStatus, Metric
from genver.exceptions import StoreError
from genver.store.sql import migrate
from genver.store.sql.engine import create_engine
from genver.store.sql.store import SqlStore

T = 1_600_000_000_000
RUN_ID = "a" * 32
MODEL_ID = "m-" + "b" * 32


def _revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def _tables(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def _build_0001(uri: str) -> str:
    """A database as genver 0001 left it, filled with raw SQL; returns the legacy experiment id."""
    engine = create_engine(uri)
    try:
        assert migrate.upgrade(engine, "0001") == (None, "0001")
        assert _revision(engine) == "0001"
        assert "run_inputs" not in _tables(engine)
        with engine.begin() as conn:

            def run(sql: str, **params: Any) -> Any:
                return conn.execute(sa.text(sql), params)

            exp_cols = "name, artifact_location, lifecycle_stage, creation_time, last_update_time"
            run(
                f"INSERT INTO experiments (experiment_id, {exp_cols}) VALUES (0, 'Default', '/a/0', 'active', :t, :t)",
                t=T,
            )
            exp = run(
                f"INSERT INTO experiments ({exp_cols}) VALUES ('legacy', '/a/x', 'active', :t, :t) "
                "RETURNING experiment_id",
                t=T,
            ).scalar_one()
            run("INSERT INTO experiment_tags VALUES (:e, 'team', 'ml')", e=exp)
            run(
                "INSERT INTO runs (run_id, experiment_id, run_name, user_id, status, start_time, end_time, "
                "artifact_uri, lifecycle_stage) VALUES (:r, :e, 'old-run', 'ana', 'FINISHED', :t, :t2, "
                "'/a/x/r', 'active')",
                r=RUN_ID,
                e=exp,
                t=T,
                t2=T + 5,
            )
            run("INSERT INTO run_params VALUES (:r, 'lr', '0.1')", r=RUN_ID)
            run("INSERT INTO run_tags VALUES (:r, 'mlflow.runName', 'old-run')", r=RUN_ID)
            for step, value in [(0, 0.5), (1, 0.8)]:
                run(
                    "INSERT INTO run_metrics (run_id, key, value, timestamp, step, model_id, dataset_name, "
                    "dataset_digest) VALUES (:r, 'acc', :v, :t, :s, :m, 'eval', 'd1')",
                    r=RUN_ID,
                    v=value,
                    t=T + step,
                    s=step,
                    m=MODEL_ID,
                )
            run("INSERT INTO latest_metrics VALUES (:r, 'acc', 0.8, :t, 1)", r=RUN_ID, t=T + 1)
            run(
                "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, "
                "creation_timestamp, last_updated_timestamp, model_type, source_run_id, status, "
                "status_message, lifecycle_stage) VALUES (:m, :e, 'agent-v1.0', '/a/x/models', :t, :t, "
                "'agent', :r, 'READY', NULL, 'active')",
                m=MODEL_ID,
                e=exp,
                t=T,
                r=RUN_ID,
            )
            run("INSERT INTO logged_model_params VALUES (:m, 'llm', 'gpt-4')", m=MODEL_ID)
            run("INSERT INTO logged_model_tags VALUES (:m, 'mlflow.model.isExternal', 'true')", m=MODEL_ID)
            for step, value in [(0, 0.5), (1, 0.8)]:
                run(
                    "INSERT INTO logged_model_metrics (model_id, key, value, timestamp, step, run_id, "
                    "dataset_name, dataset_digest) VALUES (:m, 'acc', :v, :t, :s, :r, 'eval', 'd1')",
                    r=RUN_ID,
                    v=value,
                    t=T + step,
                    s=step,
                    m=MODEL_ID,
                )
        return str(exp)
    finally:
        engine.dispose()


def test_upgrade_from_0001_keeps_every_row(db_uri: str) -> None:
    exp = _build_0001(db_uri)
    store = SqlStore(db_uri)
    try:
        head = migrate.head_revision()
        assert head != "0001"
        assert _revision(store.engine) == head
        assert {"datasets", "run_inputs"} <= _tables(store.engine)

        e = store.get_experiment(exp)
        assert (e.name, e.tags, e.artifact_location) == ("legacy", {"team": "ml"}, "/a/x")
        assert store.get_experiment_by_name("Default") is not None

        run = store.get_run(RUN_ID)
        assert (run.info.run_name, run.info.user_id, run.info.status) == ("old-run", "ana", "FINISHED")
        assert (run.data.params, run.data.metrics) == ({"lr": "0.1"}, {"acc": 0.8})
        assert run.inputs.model_inputs == [] and run.inputs.dataset_inputs == []
        assert [
            r.info.run_id for r in store.search_runs(experiment_ids=[exp], filter_string="params.lr = '0.1'")
        ] == [RUN_ID]

        model = store.get_logged_model(MODEL_ID)
        assert (model.name, model.model_type, model.source_run_id) == ("agent-v1.0", "agent", RUN_ID)
        assert model.status is LoggedModelStatus.READY and model.creation_timestamp == T
        assert model.params == {"llm": "gpt-4"} and model.tags == {"mlflow.model.isExternal": "true"}
        assert model.metrics is not None
        assert [(m.value, m.step, m.dataset_name, m.run_id) for m in model.metrics] == [
            (0.5, 0, "eval", RUN_ID),
            (0.8, 1, "eval", RUN_ID),
        ]
        found = store.search_logged_models(
            experiment_ids=[exp],
            filter_string="params.llm = 'gpt-4' AND metrics.acc > 0.7",
            datasets=[{"dataset_name": "eval", "dataset_digest": "d1"}],
            order_by=[{"field_name": "metrics.acc", "ascending": False}],
        )
        assert [m.model_id for m in found] == [MODEL_ID]
        found_by_name = store.find_logged_model(experiment_id=exp, name="agent-v1.0")
        assert found_by_name is not None and found_by_name.model_id == MODEL_ID

        # The upgraded database takes new writes, old and new tables alike.
        assert store.create_logged_model(
            experiment_id=exp, name="agent-v1.0", reuse_latest_by_name=True
        ).model_id == (MODEL_ID)
        new_exp = store.create_experiment("new")
        assert new_exp not in ("0", exp)
        store.log_inputs(RUN_ID, datasets=[Dataset(name="eval", digest="d1")], model_ids=[MODEL_ID])
        store.log_batch(RUN_ID, metrics=[Metric("acc", 0.9, T + 2, 2, model_id=MODEL_ID)])
        run = store.get_run(RUN_ID)
        assert run.data.metrics == {"acc": 0.9} and len(run.inputs.dataset_inputs) == 1
    finally:
        store.close()


def test_opening_a_current_database_runs_no_migration(db_uri: str) -> None:
    SqlStore(db_uri).close()
    engine = create_engine(db_uri)
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    store = SqlStore(engine)
    try:
        changes = [
            s
            for s in statements
            if re.match(r"\s*(CREATE|ALTER|DROP|INSERT|UPDATE|DELETE)\b", s, re.IGNORECASE)
        ]
        assert changes == []
        assert statements  # it did look at the revision
        head = migrate.head_revision()
        assert migrate.upgrade(engine) == (head, head)
        assert _revision(engine) == head
    finally:
        store.close()


def test_downgrade_is_never_offered(db_uri: str) -> None:
    from alembic import command
    from alembic.config import Config

    store = SqlStore(db_uri)
    try:
        model_id = store.create_logged_model(experiment_id="0", name="keep-me").model_id
        assert not hasattr(migrate, "downgrade")
        cfg = Config()
        cfg.set_main_option("script_location", str(migrate.MIGRATIONS))
        with store.engine.connect() as conn, pytest.raises(NotImplementedError, match="never downgrades"):  # noqa: SIM117
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "base")
        assert _revision(store.engine) == migrate.head_revision()
        assert store.get_logged_model(model_id).name == "keep-me"
    finally:
        store.close()


def test_a_database_from_a_newer_genver_is_refused_untouched(db_uri: str) -> None:
    SqlStore(db_uri).close()
    engine = create_engine(db_uri)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
        tables = _tables(engine)
    finally:
        engine.dispose()
    with pytest.raises(StoreError, match="'9999_future'.*newer genver"):
        SqlStore(db_uri)
    engine = create_engine(db_uri)
    try:
        assert _revision(engine) == "9999_future"
        assert _tables(engine) == tables
    finally:
        engine.dispose()
