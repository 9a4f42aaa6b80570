"""Searches filtered on params, tags and run metrics: ``IN (subquery)`` semantics, and every
plan SQLite may choose (walk with lists, walk with ``EXISTS``, start from candidate ids) returns
the same rows in the same order as a plain evaluation of the filter."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest

from genver.entities import Metric
from genver.store.sql import search_sqlite
from genver.store.sql.store import SqlStore

from ._helpers import T0, clocked

LLMS = ("gpt-4", "gpt-4o", "claude")
ENVS = ("prod", "dev")

# (filter, its meaning in Python: a predicate on (name, params, tags)).
Pred = Callable[[str, dict[str, str], dict[str, str]], bool]
FILTERS: list[tuple[str, Pred]] = [
    ("params.llm = 'gpt-4'", lambda n, p, t: p.get("llm") == "gpt-4"),
    # != and NOT IN mean "has the key, with another value": versions without it never match.
    ("params.llm != 'gpt-4'", lambda n, p, t: "llm" in p and p["llm"] != "gpt-4"),
    (
        "params.llm NOT IN ('gpt-4', 'claude')",
        lambda n, p, t: "llm" in p and p["llm"] not in ("gpt-4", "claude"),
    ),
    ("params.llm IN ('gpt-4o', 'claude')", lambda n, p, t: p.get("llm") in ("gpt-4o", "claude")),
    ("tags.env != 'prod'", lambda n, p, t: "env" in t and t["env"] != "prod"),
    (
        "params.llm = 'gpt-4' AND tags.env = 'prod'",
        lambda n, p, t: p.get("llm") == "gpt-4" and t.get("env") == "prod",
    ),
    (
        "params.llm = 'claude' AND tags.env != 'prod' AND tags.rare = 'yes'",
        lambda n, p, t: (
            p.get("llm") == "claude" and t.get("env", "prod") != "prod" and t.get("rare") == "yes"
        ),
    ),
    (
        "tags.rare = 'yes' AND params.llm LIKE 'gpt%'",
        lambda n, p, t: t.get("rare") == "yes" and p.get("llm", "").startswith("gpt"),
    ),
    (
        "tags.rare = 'yes' AND (params.llm = 'claude' OR tags.env = 'dev')",
        lambda n, p, t: t.get("rare") == "yes" and (p.get("llm") == "claude" or t.get("env") == "dev"),
    ),
    (
        "params.llm = 'gpt-4' AND name LIKE 'v1%'",
        lambda n, p, t: p.get("llm") == "gpt-4" and n.startswith("v1"),
    ),
    ("params.llm = 'nobody'", lambda n, p, t: False),
    ("tags.missing != 'x'", lambda n, p, t: False),
]


@pytest.fixture
def versions(store: SqlStore) -> tuple[SqlStore, str, list[tuple[str, str, dict[str, str], dict[str, str]]]]:
    """60 versions in one experiment (and 20 in another, matching the same filters), newest last."""
    s = clocked(store)
    exp = s.create_experiment("plans")
    other = s.create_experiment("elsewhere")
    rng = random.Random(7)
    made = []
    for i in range(80):
        params = {} if i % 9 == 0 else {"llm": rng.choice(LLMS)}
        tags = {} if i % 11 == 0 else {"env": rng.choice(ENVS)}
        if i % 4 == 0:
            tags["rare"] = "yes"
        exp_id = other if i % 8 == 4 else exp
        m = s.create_logged_model(experiment_id=exp_id, name=f"v{i}", params=params, tags=tags)
        if exp_id == exp:
            made.append((m.model_id, m.name, params, tags))
    deleted = s.create_logged_model(
        experiment_id=exp, name="gone", params={"llm": "gpt-4"}, tags={"env": "prod"}
    )
    s.update_logged_model(deleted.model_id, deleted=True)
    return store, exp, made


@pytest.fixture(params=["default", "walk-exists", "lists"])
def plan_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """default: counts decide; walk-exists: no term is selective; lists: every term is."""
    monkeypatch.setattr(search_sqlite, "RECOUNT_SECONDS", 0.0)
    if request.param == "walk-exists":
        monkeypatch.setattr(search_sqlite, "SELECTIVE", -1)
    elif request.param == "lists":
        monkeypatch.setattr(search_sqlite, "SELECTIVE", 10**9)
    yield str(request.param)


def _all_pages(store: SqlStore, exp: str, filter_string: str, page: int) -> list[str]:
    names: list[str] = []
    token = None
    while True:
        found = store.search_logged_models(
            experiment_ids=[exp], filter_string=filter_string, max_results=page, page_token=token
        )
        names += [m.name for m in found]
        token = found.token
        if not token:
            return names


@pytest.mark.parametrize(("filter_string", "pred"), FILTERS, ids=[f for f, _ in FILTERS])
@pytest.mark.parametrize("page", [100, 7])  # one page (start from ids) / many pages (walk too)
def test_every_plan_returns_the_filter_s_rows_in_order(
    versions: tuple[SqlStore, str, list[tuple[str, str, dict[str, str], dict[str, str]]]],
    plan_mode: str,
    filter_string: str,
    pred: Pred,
    page: int,
) -> None:
    store, exp, made = versions
    expected = [n for _, n, p, t in made if pred(n, p, t)]
    expected.reverse()  # newest first
    assert _all_pages(store, exp, filter_string, page) == expected


def test_order_by_and_other_experiments_are_kept(
    versions: tuple[SqlStore, str, list[tuple[str, str, dict[str, str], dict[str, str]]]], plan_mode: str
) -> None:
    store, exp, made = versions
    found = store.search_logged_models(
        experiment_ids=[exp],
        filter_string="tags.rare = 'yes' AND params.llm = 'claude'",
        order_by=[{"field_name": "name", "ascending": True}],
    )
    expected = sorted(n for _, n, p, t in made if t.get("rare") == "yes" and p.get("llm") == "claude")
    assert [m.name for m in found] == expected
    assert all(m.experiment_id == exp for m in found)
    # The same versions from both experiments, when both are searched.
    both = store.search_logged_models(
        experiment_ids=[exp, store.get_experiment_by_name("elsewhere").experiment_id],  # type: ignore[union-attr]
        filter_string="tags.rare = 'yes' AND params.llm = 'claude'",
    )
    assert {m.name for m in both} > set(expected)


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("params.lr = '0.1'", ["r2", "r1"]),
        ("params.lr != '0.1'", ["r3"]),  # r4 has no lr: never matches !=
        ("params.lr NOT IN ('0.1')", ["r3"]),
        ("tags.team = 'ml' AND metrics.acc > 0.5", ["r2"]),
        ("metrics.acc != 0.9", ["r3", "r1"]),  # r4 has no acc
        ("tags.team = 'ml' AND params.lr = '0.1' AND metrics.acc >= 0.6", ["r2"]),
    ],
)
def test_run_search_kv_semantics(
    store: SqlStore, plan_mode: str, filter_string: str, expected: list[str]
) -> None:
    s = clocked(store)
    data = {
        "r1": ({"lr": "0.1"}, {"team": "ops"}, 0.5),
        "r2": ({"lr": "0.1"}, {"team": "ml"}, 0.9),
        "r3": ({"lr": "0.2"}, {"team": "ml"}, 0.3),
        "r4": ({}, {}, None),
    }
    for i, (name, (params, tags, acc)) in enumerate(data.items()):
        run_id = s.create_run(experiment_id="0", run_name=name, start_time=T0 + i, tags=tags).info.run_id
        metrics = [] if acc is None else [Metric("acc", acc, T0, 0)]
        s.log_batch(run_id, params=params, metrics=metrics)
    found = store.search_runs(experiment_ids=["0"], filter_string=filter_string)
    assert [r.info.run_name for r in found] == expected


def test_long_values_are_stored_and_found(store: SqlStore) -> None:
    """Params and tags up to their size limits, incompressible: PostgreSQL indexes them by hash
    (a B-tree entry over ~2.7 kB would make the insert fail)."""
    rng = random.Random(3)
    param = "".join(rng.choice("0123456789abcdef") for _ in range(6000))
    tag = "".join(rng.choice("0123456789abcdef") for _ in range(8000))
    model = store.create_logged_model(experiment_id="0", name="long", params={"p": param}, tags={"t": tag})
    run_id = store.create_run(experiment_id="0", tags={"t": tag}).info.run_id
    store.log_batch(run_id, params={"p": param})
    assert store.get_logged_model(model.model_id).params == {"p": param}
    found = store.search_logged_models(
        experiment_ids=["0"], filter_string=f"params.p = '{param}' AND tags.t = '{tag}'"
    )
    assert [m.model_id for m in found] == [model.model_id]
    runs = store.search_runs(experiment_ids=["0"], filter_string=f"params.p = '{param}' AND tags.t = '{tag}'")
    assert [r.info.run_id for r in runs] == [run_id]
