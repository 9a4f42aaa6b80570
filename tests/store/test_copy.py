"""``db copy`` (issue 13 item 4): every table copied between SQLite and PostgreSQL, row for row
(JSON text byte for byte, NaN and infinite metrics, booleans), ids kept and PostgreSQL's
sequences moved past them, only into an empty store, resumed after a failed batch without
writing a row twice, a changed row caught by the verification."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from genver.entities import Assessment, DatasetRecord, Metric
from genver.exceptions import InvalidArgumentError, StoreError
from genver.store.sql import copy as copy_module
from genver.store.sql import tables
from genver.store.sql.copy import MARKER, copy_store
from genver.store.sql.copy_rows import TableCopy, row_hash
from genver.store.sql.engine import create_engine
from genver.store.sql.migrate import upgrade
from genver.store.sql.store import SqlStore
from tests.conftest import PgDatabases
from tests.store.test_traces import make_trace, span

T0 = 1_700_000_000_000
SPECIAL = [math.nan, math.inf, -math.inf, -0.0, 5e-324, 0.1, 1e308, 3.0]


def fill(uri: str, traces: int = 20) -> None:
    """A store with a row in every kind of table: experiments with tags, runs with params, tags
    and metrics (NaN, infinities, -0.0), versions with params, tags and metrics, traces with spans
    (JSON attributes with Unicode), feedback (one invalid), datasets and evaluation datasets."""
    store = SqlStore(uri)
    try:
        exp = store.create_experiment("copied ✓", tags={"team": "search"})
        model = store.create_logged_model(
            experiment_id=exp, name="bot-v1", params={"llm": "gpt"}, tags={"t": "1"}
        )
        run = store.create_run(experiment_id=exp, start_time=T0, tags={"mlflow.runType": "genai_evaluate"})
        metrics = [
            Metric(key=f"m{i}", value=v, timestamp=T0 + i, model_id=model.model_id)
            for i, v in enumerate(SPECIAL)
        ]
        store.log_batch(run.info.run_id, metrics=metrics, params={"p": "x"}, tags={"k": "v"})
        logged = []
        for i in range(traces):
            tid = "tr-" + uuid.uuid4().hex
            root = span(
                tid, "root", inputs={"q": f"é {i}"}, attributes={"nested": {"a": [1, 2.5, None]}, "ü": "ß"}
            )
            child = span(tid, "llm", parent=root, start=1000, outputs=["x" * 50])
            logged.append(
                make_trace(
                    trace_id=tid,
                    experiment_id=exp if i % 2 else "0",
                    request_time=T0 + i,
                    model_id=model.model_id,
                    run_id=run.info.run_id,
                    tags={"i": str(i)},
                    tokens=(i, 2 * i),
                    cost=0.001 * i,
                    spans=[root, child],
                )
            )
        store.log_traces(logged)
        feedback = [
            Assessment(
                assessment_id="a-" + uuid.uuid4().hex,
                trace_id=tr.info.trace_id,
                name="correct",
                kind="feedback",
                value=i % 2 == 0,
                run_id=run.info.run_id,
                create_time_ms=T0,
                valid=i != 0,
            )
            for i, tr in enumerate(logged[:3])
        ]
        store.log_assessments(feedback)
        record = DatasetRecord(
            record_id="r-1",
            inputs={"q": "why?"},
            expectations={"a": 1},
            source_trace_id=logged[0].info.trace_id,
        )
        store.create_eval_dataset(name="faq", experiment_id=exp, records=[record], tags={"v": "1"})
    finally:
        store.close()


def table_rows(uri: str, table: sa.Table) -> list[tuple[Any, ...]]:
    """A table's rows as comparable tuples, sorted in Python (the databases order text
    differently): JSON columns as their stored text, NaN as a marker (NaN != NaN)."""
    engine = create_engine(uri)
    try:
        columns = [sa.cast(c, sa.Text) if isinstance(c.type, sa.JSON) else c for c in table.columns]
        with engine.connect() as conn:
            rows = conn.execute(sa.select(*columns)).all()
    finally:
        engine.dispose()
    nan = "<NaN>"
    return sorted(
        (tuple(nan if isinstance(v, float) and math.isnan(v) else v for v in row) for row in rows), key=repr
    )


def assert_same_rows(a: str, b: str) -> int:
    """Every table of ``a`` equals ``b``'s, row for row; returns the rows compared."""
    total = 0
    for table in tables.metadata.sorted_tables:
        left, right = table_rows(a, table), table_rows(b, table)
        assert left == right, f"table {table.name} differs"
        total += len(left)
    return total


@pytest.fixture
def pg_uri(pg_databases: PgDatabases) -> Iterator[str]:
    uri = pg_databases.create()
    yield uri
    pg_databases.drop(uri)


