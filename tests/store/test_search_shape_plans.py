"""Search shapes that bench/bench_search.py measures (issue 15 item 1), pinned on SQLite's query
plan: each regression here costs milliseconds to tens of milliseconds per search at 10,000
versions without changing any result. And the rows of those shapes, on every backend and with
every plan SQLite may choose, against a plain evaluation in Python."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from genver.entities import Metric
from genver.store.sql import model_search, search_sqlite
from genver.store.sql.store import SqlStore

from ._helpers import T0, clocked

CREATED_DESC = [{"field_name": "creation_timestamp", "ascending": False}]


def _plan_details(store: SqlStore, exp: str, filter_string: str | None, **kw: Any) -> list[str]:
    """SQLite's plan for the search's single statement (``scan``), one detail per line."""
    plan = model_search._plan(
        "sqlite",
        [int(exp)],
        filter_string,
        None,
        kw.get("max_results", 100),
        kw.get("order_by"),
        kw.get("offset", 0),
    )
    with store.engine.connect() as conn:
        sql = str(plan.scan.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        return [str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()]


@pytest.fixture
def sqlite_store(tmp_path: object) -> Iterator[tuple[SqlStore, str]]:
    store = SqlStore(f"sqlite:///{tmp_path}/plans.db")
    exp = store.create_experiment("shapes")
    for i in range(20):
        m = store.create_logged_model(
            experiment_id=exp, name=f"v{i}", params={"llm": "x"}, tags={"env": "prod"}
        )
        store.log_batch(
            store.create_run(experiment_id=exp).info.run_id,
            metrics=[Metric("acc", i / 20, T0, 0, model_id=m.model_id)],
        )
    try:
        yield store, exp
    finally:
        store.close()


def test_ordering_by_creation_time_reads_the_experiment_index_in_order(
    sqlite_store: tuple[SqlStore, str],
) -> None:
    """``creation_timestamp IS NULL`` (missing values last) on a NOT NULL column made SQLite sort
    every version in scope, computing each one's columns, for one page (33 -> 1.9 ms)."""
    store, exp = sqlite_store
    for filter_string in (None, "tags.env = 'prod'"):
        details = _plan_details(store, exp, filter_string, order_by=CREATED_DESC)
        assert "USE TEMP B-TREE FOR ORDER BY" not in details, details
        assert any("ix_logged_models_exp_active" in d for d in details), details
    # A column a version may lack keeps its missing values last (and is sorted).
    details = _plan_details(store, exp, None, order_by=[{"field_name": "model_type"}])
    assert "USE TEMP B-TREE FOR ORDER BY" in details, details


def test_a_name_is_found_from_the_name_index(sqlite_store: tuple[SqlStore, str]) -> None:
    """Not by walking the experiment's versions in creation order checking each name (4 -> 0.3 ms
    at 10,000 versions)."""
    store, exp = sqlite_store
    for filter_string in ("name = 'v3'", "name IN ('v3', 'v4') AND params.llm = 'x'"):
        details = _plan_details(store, exp, filter_string)
        assert any("ix_logged_models_exp_name (experiment_id=? AND name=?)" in d for d in details), details


def test_a_metric_filter_reads_the_metric_index(sqlite_store: tuple[SqlStore, str]) -> None:
    """``model_id IN`` the versions with a matching value, from revision 0009's index; was a
    correlated EXISTS per version in scope (17 -> 2.2 ms at 1 % of 10,000)."""
    store, exp = sqlite_store
    details = _plan_details(store, exp, "metrics.acc > 0.9")
    assert any("ix_logged_model_metrics_key_value (key=? AND value>?)" in d for d in details), details
    assert not any(d.startswith("CORRELATED") for d in details if "has_metrics" in d), details


