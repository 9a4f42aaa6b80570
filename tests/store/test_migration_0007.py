"""Migration 0007 (aliases and the versions' history): a 0006 database is upgraded in place,
every row kept; its versions have no history before the upgrade and none is invented, and every
change after it is recorded and chained."""

from __future__ import annotations

import sqlalchemy as sa

from genver.client import GenverClient
from genver.entities import history as h
from genver.store.sql import migrate
from genver.store.sql.engine import create_engine
from genver.store.sql.store import SqlStore

from ._helpers import T0

MODEL_ID = "m-" + "7" * 32


def _build_0006(uri: str) -> str:
    """A store at revision 0006 with one version, written as genver 0006 wrote it."""
    engine = create_engine(uri)
    try:
        migrate.upgrade(engine, "0006")
        store = SqlStore(engine, upgrade=False)
        exp = store.create_experiment("legacy")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, "
                    "creation_timestamp, last_updated_timestamp, status, lifecycle_stage) "
                    "VALUES (:m, :e, 'agent-v1', '/a', :t, :t, 'READY', 'active')"
                ),
                {"m": MODEL_ID, "e": int(exp), "t": T0},
            )
            conn.execute(
                sa.text("INSERT INTO logged_model_params VALUES (:m, 'llm', 'gpt-4')"), {"m": MODEL_ID}
            )
            tables = set(sa.inspect(conn).get_table_names())
            assert "model_history" not in tables and "model_aliases" not in tables
        return exp
    finally:
        engine.dispose()


def test_upgrade_from_0006_keeps_every_row_and_starts_the_history(db_uri: str) -> None:
    exp = _build_0006(db_uri)
    engine = create_engine(db_uri)
    try:
        assert migrate.upgrade(engine, "0007") == ("0006", "0007")
        with engine.connect() as conn:
            indexes = {i["name"] for i in sa.inspect(conn).get_indexes("model_history")}
        assert {"ix_model_history_model", "ix_model_history_alias_moves"} <= indexes
    finally:
        engine.dispose()
    store = SqlStore(db_uri)
    try:
        model = store.get_logged_model(MODEL_ID)
        assert (model.name, model.params, model.aliases) == ("agent-v1", {"llm": "gpt-4"}, [])
        assert list(store.get_logged_model_history(MODEL_ID)) == []  # nothing invented before 0007
        store.set_logged_model_tags(MODEL_ID, {"env": "prod"})
        store.set_logged_model_alias(MODEL_ID, "production")
        assert [e.kind for e in store.get_logged_model_history(MODEL_ID)] == [h.TAGS_SET, h.ALIAS_SET]
        assert store.get_logged_model_by_alias(experiment_id=exp, alias="production").model_id == MODEL_ID
        report = GenverClient(store=store).verify_history()
        assert report.ok and report.checked == 2
    finally:
        store.close()