def test_sqlite_to_sqlite_row_for_row(tmp_path: Path) -> None:
    src, dst = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    fill(src)
    report = copy_store(src, dst, batch_rows=7)
    assert report.ok and not report.resumed and report.copied_rows == assert_same_rows(src, dst)
    assert {t.name for t in report.tables} == {t.name for t in tables.metadata.sorted_tables}
    stored = [r[3] for r in table_rows(dst, tables.run_metrics)]
    expected = ["<NaN>" if math.isnan(v) else (0.0 if v == 0 else v) for v in SPECIAL]  # SQLite: -0.0 is 0.0
    assert sorted(map(repr, stored)) == sorted(map(repr, expected))  # NaN and infinities kept


@pytest.mark.postgres
def test_sqlite_to_postgres_and_back_row_for_row(tmp_path: Path, pg_uri: str) -> None:
    src, back = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/back.db"
    fill(src)
    there = copy_store(src, pg_uri, batch_rows=9)
    assert there.ok and there.copied_rows == assert_same_rows(src, pg_uri)
    again = copy_store(pg_uri, back)
    assert again.ok and again.copied_rows == there.copied_rows
    assert_same_rows(src, back)
    assert [t.source for t in again.tables] == [
        t.source for t in there.tables
    ]  # one checksum, both databases

    # The copy is a working store: ids go on after the copied ones (PostgreSQL's sequences moved).
    store = SqlStore(pg_uri)
    try:
        ids = [int(e.experiment_id) for e in store.search_experiments()]
        assert int(store.create_experiment("after the copy")) == max(ids) + 1
        run = store.create_run(experiment_id="0")
        store.log_batch(run.info.run_id, metrics=[Metric(key="new", value=1.0, timestamp=T0)])
        assert len(store.get_run(run.info.run_id).data.metrics) == 1
        exp = store.get_experiment_by_name("copied ✓")
        assert exp is not None and exp.tags == {"team": "search"}
        traces = store.search_traces(experiment_ids=["0", exp.experiment_id], max_results=100)
        assert len(traces) == 20 and sum(len(t.info.assessments) for t in traces) == 3
    finally:
        store.close()


def test_running_it_again_verifies_and_writes_nothing(tmp_path: Path) -> None:
    src, dst = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    fill(src, traces=3)
    first = copy_store(src, dst)
    second = copy_store(src, dst)
    assert second.ok and second.already_done and second.copied_rows == 0
    assert [t.destination for t in second.tables] == [t.destination for t in first.tables]


def test_a_copy_interrupted_after_some_batches_resumes_without_repeating_a_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    fill(src, traces=30)
    real_write = TableCopy.write
    batches: list[str] = []

    def failing_write(self: TableCopy, conn: sa.Connection, rows: Any) -> None:
        batches.append(self.name)
        real_write(self, conn, rows)
        if self.name == "spans" and batches.count("spans") == 3:
            raise KeyboardInterrupt  # after the rows, before the commit: this batch must vanish

    monkeypatch.setattr(TableCopy, "write", failing_write)
    with pytest.raises(KeyboardInterrupt):
        copy_store(src, dst, batch_rows=5)
    engine = create_engine(dst)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM spans")).scalar_one() == 10  # two batches
        assert conn.execute(sa.text(f"SELECT count(*) FROM {MARKER}")).scalar_one() > 1
    engine.dispose()
    monkeypatch.setattr(TableCopy, "write", real_write)

    resumed = copy_store(src, dst, batch_rows=5)
    assert resumed.ok and resumed.resumed
    total = assert_same_rows(src, dst)
    assert 0 < resumed.copied_rows < total


def test_only_an_empty_store_or_its_own_partial_copy_is_written_to(tmp_path: Path) -> None:
    src, other = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/other.db"
    fill(src, traces=2)
    fill(other, traces=1)
    with pytest.raises(InvalidArgumentError, match=r"other.db is not empty: experiments, .* hold rows"):
        copy_store(src, other)

    fresh = f"sqlite:///{tmp_path}/fresh.db"
    SqlStore(fresh).close()  # a store opened once: only its Default experiment
    assert copy_store(src, fresh).ok
    with pytest.raises(InvalidArgumentError, match="holds a copy of another store"):
        copy_store(other, fresh)

    foreign = tmp_path / "foreign.db"
    engine = create_engine(f"sqlite:///{foreign}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(InvalidArgumentError, match="tables genver does not own \\(invoices\\)"):
        copy_store(src, f"sqlite:///{foreign}")

    other_app = tmp_path / "other_app.db"  # another application's Alembic schema
    engine = create_engine(f"sqlite:///{other_app}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('ae1027a6acf')"))
    engine.dispose()
    with pytest.raises(InvalidArgumentError, match="tables genver does not own \\(alembic_version\\)"):
        copy_store(src, f"sqlite:///{other_app}")