def test_a_broad_term_is_probed_on_the_owner_and_key(sqlite_store: tuple[SqlStore, str]) -> None:
    """The EXISTS of a broad term seeks (model_id, key): given a range on the value SQLite chose
    the (key, value, ...) index and scanned every version's values on each probe (2 -> 370 ms)."""
    store, exp = sqlite_store
    planner = model_search._plan("sqlite", [int(exp)], "metrics.acc > 0.5", None, 100, None, 0).sqlite
    assert planner is not None
    _, walk, _ = planner._statements(0)  # no term selective: the walk probes each version
    with store.engine.connect() as conn:
        sql = str(walk.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        details = [str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()]
    assert any("ix_logged_model_metrics_model_key (model_id=? AND key=?)" in d for d in details), details
    assert not any("ix_logged_model_metrics_key_value" in d for d in details), details


def test_a_later_page_skips_on_the_index_alone(sqlite_store: tuple[SqlStore, str]) -> None:
    """Skipping ``offset`` versions reads ids from the experiment index (covering), then the
    page's rows: skipping whole rows read each skipped version from the table."""
    store, exp = sqlite_store
    details = _plan_details(store, exp, "params.llm = 'x'", order_by=CREATED_DESC, offset=200)
    assert any("COVERING INDEX ix_logged_models_exp_active" in d for d in details), details


# -- the rows ---------------------------------------------------------------------------------------------
@pytest.fixture(params=["default", "walk-exists", "lists"])
def plan_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(search_sqlite, "RECOUNT_SECONDS", 0.0)
    if request.param == "walk-exists":
        monkeypatch.setattr(search_sqlite, "SELECTIVE", -1)
    elif request.param == "lists":
        monkeypatch.setattr(search_sqlite, "SELECTIVE", 10**9)
    return str(request.param)


@pytest.mark.parametrize(
    "filter_string",
    [
        "metrics.acc > 0.7",
        "metrics.acc <= 0.2 AND params.llm = 'a'",
        "metrics.acc != 0.5",
        "metrics.acc > 0.3 OR tags.env = 'dev'",
        "name = 'v7'",
        "name IN ('v7', 'v9', 'nobody') AND metrics.acc >= 0",
        None,
    ],
)
@pytest.mark.parametrize("page", [100, 4])
def test_shapes_return_the_filter_s_rows_in_order(
    store: SqlStore, plan_mode: str, filter_string: str | None, page: int
) -> None:
    """Versions with a metric history (a filter matches any value of it, as before), some
    without the metric, one deleted; every page in order."""
    s = clocked(store)
    exp = s.create_experiment("shape-rows")
    rng = random.Random(5)
    run_id = s.create_run(experiment_id=exp).info.run_id
    made: list[tuple[str, dict[str, str], dict[str, str], list[float]]] = []
    for i in range(30):
        params, tags = {"llm": rng.choice("ab")}, {"env": rng.choice(("prod", "dev"))}
        m = s.create_logged_model(experiment_id=exp, name=f"v{i}", params=params, tags=tags)
        values = [] if i % 7 == 0 else [round(rng.random(), 2) for _ in range(1 + i % 3)]
        s.log_batch(
            run_id, metrics=[Metric("acc", v, T0 + k, k, model_id=m.model_id) for k, v in enumerate(values)]
        )
        made.append((f"v{i}", params, tags, values))
    gone = s.create_logged_model(experiment_id=exp, name="v7", params={"llm": "a"})
    s.log_batch(run_id, metrics=[Metric("acc", 0.9, T0, 0, model_id=gone.model_id)])
    s.update_logged_model(gone.model_id, deleted=True)

    def matches(name: str, p: dict[str, str], t: dict[str, str], acc: list[float]) -> bool:
        return {
            "metrics.acc > 0.7": any(v > 0.7 for v in acc),
            "metrics.acc <= 0.2 AND params.llm = 'a'": any(v <= 0.2 for v in acc) and p["llm"] == "a",
            "metrics.acc != 0.5": any(v != 0.5 for v in acc),
            "metrics.acc > 0.3 OR tags.env = 'dev'": any(v > 0.3 for v in acc) or t["env"] == "dev",
            "name = 'v7'": name == "v7",
            "name IN ('v7', 'v9', 'nobody') AND metrics.acc >= 0": name in ("v7", "v9") and bool(acc),
            None: True,
        }[filter_string]

    expected = [n for n, p, t, acc in reversed(made) if matches(n, p, t, acc)]
    names: list[str] = []
    token = None
    while True:
        found = store.search_logged_models(
            experiment_ids=[exp],
            filter_string=filter_string,
            max_results=page,
            order_by=CREATED_DESC,
            page_token=token,
        )
        names += [m.name for m in found]
        token = found.token
        if not token:
            break
    assert names == expected


# -- ordering by a metric (revision 0010) and keyset tokens -----------------------------------------------
METRIC_DESC = [{"field_name": "metrics.acc", "ascending": False}]


def _part_details(
    store: SqlStore, exp: str, order_by: Any, after: list[Any] | None = None, part: int = 0
) -> list[str]:
    """SQLite's plan for one part of a search, resumed after the row whose sort key is ``after``."""
    nulls = None if after is None else tuple(v is None for v in after)
    plan = model_search._plan("sqlite", [int(exp)], None, None, 100, order_by, 0, nulls)
    stmt = plan.parts[part].scan
    if after is not None:
        stmt = stmt.params(**(model_search._keyset_params(plan, after, None) or {}))
    with store.engine.connect() as conn:
        kw = {"literal_binds": True, "render_postcompile": True}
        sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs=kw))
        return [str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()]


