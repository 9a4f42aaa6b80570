"""Migration 0006 (assessment updates and overrides, dataset record outputs and times): a 0005
database is upgraded in place, every row kept, old rows read with the new fields' defaults, and
the new calls work on them."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from genver.entities import Feedback, TraceData
from genver.store.sql import migrate
from genver.store.sql.engine import create_engine
from genver.store.sql.store import SqlStore

from ._helpers import T0
from .test_assessments import make_trace, new_assessment_id

DATASET = "d-" + "1" * 32


def _build_0005(uri: str) -> tuple[str, str]:
    """A store at revision 0005 with a trace, an assessment on it and a dataset with a record,
    written as genver 0005 wrote them: (trace id, assessment id)."""
    engine = create_engine(uri)
    try:
        migrate.upgrade(engine, "0005")
        store = SqlStore(engine, upgrade=False)
        exp = store.create_experiment("legacy")
        # Without spans: today's span rows have a column 0005 lacks (0012's payload).
        trace = dataclasses.replace(make_trace(experiment_id=exp), data=TraceData([]))
        store.log_traces([trace])
        tid, aid = trace.info.trace_id, new_assessment_id()
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO assessments (assessment_id, trace_id, name, kind, value, source_type, "
                    "source_id, create_time_ms) VALUES (:a, :t, 'exact', 'feedback', 'true', 'CODE', "
                    "'default', :c)"
                ),
                {"a": aid, "t": tid, "c": T0},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO eval_datasets (dataset_id, name, digest, experiment_id, created_time, "
                    "last_update_time) VALUES (:d, 'golden', 'abc', :e, :c, :c)"
                ),
                {"d": DATASET, "c": T0, "e": int(exp)},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO eval_dataset_records (dataset_id, record_id, position, inputs, expectations) "
                    """VALUES (:d, 'r1', 0, '{"q": "France?"}', '{"a": "Paris"}')"""
                ),
                {"d": DATASET},
            )
            assert migrate.current_revision(conn) == "0005"
        return tid, aid
    finally:
        engine.dispose()


def test_upgrade_from_0005_keeps_every_row(db_uri: str) -> None:
    tid, aid = _build_0005(db_uri)
    engine = create_engine(db_uri)
    try:
        assert migrate.upgrade(engine, "0006") == ("0005", "0006")
    finally:
        engine.dispose()
    store = SqlStore(db_uri)
    try:
        (old,) = store.get_assessments(trace_ids=[tid])
        assert (old.assessment_id, old.value, old.create_time_ms) == (aid, True, T0)
        assert (old.last_update_time_ms, old.valid, old.overrides) == (0, True, None)
        new = store.update_assessment(tid, aid, Feedback(name="exact", value=False))
        assert new.value is False and new.last_update_time_ms > 0
        (record,) = store.get_eval_dataset(DATASET).records or []
        assert (record.inputs, record.expectations) == ({"q": "France?"}, {"a": "Paris"})
        assert (record.outputs, record.created_time, record.last_update_time) == (None, None, None)
        ds = store.add_eval_dataset_records(
            DATASET, [dataclasses.replace(record, outputs="Paris")], merge=True
        )
        (merged,) = ds.records or []
        assert merged.outputs == "Paris" and merged.expectations == {"a": "Paris"}
        assert merged.created_time is not None  # an old record gets a time when it is next written
    finally:
        store.close()