@pytest.mark.postgres
def test_one_copy_at_a_time_into_postgres(tmp_path: Path, pg_uri: str) -> None:
    src = f"sqlite:///{tmp_path}/a.db"
    fill(src, traces=1)
    engine = create_engine(pg_uri)
    with engine.connect() as holder:
        holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": copy_module._COPY_LOCK_KEY})
        with pytest.raises(InvalidArgumentError, match="Another genver db copy is writing into"):
            copy_store(src, pg_uri)
    engine.dispose()
    assert copy_store(src, pg_uri).ok


def test_a_changed_row_fails_the_verification(tmp_path: Path) -> None:
    src, dst = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    fill(src, traces=3)
    assert copy_store(src, dst).ok
    engine = create_engine(dst)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE spans SET name = 'tampered' WHERE span_id = (SELECT min(span_id) FROM spans)")
        )
    engine.dispose()
    report = copy_store(src, dst)
    assert not report.ok and [t.name for t in report.mismatched] == ["spans"]
    assert report.mismatched[0].source.rows == report.mismatched[0].destination.rows


def test_bad_sources_and_destinations_are_refused_by_name(tmp_path: Path) -> None:
    src = f"sqlite:///{tmp_path}/a.db"
    fill(src, traces=1)
    for dst, message in (
        (src, "onto itself"),
        ("sqlite://", "in-memory"),
        ("http://127.0.0.1:5000", "copies between databases"),
    ):
        with pytest.raises(InvalidArgumentError, match=message):
            copy_store(src, dst)
    with pytest.raises(InvalidArgumentError, match="Invalid batch size 0"):
        copy_store(src, f"sqlite:///{tmp_path}/b.db", batch_rows=0)
    with pytest.raises(InvalidArgumentError, match="not a genver store"):
        copy_store(f"sqlite:///{tmp_path}/empty.db", f"sqlite:///{tmp_path}/b.db")
    old = f"sqlite:///{tmp_path}/old.db"
    engine = create_engine(old)
    upgrade(engine, "0005")
    engine.dispose()
    with pytest.raises(InvalidArgumentError, match=r"revision '0005'.*genver db upgrade sqlite:///.*old.db"):
        copy_store(old, f"sqlite:///{tmp_path}/b.db")
    engine = create_engine(src)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(InvalidArgumentError, match="'9999', which this genver does not know.*newer genver"):
        copy_store(src, f"sqlite:///{tmp_path}/b.db")


def test_a_refused_batch_names_the_table_and_says_how_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    fill(src, traces=2)

    real = TableCopy.write

    def twice(self: TableCopy, conn: sa.Connection, rows: Any) -> None:  # a key twice: refused
        real(self, conn, list(rows) * 2 if self.name == "runs" else rows)

    monkeypatch.setattr(TableCopy, "write", twice)
    with pytest.raises(
        StoreError,
        match=r"Copying table 'runs' failed at the batch starting with key .*IntegrityError.*run the same command again",
    ):
        copy_store(src, dst)


@given(
    st.lists(
        st.tuples(st.integers(), st.text(), st.floats(allow_nan=True), st.booleans(), st.none()), max_size=8
    ),
    st.randoms(),
)
def test_a_checksum_ignores_row_order_but_counts_duplicates(rows: list[tuple[Any, ...]], rnd: Any) -> None:
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert sum(map(row_hash, rows)) == sum(map(row_hash, shuffled))
    if rows:
        assert sum(map(row_hash, rows + rows[:1])) != sum(map(row_hash, rows))


def test_every_column_type_is_one_db_copy_knows() -> None:
    for table in tables.metadata.sorted_tables:
        TableCopy(table)  # raises on a column type without a portable form
    odd = sa.Table(
        "odd", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", sa.DateTime)
    )
    with pytest.raises(StoreError, match="column odd.at of type DateTime"):
        TableCopy(odd)


def test_signed_zero_and_nan_hash_the_same_from_either_database(tmp_path: Path) -> None:
    """SQLite keeps -0.0 as 0.0 and NaN as 'NaN' text: the copy of a PostgreSQL row holding them
    still has the same checksum."""
    table = tables.latest_metrics
    copier = TableCopy(table)
    pg_row = ("r" * 32, "k", -0.0, 1, 0)
    sqlite_row = ("r" * 32, "k", 0.0, 1, 0)
    floats = [2]
    from genver.store.sql.copy_rows import _zero_floats

    assert row_hash(_zero_floats(pg_row, floats)) == row_hash(_zero_floats(sqlite_row, floats))
    assert copier.key(pg_row) == ("r" * 32, "k")
    assert row_hash(("ab", "c")) != row_hash(("a", "bc"))  # fields stay apart
    assert row_hash((None,)) != row_hash(("",)) and row_hash((True,)) != row_hash((1,))
