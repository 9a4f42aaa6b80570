"""PostgreSQL: a version search with param, tag or metric terms is planned for its values every
time, never prepared. Prepared, PostgreSQL may move to one generic plan for every value of the
statement after a few runs, and the plan made for a term matching 1 % of versions read every
entry of a term matching half of them (100,000 versions: 5 ms became 95 ms, depending on which
search ran first). Searches without such terms are still prepared (they plan alike for any
value, and planning is most of a small search)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from genver.store.sql.engine import normalize_url
from genver.store.sql.store import SqlStore

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(pg_databases: Any) -> Iterator[SqlStore]:
    """A store on a pool of one connection: every search, and the look at what was prepared
    (``pg_prepared_statements`` is per connection), share it."""
    uri: str = pg_databases.create()
    s = SqlStore(sa.create_engine(normalize_url(uri), pool_size=1, max_overflow=0))
    yield s
    s.close()
    pg_databases.drop(uri)


def _prepared(store: SqlStore) -> list[str]:
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars()
        return [str(r) for r in rows]


def test_key_value_searches_are_planned_for_their_values(store: SqlStore) -> None:
    for i in range(40):
        store.create_logged_model(
            experiment_id="0", params={"tier": "a" if i % 2 else "b", "rare": f"r{i % 20}"}, tags={"t": "x"}
        )
    expected = {"a": 20, "r7": 2}
    for _ in range(8):  # past psycopg's threshold (5) and PostgreSQL's custom-plan runs (5)
        for value, count in expected.items():
            key = "tier" if value == "a" else "rare"
            found = store.search_logged_models(
                experiment_ids=["0"], filter_string=f"params.{key} = '{value}'"
            )
            assert len(found) == count
        tagged = store.search_logged_models(experiment_ids=["0"], filter_string="tags.t = 'x'", max_results=5)
        assert len(tagged) == 5
        assert len(store.search_logged_models(experiment_ids=["0"], max_results=5)) == 5
    prepared = _prepared(store)
    for table in ("logged_model_params", "logged_model_tags"):  # a term: WHERE <table>.key = $n
        assert not [s for s in prepared if f"WHERE {table}.key = " in s], table
    assert [s for s in prepared if "FROM logged_models" in s], prepared  # the unfiltered search is