def test_ordering_by_a_metric_walks_the_latest_values_index(sqlite_store: tuple[SqlStore, str]) -> None:
    """The versions having the metric come in value order from (experiment, key, value) and the
    walk stops after the page; was a correlated subquery per version in scope and a sort of all
    of them (36 ms at 10,000 on SQLite, 99 ms on PostgreSQL)."""
    store, exp = sqlite_store
    for order_by in (METRIC_DESC, [{"field_name": "metrics.acc", "ascending": True}]):
        details = _part_details(store, exp, order_by)
        assert any(
            "COVERING INDEX ix_logged_model_latest_metrics_order (experiment_id=? AND key=?)" in d
            for d in details
        ), details
        assert "USE TEMP B-TREE FOR ORDER BY" not in details, details
    # Then the versions without it, in creation order from the experiment index.
    details = _part_details(store, exp, METRIC_DESC, part=1)
    assert any("ix_logged_models_exp_active" in d for d in details), details
    assert "USE TEMP B-TREE FOR ORDER BY" not in details, details


def test_a_keyset_page_starts_at_its_row_in_the_index(sqlite_store: tuple[SqlStore, str]) -> None:
    """A keyset token's page seeks its first row instead of walking every row before it (the
    last page of 10,000 walked 9,900 index entries with an offset token)."""
    store, exp = sqlite_store
    details = _part_details(store, exp, CREATED_DESC, after=[T0, "m-x"])
    assert any(
        "ix_logged_models_exp_active (experiment_id=? AND lifecycle_stage=? AND creation_timestamp<?)" in d
        for d in details
    ), details
    details = _part_details(store, exp, METRIC_DESC, after=[0.5, T0, "m-x"])
    assert any(
        "ix_logged_model_latest_metrics_order (experiment_id=? AND key=? AND value<?)" in d for d in details
    )
    details = _part_details(store, exp, METRIC_DESC, after=[None, T0, "m-x"])  # among those without
    assert any("creation_timestamp<?" in d for d in details), details


@pytest.mark.parametrize("ascending", [False, True])
@pytest.mark.parametrize("filter_string", [None, "params.llm = 'a'", "metrics.acc > 0.3"])
@pytest.mark.parametrize("page", [100, 3])
def test_metric_order_returns_the_latest_values_order(
    store: SqlStore, plan_mode: str, ascending: bool, filter_string: str | None, page: int
) -> None:
    """By each version's latest value (timestamp, step, then the later log), ties by creation
    time then id, versions without the metric last; every page in order, by keyset tokens."""
    s = clocked(store)
    exp = s.create_experiment("metric-order")
    rng = random.Random(7)
    run_id = s.create_run(experiment_id=exp).info.run_id
    made: list[tuple[str, int, str, float | None, list[float]]] = []
    for i in range(25):
        llm = rng.choice("ab")
        m = s.create_logged_model(experiment_id=exp, name=f"v{i}", params={"llm": llm})
        values = [] if i % 6 == 0 else [rng.choice((0.1, 0.2, 0.5, 0.9)) for _ in range(1 + i % 3)]
        # Logged newest-first for some: the latest is the one with the largest timestamp, not the last log.
        logged = list(enumerate(values))
        if i % 4 == 1:
            logged.reverse()
        for k, v in logged:
            s.log_batch(run_id, metrics=[Metric("acc", v, T0 + k, k, model_id=m.model_id)])
        got = s.get_logged_model(m.model_id)
        made.append((f"v{i}", got.creation_timestamp, m.model_id, values[-1] if values else None, values))

    def keep(llm_ok: bool, values: list[float]) -> bool:
        return {
            None: True,
            "params.llm = 'a'": llm_ok,
            "metrics.acc > 0.3": any(v > 0.3 for v in values),
        }[filter_string]

    llms = {
        m.name: m.params["llm"] for m in store.search_logged_models(experiment_ids=[exp], max_results=1000)
    }
    chosen = [x for x in made if keep(llms[x[0]] == "a", x[4])]
    with_value = sorted(
        (x for x in chosen if x[3] is not None),
        key=lambda x: ((x[3] if ascending else -x[3]), -x[1], x[2]),  # type: ignore[operator]
    )
    without = sorted((x for x in chosen if x[3] is None), key=lambda x: (-x[1], x[2]))
    expected = [x[0] for x in with_value + without]
    names: list[str] = []
    token = None
    while True:
        found = store.search_logged_models(
            experiment_ids=[exp],
            filter_string=filter_string,
            max_results=page,
            order_by=[{"field_name": "metrics.acc", "ascending": ascending}],
            page_token=token,
        )
        names += [m.name for m in found]
        token = found.token
        if not token:
            break
    assert names == expected


