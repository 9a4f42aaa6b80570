"""PostgreSQL settings that will hurt at scale: which are named, and that a tuned server is not
nagged (``genver server`` warns at start, ``genver db check`` lists them)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from genver.store.sql.engine import create_engine, normalize_url
from genver.store.sql.tuning import advise, postgres_advice
from tests.conftest import PgDatabases

DEFAULTS = {  # PostgreSQL 15's defaults as pg_settings reports them
    "shared_buffers": ("16384", "8kB"),
    "work_mem": ("4096", "kB"),
    "maintenance_work_mem": ("65536", "kB"),
    "max_wal_size": ("1024", "MB"),
    "random_page_cost": ("4", None),
}
TUNED = {
    "shared_buffers": ("524288", "8kB"),  # 4GB
    "work_mem": ("65536", "kB"),
    "maintenance_work_mem": ("1048576", "kB"),
    "max_wal_size": ("8192", "MB"),
    "random_page_cost": ("1.1", None),
    "autovacuum": ("on", None),
}


def test_the_defaults_are_each_named_with_their_value_and_what_to_set() -> None:
    advice = {a.setting: a for a in advise(DEFAULTS)}
    assert set(advice) == set(DEFAULTS)
    assert advice["shared_buffers"].current == "128MB" and "1GB" in advice["shared_buffers"].recommended
    assert advice["work_mem"].current == "4MB"
    assert advice["max_wal_size"].current == "1GB"
    assert advice["random_page_cost"].current == "4" and "1.1" in advice["random_page_cost"].recommended
    assert str(advice["shared_buffers"]).startswith("shared_buffers = 128MB (set at least 1GB")


def test_autovacuum_off_is_named_with_what_it_keeps_up_to_date() -> None:
    (advice,) = advise({**TUNED, "autovacuum": ("off", None)})
    assert str(advice).startswith("autovacuum = off (set on")
    assert "BRIN" in advice.why and "visibility map" in advice.why


def test_a_tuned_server_gets_no_advice() -> None:
    assert advise(TUNED) == []


@pytest.mark.parametrize(
    ("setting", "value", "unit", "flagged"),
    [
        ("shared_buffers", "131072", "8kB", False),  # exactly 1GB
        ("shared_buffers", "131071", "8kB", True),
        ("random_page_cost", "2", None, False),
        ("random_page_cost", "2.5", None, True),
        ("work_mem", "not a number", "kB", False),  # nothing to compare: no advice, no error
        ("autovacuum", "off", None, True),  # this machine's shared cluster runs so: BRIN went stale
        ("autovacuum", "on", None, False),
    ],
)
def test_thresholds(setting: str, value: str, unit: str | None, flagged: bool) -> None:
    settings = {**TUNED, setting: (value, unit)}
    assert [a.setting for a in advise(settings)] == ([setting] if flagged else [])


def test_sqlite_gets_no_advice(tmp_path: object) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/t.db")
    try:
        assert postgres_advice(engine) == []
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_real_server_is_read_and_session_settings_count(pg_databases: PgDatabases) -> None:
    uri = pg_databases.create()
    options = "-c work_mem=64MB -c random_page_cost=1.1 -c maintenance_work_mem=1GB"
    engine = sa.create_engine(normalize_url(uri), connect_args={"options": options})
    try:
        with engine.connect() as conn:
            buffers = conn.execute(
                sa.text("SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers'")
            ).scalar_one()
        named = {a.setting for a in postgres_advice(engine)}
        assert not named & {"work_mem", "random_page_cost", "maintenance_work_mem"}
        assert ("shared_buffers" in named) == (buffers < 1024**3)
    finally:
        engine.dispose()
        pg_databases.drop(uri)
