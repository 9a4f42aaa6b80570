"""PostgreSQL: statistics of every version over a time window read that window's entries of
``ix_traces_experiment_time`` (revision 0013 made it carry what statistics read) or that window's
blocks through ``ix_traces_time_brin``, not the whole traces table: at 1.8 million traces a day's statistics were a 0.56 s parallel sequential scan
that grew with the store. Without experiments named, every experiment is named, so the window
is a range per experiment. Pinned on the plan; the figures are checked against a Python count."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from genver.entities import Trace, TraceData, TraceInfo, TraceState
from genver.entities.trace import MODEL_ID_KEY
from genver.store.sql.store import SqlStore

pytestmark = pytest.mark.postgres
DAY = 86_400_000
T0 = 1_700_000_000_000


@pytest.fixture
def pg_uri(pg_databases: Any) -> Iterator[str]:
    uri: str = pg_databases.create()
    yield uri
    pg_databases.drop(uri)


@pytest.mark.parametrize("experiments", [None, ["0"]])
def test_a_day_of_every_version_is_an_index_only_range_scan(
    pg_uri: str, experiments: list[str] | None
) -> None:
    store = SqlStore(pg_uri)
    try:
        rnd = random.Random(2)
        traces = [
            Trace(
                TraceInfo(
                    trace_id=f"tr-{i:032x}",
                    experiment_id="0",
                    request_time=T0 + i * (30 * DAY // 20_000),
                    execution_duration=rnd.randint(1, 5000),
                    state=TraceState.ERROR if i % 20 == 0 else TraceState.OK,
                    trace_metadata={MODEL_ID_KEY: f"m-{i % 50:032x}"},
                ),
                TraceData([]),
            )
            for i in range(20_000)
        ]
        for i in range(0, len(traces), 2000):
            store.log_traces(traces[i : i + 2000])
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE traces")
        start, end = T0 + 29 * DAY, T0 + 30 * DAY
        seen: list[tuple[str, object]] = []

        def capture(conn: object, cursor: object, statement: str, parameters: object, *_: object) -> None:
            if "percentile_disc" in statement:
                seen.append((statement, parameters))

        sa.event.listen(store.engine, "before_cursor_execute", capture)
        try:
            stats = store.trace_stats(experiment_ids=experiments, start_time=start, end_time=end)
        finally:
            sa.event.remove(store.engine, "before_cursor_execute", capture)
        ((statement, parameters),) = seen
        with store.engine.connect() as conn:
            plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
        assert (
            "Index Only Scan using ix_traces_experiment_time" in plan
            or "Bitmap Index Scan on ix_traces_time_brin" in plan
        ), plan
        assert "Seq Scan" not in plan, plan
        in_day = [t for t in traces if start <= t.info.request_time < end]
        assert sum(s.trace_count for s in stats) == len(in_day)
        assert sum(s.error_count for s in stats) == sum(t.info.state is TraceState.ERROR for t in in_day)
    finally:
        store.close()


def test_the_brin_index_summarizes_itself(pg_uri: str) -> None:
    """An unsummarized BRIN range matches every window: autovacuum must summarize new ranges."""
    SqlStore(pg_uri).close()
    engine = sa.create_engine(pg_uri.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            options = conn.exec_driver_sql(
                "SELECT c.reloptions FROM pg_class c WHERE c.relname = 'ix_traces_time_brin'"
            ).scalar_one()
        assert "autosummarize=on" in options
    finally:
        engine.dispose()