def test_latest_values_follow_the_log_and_the_migration_rebuilds_them(store: SqlStore) -> None:
    """log_batch keeps one latest value per version and key: a log with an earlier timestamp does
    not replace it, a tie goes to the later log, a batch's duplicates to its latest. Revision
    0010's backfill computes the same table from the metric history."""
    import importlib.util
    import pathlib

    import sqlalchemy as sa

    from genver.store.sql import tables

    s = clocked(store)
    exp = s.create_experiment("latest")
    run_id = s.create_run(experiment_id=exp).info.run_id
    a = s.create_logged_model(experiment_id=exp, name="a").model_id
    b = s.create_logged_model(experiment_id=exp, name="b").model_id
    s.log_batch(
        run_id, metrics=[Metric("x", 1.0, T0 + 5, 0, model_id=a), Metric("x", 2.0, T0 + 5, 0, model_id=a)]
    )
    s.log_batch(run_id, metrics=[Metric("x", 3.0, T0 + 4, 9, model_id=a)])  # earlier: kept out
    s.log_batch(run_id, metrics=[Metric("x", 4.0, T0 + 5, 1, model_id=a)])  # same time, later step
    s.log_batch(
        None, metrics=[Metric("y", float("nan"), T0, 0, model_id=b), Metric("x", 0.5, T0, 0, model_id=b)]
    )
    s.log_batch(None, metrics=[Metric("x", 0.7, T0, 0, model_id=b)])  # a tie: the later log
    latest = tables.logged_model_latest_metrics
    cols = [latest.c.model_id, latest.c.key, latest.c.value, latest.c.timestamp, latest.c.step]
    query = sa.select(*cols).where(latest.c.model_id.in_([a, b])).order_by(latest.c.model_id, latest.c.key)

    def read() -> list[tuple[Any, ...]]:
        with store.engine.connect() as conn:
            return [tuple("nan" if v != v else v for v in r) for r in conn.execute(query)]

    kept = read()
    assert {(r[0], r[1]): r[2] for r in kept} == {(a, "x"): 4.0, (b, "x"): 0.7, (b, "y"): "nan"}
    path = next(pathlib.Path(tables.__file__).parent.glob("migrations/versions/0010_*.py"))
    spec = importlib.util.spec_from_file_location("rev0010", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with store.engine.begin() as conn:
        rows = [
            dict(r._mapping) for r in conn.execute(sa.select(latest).where(latest.c.model_id.in_([a, b])))
        ]
        conn.execute(latest.delete().where(latest.c.model_id.in_([a, b])))
        # Only these two versions: the shared store holds other tests' rows.
        conn.exec_driver_sql(
            module.BACKFILL.replace("WHERE x.rn = 1", f"WHERE x.rn = 1 AND x.model_id IN ('{a}', '{b}')")
        )
    assert read() == kept, rows


def test_old_offset_tokens_still_page_and_foreign_tokens_are_refused(store: SqlStore) -> None:
    from genver.exceptions import InvalidArgumentError
    from genver.store.paging import encode_token

    s = clocked(store)
    exp = s.create_experiment("tokens")
    for i in range(7):
        s.create_logged_model(experiment_id=exp, name=f"v{i}")
    everything = [m.name for m in store.search_logged_models(experiment_ids=[exp], max_results=100)]
    rest = store.search_logged_models(experiment_ids=[exp], max_results=3, page_token=encode_token(3))
    assert [m.name for m in rest] == everything[3:6]
    assert rest.token is not None  # a keyset token from here on
    last = store.search_logged_models(experiment_ids=[exp], max_results=3, page_token=rest.token)
    assert [m.name for m in last] == everything[6:] and last.token is None
    with pytest.raises(InvalidArgumentError, match="page token"):
        store.search_logged_models(experiment_ids=[exp], filter_string="name = 'v1'", page_token=rest.token)


def test_matches_exactly_filling_the_window_start_from_their_ids(
    sqlite_store: tuple[SqlStore, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 versions match and the page needs 20 rows (19 + 1): the list holds every match, so the
    search starts from it; it walked the experiment before (101 of 10,000: 2.5 -> 0.4 ms)."""
    monkeypatch.setattr(search_sqlite, "RECOUNT_SECONDS", 0.0)
    store, exp = sqlite_store
    for max_results, starts_from_ids in ((19, True), (18, False)):  # a window of 20, then 19
        plan = model_search._plan("sqlite", [int(exp)], "tags.env = 'prod'", None, max_results, None, 0)
        assert plan.sqlite is not None
        with store.engine.connect() as conn:
            chosen = plan.sqlite.choose(conn)
        assert chosen is not None
        assert (chosen[1] is not None and "ids" in chosen[1]) is starts_from_ids, max_results
