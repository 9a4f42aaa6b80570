"""Trace retention (issue 13 item 3): ``SqlStore.prune_traces`` on SQLite and PostgreSQL. Old
traces go with their spans, metadata, tags and assessments; evaluated traces, dataset sources,
other experiments, versions and metrics stay; a dry run counts the same traces and deletes none."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from genver.client.audit import verify_chain
from genver.entities import Assessment, DatasetRecord, Metric
from genver.entities.history import TRACES_PRUNED
from genver.entities.retention import EVALUATION_RUN_TAG, EVALUATION_RUN_TYPE, RetentionPolicy
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.sql.retention import RETENTION_LOCK_KEY, child_tables
from genver.store.sql.store import SqlStore
from tests.store._helpers import count_rows
from tests.store.test_traces import make_trace

DAY = 86_400_000
NOW = 1_800_000_000_000
OLD = NOW - 40 * DAY
RECENT = NOW - DAY
THIRTY_DAYS = RetentionPolicy(older_than_ms=30 * DAY)


def log(store: SqlStore, *, at: int, n: int = 1, **kwargs: object) -> list[str]:
    traces = [make_trace(request_time=at + i, **kwargs) for i in range(n)]  # type: ignore[arg-type]
    store.log_traces(traces)
    return [tr.info.trace_id for tr in traces]


def stored_ids(store: SqlStore) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(sa.text("SELECT trace_id FROM traces")).scalars())


def rows_of(store: SqlStore, ids: set[str]) -> int:
    """Rows any table holds for these traces (children included)."""
    with store.engine.connect() as conn:
        return sum(
            int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(table).where(table.c.trace_id.in_(list(ids)))
                ).scalar_one()
            )
            for table in (*child_tables(), sa.table("traces", sa.column("trace_id")))
        )


def assessment(trace_id: str, run_id: str | None) -> Assessment:
    return Assessment(
        assessment_id="a-" + uuid.uuid4().hex,
        trace_id=trace_id,
        name="correct",
        kind="feedback",
        value=True,
        run_id=run_id,
        create_time_ms=NOW,
    )


def test_old_traces_go_evaluated_ones_and_other_experiments_stay(store: SqlStore) -> None:
    other = store.create_experiment("other")
    model = store.create_logged_model(experiment_id="0", name="bot-v1")
    eval_run = store.create_run(
        experiment_id="0", start_time=OLD, tags={EVALUATION_RUN_TAG: EVALUATION_RUN_TYPE}
    )
    plain_run = store.create_run(experiment_id="0", start_time=OLD)
    store.log_batch(
        plain_run.info.run_id, metrics=[Metric(key="acc", value=0.9, timestamp=OLD, model_id=model.model_id)]
    )

    old_plain = log(store, at=OLD, n=3, model_id=model.model_id, tags={"t": "x"})
    old_plain += log(store, at=OLD, run_id=plain_run.info.run_id)  # a run, but not an evaluation
    scored = log(store, at=OLD, model_id=model.model_id)  # feedback of an evaluation run
    store.log_assessments([assessment(scored[0], eval_run.info.run_id)])
    human = log(store, at=OLD)  # feedback without a run: no evaluation refers to it
    store.log_assessments([assessment(human[0], None)])
    predicted = log(store, at=OLD, run_id=eval_run.info.run_id)  # a row of genai.evaluate
    source = log(store, at=OLD)
    record = DatasetRecord(record_id="r-1", inputs={"q": "why?"}, source_trace_id=source[0])
    store.create_eval_dataset(name="faq", experiment_id="0", records=[record])
    recent = log(store, at=RECENT, n=2, model_id=model.model_id)
    elsewhere = log(store, at=OLD, n=2, experiment_id=other)
    doomed = set(old_plain + human)
    rows_before = {name: count_rows(store, name) for name in ("logged_models", "runs", "run_metrics")}

    result = store.prune_traces(
        RetentionPolicy(older_than_ms=30 * DAY, experiment_ids=("0",)), now_ms=NOW, batch_size=2
    )

    assert result.deleted == len(doomed) == 5
    assert (result.kept_evaluated, result.kept_dataset) == (2, 1)
    assert result.cutoff_ms == NOW - 30 * DAY and not result.dry_run and not result.stopped
    assert {(v.experiment_id, v.model_id, v.deleted) for v in result.by_version} == {
        ("0", model.model_id, 3),
        ("0", None, 2),
    }
    assert stored_ids(store) == set(scored + predicted + source + recent + elsewhere)
    assert rows_of(store, doomed) == 0  # spans, metadata, tags and the human feedback went too
    assert len(store.get_trace(scored[0]).info.assessments) == 1
    assert {name: count_rows(store, name) for name in rows_before} == rows_before

    # The prune is in the versions' history, one entry per version (traces without one: ""),
    # and the chain still verifies.
    pruned = [e for e in store.read_history(max_results=10_000) if e.kind == TRACES_PRUNED]
    assert {(e.model_id, e.after["deleted"], e.after["experiment_id"]) for e in pruned} == {
        (model.model_id, 3, "0"),
        ("", 2, "0"),
    }
    assert pruned[0].after["policy"] == "older than 30d, in experiment 0"
    assert pruned[0].after["cutoff_ms"] == NOW - 30 * DAY and pruned[0].before is None
    assert [e.summary() for e in pruned if e.model_id] == [
        "3 traces pruned (older than 30d, in experiment 0)"
    ]
    assert [e.kind for e in store.get_logged_model_history(model.model_id)][-1] == TRACES_PRUNED
    assert verify_chain(store.read_history(max_results=10_000)).ok

    everything = store.prune_traces(
        RetentionPolicy(older_than_ms=30 * DAY, include_evaluated=True), now_ms=NOW
    )
    assert everything.deleted == 3 + 2  # the evaluated ones and the dataset's, and the other experiment's
    assert stored_ids(store) == set(recent)
    assert store.get_eval_dataset(store.search_eval_datasets(experiment_ids=["0"])[0].dataset_id).records


def test_keep_per_version_keeps_the_newest_of_each_version(store: SqlStore) -> None:
    a = log(store, at=OLD, n=10, model_id="m-" + "a" * 32)
    b = log(store, at=OLD, n=3, model_id="m-" + "b" * 32)
    none = log(store, at=OLD, n=6)
    newer_a = log(store, at=RECENT, n=2, model_id="m-" + "a" * 32)

    only_count = store.prune_traces(RetentionPolicy(keep_per_version=5), now_ms=NOW, batch_size=3)
    assert only_count.deleted == 7 + 1
    assert stored_ids(store) == set(a[7:] + b + none[1:] + newer_a)

    # With an age too, a trace must be both old and beyond the newest N to go.
    both = store.prune_traces(RetentionPolicy(older_than_ms=30 * DAY, keep_per_version=2), now_ms=NOW)
    assert both.deleted == 3 + 1 + 3
    assert stored_ids(store) == set(b[1:] + none[4:] + newer_a)


def test_a_dry_run_counts_what_would_go_and_deletes_nothing(store: SqlStore) -> None:
    log(store, at=OLD, n=7, model_id="m-" + "c" * 32)
    log(store, at=RECENT, n=2)
    before = stored_ids(store)

    dry = store.prune_traces(THIRTY_DAYS, now_ms=NOW, dry_run=True, batch_size=3)
    assert dry.dry_run and dry.deleted == 7 and stored_ids(store) == before
    assert store.history_head().count == 0  # a dry run changes nothing, the history included
    real = store.prune_traces(THIRTY_DAYS, now_ms=NOW, batch_size=3)
    assert (real.deleted, real.by_version) == (dry.deleted, dry.by_version)
    assert len(stored_ids(store)) == 2
    assert [e.kind for e in store.read_history()] == [TRACES_PRUNED]
    again = store.prune_traces(THIRTY_DAYS, now_ms=NOW)
    assert again.deleted == 0 and again.batches == 1
    assert store.history_head().count == 1  # nothing deleted, nothing recorded


def test_a_prune_asked_to_stop_stops_between_batches(store: SqlStore) -> None:
    log(store, at=OLD, n=9)
    asked = iter([False, False, True])
    result = store.prune_traces(THIRTY_DAYS, now_ms=NOW, batch_size=2, should_stop=lambda: next(asked))
    assert result.stopped and result.deleted == 4 and len(stored_ids(store)) == 5


def test_ingest_is_not_blocked_while_a_prune_runs(store: SqlStore) -> None:
    """A prune of many batches leaves room for writers between them: a trace logged meanwhile
    is stored long before the prune ends."""
    for _ in range(4):
        log(store, at=OLD, n=250)
    done = threading.Event()
    timings: list[float] = []  # of the logs that ran while the prune did

    def prune() -> None:
        store.prune_traces(THIRTY_DAYS, now_ms=NOW, batch_size=10)
        done.set()

    worker = threading.Thread(target=prune)
    worker.start()
    try:
        while not done.is_set() and len(timings) < 5:
            began = time.monotonic()
            log(store, at=RECENT)
            if not done.is_set():
                timings.append(time.monotonic() - began)
    finally:
        worker.join()
    assert timings and max(timings) < 2.0, timings


def test_bad_policies_and_arguments_are_refused_by_name(store: SqlStore) -> None:
    with pytest.raises(InvalidArgumentError, match="would delete every trace"):
        RetentionPolicy()
    with pytest.raises(InvalidArgumentError, match="keep_per_version -1"):
        RetentionPolicy(keep_per_version=-1)
    with pytest.raises(InvalidArgumentError, match="experiment_ids '0'"):
        RetentionPolicy(keep_per_version=1, experiment_ids="0")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="batch_size 0"):
        store.prune_traces(THIRTY_DAYS, batch_size=0)
    with pytest.raises(NotFoundError, match="'42'"):
        store.prune_traces(RetentionPolicy(older_than_ms=DAY, experiment_ids=("42",)))
    with pytest.raises(InvalidArgumentError, match="'x'"):
        store.prune_traces(RetentionPolicy(older_than_ms=DAY, experiment_ids=("x",)))


def test_describe_says_the_policy_in_words() -> None:
    assert THIRTY_DAYS.describe() == "older than 30d"
    assert RetentionPolicy(keep_per_version=100).describe() == "beyond the newest 100 of each version"
    policy = RetentionPolicy(older_than_ms=12 * 3_600_000, keep_per_version=5, experiment_ids=("1", "2"))
    assert policy.describe() == "older than 12h, except the newest 5 of each version, in experiments 1, 2"


@pytest.mark.postgres
def test_one_pruner_at_a_time_on_postgres(pg_databases: object, request: pytest.FixtureRequest) -> None:
    """Replicas take turns: while one holds the retention lock, another's prune is skipped."""
    uri: str = request.getfixturevalue("pg_shared_uri")
    store = SqlStore(uri)
    try:
        log(store, at=OLD, n=3)
        with store.engine.connect() as holder:
            holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": RETENTION_LOCK_KEY})
            skipped = store.prune_traces(THIRTY_DAYS, now_ms=NOW)
            assert skipped.skipped and skipped.deleted == 0 and len(stored_ids(store)) == 3
            holder.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": RETENTION_LOCK_KEY})
            holder.commit()
        assert store.prune_traces(THIRTY_DAYS, now_ms=NOW).deleted == 3
    finally:
        store.close()
        pg_databases.empty(uri)  # type: ignore[attr-defined]
