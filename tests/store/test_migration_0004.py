"""Migration 0004 (search indexes): a 0003 database is upgraded in place, every row kept, and
the searches it serves return what they did."""

from __future__ import annotations

import sqlalchemy as sa

from genver.entities import Metric
from genver.store.sql import migrate
from genver.store.sql.engine import create_engine
from genver.store.sql.store import SqlStore

from ._helpers import T0

OLD_INDEXES = {"ix_logged_models_exp_created", "ix_logged_model_params_kv", "ix_logged_model_tags_kv"}


def _indexes(engine: sa.Engine) -> dict[str, set[str]]:
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        return {
            t: {i["name"] for i in inspector.get_indexes(t) if i["name"]} for t in inspector.get_table_names()
        }


def _build_0003(uri: str) -> tuple[str, str, str]:
    """A store at revision 0003 with versions, a run and metrics: (experiment, version, run).
    Versions are written with SQL, as genver 0003 wrote them (today's store also records their
    history, in a table 0003 does not have)."""
    engine = create_engine(uri)
    try:
        migrate.upgrade(engine, "0003")
        store = SqlStore(engine, upgrade=False)
        exp = store.create_experiment("legacy")
        run_id = store.create_run(experiment_id=exp, run_name="old", tags={"team": "ml"}).info.run_id
        store.log_batch(run_id, params={"lr": "0.1"}, metrics=[Metric("acc", 0.8, T0, 1)])
        model_id = _insert_version(engine, exp, "agent-v1", "gpt-4", "prod", 0)
        for i in range(30):
            _insert_version(engine, exp, f"other-{i}", "claude", "dev", i + 1)
        store.log_batch(run_id, metrics=[Metric("acc", 0.9, T0 + 1, 2)])
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO logged_model_metrics (model_id, key, value, timestamp, step, run_id) "
                    "VALUES (:m, 'acc', 0.9, :t, 2, :r)"
                ),
                {"m": model_id, "t": T0 + 1, "r": run_id},
            )
            assert migrate.current_revision(conn) == "0003"
        assert set().union(*_indexes(engine).values()) >= OLD_INDEXES
        return exp, model_id, run_id
    finally:
        engine.dispose()


def _insert_version(engine: sa.Engine, exp: str, name: str, llm: str, env: str, n: int) -> str:
    model_id = f"m-{n:032x}"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, "
                "creation_timestamp, last_updated_timestamp, status, lifecycle_stage) "
                "VALUES (:m, :e, :n, '/a', :t, :t, 'READY', 'active')"
            ),
            {"m": model_id, "e": int(exp), "n": name, "t": T0 + n},
        )
        conn.execute(
            sa.text("INSERT INTO logged_model_params VALUES (:m, 'llm', :v)"), {"m": model_id, "v": llm}
        )
        conn.execute(
            sa.text("INSERT INTO logged_model_tags VALUES (:m, 'env', :v)"), {"m": model_id, "v": env}
        )
    return model_id


def test_upgrade_from_0003_keeps_every_row_and_replaces_the_search_indexes(db_uri: str) -> None:
    exp, model_id, run_id = _build_0003(db_uri)
    engine = create_engine(db_uri)
    try:
        assert migrate.upgrade(engine, "0004") == ("0003", "0004")
        indexes = _indexes(engine)
        assert not OLD_INDEXES & set().union(*indexes.values())
        assert "ix_logged_models_exp_active" in indexes["logged_models"]
        assert "ix_latest_metrics_key_value" in indexes["latest_metrics"]
        for table in ("logged_model_params", "logged_model_tags", "run_params", "run_tags"):
            if engine.dialect.name == "postgresql":  # values can be longer than a B-tree entry
                assert {f"ix_{table}_key", f"ix_{table}_value"} <= indexes[table]
            else:
                assert f"ix_{table}_key_value" in indexes[table]
    finally:
        engine.dispose()
    store = SqlStore(db_uri)  # and on to the newest revision
    try:
        model = store.get_logged_model(model_id)
        assert (model.name, model.params, model.tags) == ("agent-v1", {"llm": "gpt-4"}, {"env": "prod"})
        assert model.metrics is not None and [m.value for m in model.metrics] == [0.9]
        assert len(store.search_logged_models(experiment_ids=[exp], max_results=1000)) == 31
        found = store.search_logged_models(
            experiment_ids=[exp], filter_string="params.llm = 'gpt-4' AND tags.env = 'prod'"
        )
        assert [m.model_id for m in found] == [model_id]
        assert (
            len(store.search_logged_models(experiment_ids=[exp], filter_string="params.llm != 'gpt-4'")) == 30
        )
        run = store.get_run(run_id)
        assert (run.data.params, run.data.metrics, run.data.tags["team"]) == (
            {"lr": "0.1"},
            {"acc": 0.9},
            "ml",
        )
        runs = store.search_runs(
            experiment_ids=[exp], filter_string="params.lr = '0.1' AND metrics.acc > 0.85"
        )
        assert [r.info.run_id for r in runs] == [run_id]
        # and it takes new writes
        store.log_batch(run_id, metrics=[Metric("acc", 0.95, T0 + 2, 3, model_id=model_id)])
        assert store.get_run(run_id).data.metrics == {"acc": 0.95}
    finally:
        store.close()
