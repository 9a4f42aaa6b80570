"""On SQLite (no planner statistics), a trace search that names a version or a run reads that
version's (run's) index newest first instead of walking the experiment's traces by time: with
1,000 versions the walk read every trace of the experiment for each search (issue 15's scale
benchmark: 17 ms at 20,000 traces and growing with the store). Pinned on the query plan; the
results are the same either way."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from genver.entities import Trace, TraceData, TraceInfo, TraceState
from genver.entities.trace import MODEL_ID_KEY, SOURCE_RUN_KEY
from genver.store.sql.store import SqlStore

VERSIONS = [f"m-{i:032x}" for i in range(40)]
RUNS = [f"{i:032x}" for i in range(4)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path}/plans.db")
    rnd = random.Random(3)
    traces = [
        Trace(
            TraceInfo(
                trace_id=f"tr-{i:032x}",
                experiment_id="0",
                request_time=1_700_000_000_000 + rnd.randint(0, 10**6),  # ties and disorder
                execution_duration=10,
                state=TraceState.OK,
                trace_metadata={MODEL_ID_KEY: VERSIONS[i % 40], SOURCE_RUN_KEY: RUNS[i % 4]},
            ),
            TraceData([]),
        )
        for i in range(800)
    ]
    store.log_traces(traces)
    yield store
    store.close()


def _plan_of_search(store: SqlStore, **kwargs: Any) -> tuple[list[str], list[str]]:
    """The query plan of the statement that selects the traces, and the ids found."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().startswith("SELECT traces.trace_id"):
            seen.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", capture)
    try:
        found = store.search_traces(experiment_ids=["0"], include_spans=False, **kwargs)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", capture)
    ((statement, parameters),) = seen
    with store.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return [str(row[-1]) for row in plan], [t.info.trace_id for t in found]


def _expected(store: SqlStore, column: str, value: str, limit: int) -> list[str]:
    every = store.search_traces(experiment_ids=["0"], include_spans=False, max_results=1000)
    keep = [
        t
        for t in every
        if getattr(t.info, column, None) == value
        or t.info.trace_metadata.get(MODEL_ID_KEY if column == "model_id" else SOURCE_RUN_KEY) == value
    ]
    return [t.info.trace_id for t in keep][:limit]


@pytest.mark.parametrize(
    "filter_string",
    [f"metadata.`{MODEL_ID_KEY}` = '{VERSIONS[7]}'", f"model_id = '{VERSIONS[7]}' AND state = 'OK'"],
)
def test_a_search_for_one_version_reads_its_index(store: SqlStore, filter_string: str) -> None:
    plan, found = _plan_of_search(store, filter_string=filter_string, max_results=5)
    assert any("USING INDEX ix_traces_model_time (model_id=?)" in d for d in plan), plan
    assert not any("ix_traces_experiment_time" in d for d in plan), plan
    assert found == _expected(store, "model_id", VERSIONS[7], 5)


def test_a_search_for_one_run_reads_its_index(store: SqlStore) -> None:
    plan, found = _plan_of_search(store, filter_string=f"run_id = '{RUNS[1]}'", max_results=50)
    assert any("ix_traces_run" in d for d in plan), plan
    assert found == _expected(store, "run_id", RUNS[1], 50)


def test_other_searches_still_walk_the_experiment_by_time(store: SqlStore) -> None:
    for filter_string in (None, "state = 'OK'", f"model_id = '{VERSIONS[1]}' OR model_id = '{VERSIONS[2]}'"):
        plan, found = _plan_of_search(store, filter_string=filter_string, max_results=10)
        assert any("ix_traces_experiment_time" in d for d in plan), (filter_string, plan)
        assert len(found) == 10
