"""Reads of a page's params, tags and metrics (``in_json_list``) probe the ``model_id`` index
instead of scanning the table: a regression here costs milliseconds per search at 10,000
versions without changing any result, so it is pinned on the query plan."""

from __future__ import annotations

import json

import sqlalchemy as sa

from genver.store.sql import model_rows
from genver.store.sql.store import SqlStore


def test_sqlite_reads_a_pages_params_tags_and_aliases_through_the_index(tmp_path: object) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/plan.db")
    try:
        exp = store.create_experiment("plans")
        ids = [
            store.create_logged_model(
                experiment_id=exp, name=f"v{i}", params={"llm": "x"}, tags={"t": "y"}
            ).model_id
            for i in range(30)
        ]
        with store.engine.connect() as conn:
            sql = str(model_rows._PAGE_DETAILS.compile(dialect=conn.dialect))
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", (json.dumps(ids),) * 3).all()
        details = [str(row[-1]) for row in plan]
        for table in ("logged_model_params", "logged_model_tags", "model_aliases"):
            assert any(d.startswith(f"SEARCH {table}") for d in details), details
            assert not any(d.startswith(f"SCAN {table}") for d in details), details
    finally:
        store.close()


def test_postgresql_compares_with_any_array_so_the_index_is_probed() -> None:
    from sqlalchemy.dialects import postgresql

    sql = str(model_rows._PAGE_DETAILS.compile(dialect=postgresql.dialect()))
    # IN (SELECT json_array_elements_text(...)) made PostgreSQL hash-join a scan of the table.
    assert "logged_model_params.model_id = ANY(ARRAY(SELECT json_array_elements_text(" in sql
    assert " IN (SELECT json_array_elements_text" not in sql
    assert "= 1" not in str(model_rows._PAGE_DETAILS.compile(dialect=sa.dialects.sqlite.dialect()))
