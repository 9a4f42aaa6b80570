"""Migration 0011 drops the value indexes of trace metadata and tags (unused by every query; on
PostgreSQL hash indexes whose duplicate-heavy buckets made each insert walk an overflow chain).
A 0010 store keeps its traces, and metadata and tag filters still find them. And on every
backend, the indexes a migrated store has are exactly the ones ``tables.metadata`` declares."""

from __future__ import annotations

import sqlalchemy as sa

from genver.entities import Trace, TraceData, TraceInfo, TraceState
from genver.store.sql import migrate, tables
from genver.store.sql.engine import create_engine
from genver.store.sql.store import SqlStore

# Indexes revisions create on PostgreSQL only (tables.metadata declares what both databases have).
POSTGRES_ONLY = {
    "traces": {"ix_traces_time_brin"},
    # (key, owner) beside the partial (key, value, owner) index: revisions 0004 and 0014
    **{t: {f"ix_{t}_key"} for t in ("logged_model_params", "logged_model_tags", "run_params", "run_tags")},
}


def _indexes(engine: sa.Engine, table: str) -> set[str]:
    return {i["name"] for i in sa.inspect(engine).get_indexes(table) if i["name"]}


def test_a_0010_store_loses_the_value_indexes_and_keeps_its_traces(db_uri: str) -> None:
    engine = create_engine(db_uri)
    try:
        migrate.upgrade(engine, "0010")
        old = SqlStore(engine, upgrade=False)
        exp = old.create_experiment("legacy")
        old.log_traces(
            [
                Trace(
                    TraceInfo(
                        trace_id=f"tr-{i:032x}",
                        experiment_id=exp,
                        request_time=1_700_000_000_000 + i,
                        execution_duration=5,
                        state=TraceState.OK,
                        trace_metadata={"env": "prod" if i % 2 else "dev"},
                        tags={"team": "search"},
                    ),
                    TraceData([]),
                )
                for i in range(10)
            ]
        )
        assert "ix_trace_metadata_value" in _indexes(engine, "trace_metadata")
        assert "ix_trace_tags_value" in _indexes(engine, "trace_tags")
        migrate.upgrade(engine)
        assert "ix_trace_metadata_value" not in _indexes(engine, "trace_metadata")
        assert "ix_trace_tags_value" not in _indexes(engine, "trace_tags")
        store = SqlStore(engine)
        prod = store.search_traces(experiment_ids=[exp], filter_string="metadata.env = 'prod'")
        assert sorted(t.info.trace_id for t in prod) == [f"tr-{i:032x}" for i in range(1, 10, 2)]
        tagged = store.search_traces(experiment_ids=[exp], filter_string="tags.team = 'search'")
        assert len(tagged) == 10
    finally:
        engine.dispose()


def test_a_migrated_store_has_exactly_the_declared_indexes(db_uri: str, backend: str) -> None:
    SqlStore(db_uri).close()
    engine = create_engine(db_uri)
    try:
        for table in tables.metadata.sorted_tables:
            declared = {i.name for i in table.indexes}
            if backend == "postgres":
                declared |= POSTGRES_ONLY.get(table.name, set())
            unique = {c["name"] for c in sa.inspect(engine).get_unique_constraints(table.name)}
            found = _indexes(engine, table.name) - unique  # PostgreSQL lists a constraint's index too
            assert found == declared, table.name
    finally:
        engine.dispose()
