"""Revision 0014 (PostgreSQL): the params and tags of versions and runs get a B-tree (key, value,
owner) index for values up to 1,000 bytes in place of 0004's hash index on the value (a bucket
of one popular value made each insert walk its overflow chain, and a filter read every match
from the heap). A filter on ``=`` / ``IN`` over values that fit reads that index alone; longer
values, at the boundary and past it, in one and several bytes a character, are still found."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from genver.search import ast
from genver.store.sql import migrate, tables
from genver.store.sql.engine import create_engine
from genver.store.sql.filters import kv_select
from genver.store.sql.store import SqlStore

KV_TABLES = ("logged_model_params", "logged_model_tags", "run_params", "run_tags")
# At the index's limit and past it: 1,000 and 1,001 bytes, ASCII and three bytes a character.
EDGES = ["a" * 1000, "a" * 1001, "€" * 333 + "a", "€" * 334]


@pytest.fixture
def pg_uri(pg_databases: Any) -> Iterator[str]:
    uri: str = pg_databases.create()
    yield uri
    pg_databases.drop(uri)


def _index_methods(engine: sa.Engine, table: str) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT i.relname, am.amname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "JOIN pg_class c ON c.oid = x.indrelid JOIN pg_am am ON am.oid = i.relam WHERE c.relname = :t"
            ),
            {"t": table},
        )
        return {str(name): str(method) for name, method in rows.all()}


@pytest.mark.postgres
def test_a_0013_store_trades_its_hash_indexes_for_b_trees_and_finds_every_value(pg_uri: str) -> None:
    engine = create_engine(pg_uri)
    try:
        migrate.upgrade(engine, "0013")
        old = SqlStore(engine, upgrade=False)
        exp = old.create_experiment("legacy")
        long_value = "x" * 3000  # past the B-tree's entry limit: the old hash index held it
        made = {
            v: old.create_logged_model(experiment_id=exp, params={"p": v}, tags={"t": v}).model_id
            for v in ["short", *EDGES, long_value]
        }
        run_id = old.create_run(experiment_id=exp, tags={"t": long_value}).info.run_id
        old.log_batch(run_id, params={"p": "short"})
        migrate.upgrade(engine)
        for table in KV_TABLES:
            methods = _index_methods(engine, table)
            assert f"ix_{table}_value" not in methods
            assert methods[f"ix_{table}_key_value"] == "btree"
        store = SqlStore(engine)
        for value, model_id in made.items():
            for kind in ("params.p", "tags.t"):
                found = store.search_logged_models(experiment_ids=[exp], filter_string=f"{kind} = '{value}'")
                assert [m.model_id for m in found] == [model_id], (kind, len(value))
        both = store.search_logged_models(
            experiment_ids=[exp], filter_string=f"params.p IN ('short', '{EDGES[1]}')"
        )
        assert {m.model_id for m in both} == {made["short"], made[EDGES[1]]}
        runs = store.search_runs(
            experiment_ids=[exp], filter_string=f"tags.t = '{long_value}' AND params.p = 'short'"
        )
        assert [r.info.run_id for r in runs] == [run_id]
        store.create_logged_model(experiment_id=exp, params={"p": "y" * 5000})  # still insertable
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_selective_filter_reads_the_b_tree_alone(pg_uri: str) -> None:
    store = SqlStore(pg_uri)
    try:
        rnd = random.Random(4)
        for i in range(1500):
            store.create_logged_model(
                experiment_id="0", params={"llm": f"llm-{i % 10}", "rare": f"r{rnd.randrange(100)}"}
            )
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        for op, value in (("=", "r7"), ("IN", ("r7", "r8"))):
            term = ast.Comparison("param", "rare", op, value)
            query = kv_select(tables.logged_model_params, "model_id", term, partial_index=True)
            sql = str(query.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}))
            with store.engine.connect() as conn:
                plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql))
                found = set(conn.exec_driver_sql(sql).scalars())
            assert "Index Only Scan using ix_logged_model_params_key_value" in plan, plan
            wanted = {value} if op == "=" else set(value)
            expected = {
                m.model_id
                for m in store.search_logged_models(experiment_ids=["0"], max_results=2000)
                if m.params["rare"] in wanted
            }
            assert found == expected and found
    finally:
        store.close()
