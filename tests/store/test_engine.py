"""Opening stores: unreachable databases, bad locations, passwords kept out of messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from genver.exceptions import GenverError, InvalidArgumentError, StoreUnavailableError
from genver.store import store_for_uri
from genver.store.sql.store import SqlStore


def test_unreachable_postgres_is_store_unavailable() -> None:
    with pytest.raises(StoreUnavailableError) as info:
        SqlStore("postgresql://postgres:s3cret@127.0.0.1:1/x")
    message = str(info.value)
    assert "127.0.0.1" in message
    assert "s3cret" not in message and "s3cret" not in repr(info.value)
    assert info.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert isinstance(info.value, ConnectionError)


def test_reads_on_the_drivers_connection_report_an_unreachable_postgres_as_unavailable() -> None:
    """get / find / by alias check a pooled driver connection out without SQLAlchemy's
    Connection: a refused connection must still be StoreUnavailableError, naming the host."""
    store = SqlStore("postgresql://postgres:s3cret@127.0.0.1:1/x", upgrade=False)
    try:
        reads = (
            lambda: store.get_logged_model("m-" + "0" * 32),
            lambda: store.find_logged_model(experiment_id="0", name="agent"),
            lambda: store.get_logged_model_by_alias(experiment_id="0", alias="production"),
        )
        for read in reads:
            with pytest.raises(StoreUnavailableError, match="127.0.0.1") as info:
                read()
            assert "s3cret" not in str(info.value)
    finally:
        store.close()


def test_missing_sqlite_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(InvalidArgumentError, match="does not exist") as info:
        SqlStore(f"sqlite:///{missing}/x.db")
    assert str(missing) in str(info.value)


def test_sqlite_path_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(GenverError, match=str(tmp_path)):
        SqlStore(f"sqlite:///{tmp_path}")


@pytest.mark.parametrize("uri", ["mysql://u@h/db", "nonsense"])
def test_unsupported_uris(uri: str) -> None:
    with pytest.raises(InvalidArgumentError, match="URI"):
        store_for_uri(uri)


def test_in_memory_sqlite_works() -> None:
    store = SqlStore("sqlite://")
    try:
        assert store.get_experiment("0").name == "Default"
        model_id = store.create_logged_model(experiment_id="0", name="v1").model_id
        assert store.get_logged_model(model_id).name == "v1"
    finally:
        store.close()


def test_store_from_an_engine_and_uri_forms(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/e.db")
    store = SqlStore(engine)
    try:
        assert store.get_experiment("0").name == "Default"
    finally:
        store.close()
    via_uri = store_for_uri(f"sqlite:///{tmp_path}/e.db")
    try:
        assert via_uri.get_experiment("0").name == "Default"
    finally:
        via_uri.close()


@pytest.mark.postgres
def test_postgres_password_is_hidden(pg_shared_uri: str) -> None:
    uri = sa.engine.make_url(pg_shared_uri).set(password="s3cret").render_as_string(hide_password=False)
    store = SqlStore(uri)
    try:
        assert "s3cret" not in repr(store)
        assert store.get_experiment("0").name == "Default"
    finally:
        store.close()


def test_sqlite_connections_use_wal_and_checkpoint_rarely_and_close_folds_the_wal(tmp_path: Path) -> None:
    from genver.store.sql.engine import SQLITE_WAL_CHECKPOINT_PAGES

    db = tmp_path / "t.db"
    store = SqlStore(f"sqlite:///{db}")
    with store._engine.connect() as conn:
        pragmas = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in ("journal_mode", "synchronous")}
        checkpoint = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert pragmas == {"journal_mode": "wal", "synchronous": 1}  # 1: NORMAL
    assert checkpoint == SQLITE_WAL_CHECKPOINT_PAGES == 10_000
    model = store.create_logged_model(experiment_id="0", name="agent").model_id
    store.close()
    wal = tmp_path / "t.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # the last close checkpointed it
    reopened = SqlStore(f"sqlite:///{db}", upgrade=False)
    try:
        assert reopened.get_logged_model(model).name == "agent"
    finally:
        reopened.close()
