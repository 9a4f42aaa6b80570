"""Store contract: ``search_logged_models`` — every operator, datasets, OR, order_by and paging."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from genver.entities import LoggedModelStatus, Metric
from genver.exceptions import InvalidArgumentError, InvalidFilterError
from genver.search.parser import quote
from genver.store.sql.store import SqlStore

from ._helpers import T0, clocked, ticking_clock


@dataclass
class World:
    """Four versions in experiment ``exp`` plus one in another experiment."""

    store: SqlStore
    exp: str
    other_exp: str
    ids: dict[str, str]  # name -> model_id
    run_id: str

    def names(
        self,
        filter_string: str | None = None,
        *,
        datasets: Sequence[Mapping[str, Any]] | None = None,
        order_by: Sequence[Mapping[str, Any]] | None = None,
        experiment_ids: Sequence[str] | None = None,
    ) -> list[str]:
        found = self.store.search_logged_models(
            experiment_ids=experiment_ids or [self.exp],
            filter_string=filter_string,
            datasets=datasets,
            order_by=order_by,
        )
        return [m.name for m in found]

    def fmt(self, text: str) -> str:
        return text.format(run=self.run_id, **{k.replace("-", "_"): v for k, v in self.ids.items()})


@pytest.fixture
def world(store: SqlStore) -> World:
    s = clocked(store)  # creation times T0, T0+1s, ... in creation order
    exp = s.create_experiment("search")
    other = s.create_experiment("other")
    run_id = s.create_run(experiment_id=exp).info.run_id
    ids = {}
    # Created in this order, so the default order (newest first) is delta, gamma, beta, alpha.
    ids["alpha"] = s.create_logged_model(
        experiment_id=exp,
        name="alpha",
        model_type="agent",
        source_run_id=run_id,
        status=LoggedModelStatus.READY,
        params={"llm": "gpt-4", "temperature": "0.7"},
        tags={"team": "ml", "env": "prod", "mlflow.source.git.commit": "abc123"},
    ).model_id
    ids["Alpha-2"] = s.create_logged_model(
        experiment_id=exp,
        name="Alpha-2",
        model_type="rag",
        params={"llm": "GPT-4o"},
        tags={"team": "ML", "env": "staging"},
    ).model_id
    ids["beta"] = s.create_logged_model(
        experiment_id=exp,
        name="beta",
        status=LoggedModelStatus.FAILED,
        tags={"env": "dev"},
    ).model_id
    ids["gamma_x"] = s.create_logged_model(
        experiment_id=exp,
        name="gamma_x",
        model_type="agent",
        status=LoggedModelStatus.FAILED_REGISTRATION,
        params={"llm": "claude"},
    ).model_id
    ids["elsewhere"] = s.create_logged_model(
        experiment_id=other, name="elsewhere", params={"llm": "gpt-4"}
    ).model_id
    a, a2, g = ids["alpha"], ids["Alpha-2"], ids["gamma_x"]
    s.log_batch(
        run_id,
        metrics=[
            # alpha: acc 0.5 then 0.9 on eval/d1 (latest 0.9); latency 120
            Metric("acc", 0.5, T0 + 10, 0, model_id=a, dataset_name="eval", dataset_digest="d1"),
            Metric("acc", 0.9, T0 + 20, 1, model_id=a, dataset_name="eval", dataset_digest="d1"),
            Metric("latency", 120.0, T0 + 20, 0, model_id=a),
            # Alpha-2: acc 0.7 on eval/d2, later 0.95 on train (latest overall 0.95, on eval 0.7)
            Metric("acc", 0.7, T0 + 10, 0, model_id=a2, dataset_name="eval", dataset_digest="d2"),
            Metric("acc", 0.95, T0 + 30, 0, model_id=a2, dataset_name="train", dataset_digest="t1"),
            # gamma_x: acc 0.3 without a dataset; beta has no metrics at all
            Metric("acc", 0.3, T0 + 10, 0, model_id=g),
        ],
    )
    s.update_logged_model(ids["Alpha-2"], status_message="touched")  # bumps last_updated
    return World(store, exp, other, ids, run_id)


DEFAULT = ["gamma_x", "beta", "Alpha-2", "alpha"]

FILTERS: list[tuple[str, list[str]]] = [
    # attributes, string operators
    ("name = 'alpha'", ["alpha"]),
    ("name != 'alpha'", ["gamma_x", "beta", "Alpha-2"]),
    ("name LIKE 'alpha%'", ["alpha"]),  # LIKE is case-sensitive
    ("name LIKE 'Alpha%'", ["Alpha-2"]),
    ("name ILIKE 'ALPHA%'", ["Alpha-2", "alpha"]),  # ILIKE is not
    ("name LIKE '%a_x'", ["gamma_x"]),
    ("name IN ('alpha', 'beta', 'nope')", ["beta", "alpha"]),
    ("name NOT IN ('alpha', 'beta')", ["gamma_x", "Alpha-2"]),
    ("model_type = 'agent'", ["gamma_x", "alpha"]),
    ("model_type != 'agent'", ["Alpha-2"]),  # NULL model_type matches neither = nor !=
    ("model_type IN ('rag')", ["Alpha-2"]),
    ("status = 'READY'", ["alpha"]),
    ("status = 'LOGGED_MODEL_READY'", ["alpha"]),
    ("status = 'PENDING'", ["Alpha-2"]),
    ("status IN ('FAILED', 'FAILED_REGISTRATION')", ["gamma_x", "beta"]),
    ("status NOT IN ('PENDING', 'READY')", ["gamma_x", "beta"]),
    ("status ILIKE 'failed%'", ["gamma_x", "beta"]),
    ("source_run_id = '{run}'", ["alpha"]),
    ("model_id = '{beta}'", ["beta"]),
    ("model_id IN ('{beta}', '{alpha}')", ["beta", "alpha"]),
    ("experiment_id = '0'", []),
    # attributes, numeric operators
    (f"creation_timestamp = {T0 + 4000}", ["Alpha-2"]),
    (f"creation_time != {T0 + 4000}", ["gamma_x", "beta", "alpha"]),
    (f"creation_timestamp > {T0 + 4000}", ["gamma_x", "beta"]),
    (f"creation_timestamp >= {T0 + 4000}", ["gamma_x", "beta", "Alpha-2"]),
    (f"creation_timestamp < {T0 + 4000}", ["alpha"]),
    (f"creation_timestamp <= {T0 + 4000}", ["Alpha-2", "alpha"]),
    (f"last_updated_timestamp > {T0 + 6000}", ["Alpha-2"]),
    # params
    ("params.llm = 'gpt-4'", ["alpha"]),
    ("params.llm != 'gpt-4'", ["gamma_x", "Alpha-2"]),  # versions without the param never match
    ("params.llm LIKE 'gpt%'", ["alpha"]),
    ("params.llm ILIKE 'gpt%'", ["Alpha-2", "alpha"]),
    ("params.llm IN ('claude', 'GPT-4o')", ["gamma_x", "Alpha-2"]),
    ("params.llm NOT IN ('claude')", ["Alpha-2", "alpha"]),
    ("params.temperature = '0.7'", ["alpha"]),
    ("params.missing = 'x'", []),
    # tags
    ("tags.team = 'ml'", ["alpha"]),
    ("tags.team ILIKE 'ML'", ["Alpha-2", "alpha"]),
    ("tags.team LIKE 'M%'", ["Alpha-2"]),
    ("tags.env != 'prod'", ["beta", "Alpha-2"]),
    ("tags.env IN ('dev', 'prod')", ["beta", "alpha"]),
    ("tags.env NOT IN ('dev', 'prod')", ["Alpha-2"]),
    ("tags.`mlflow.source.git.commit` = 'abc123'", ["alpha"]),
    ("tags.mlflow.source.git.commit = 'abc123'", ["alpha"]),
    # metrics: a version matches when ANY logged row matches
    ("metrics.acc > 0.8", ["Alpha-2", "alpha"]),
    ("metrics.acc >= 0.95", ["Alpha-2"]),
    ("metrics.acc < 0.6", ["gamma_x", "alpha"]),  # alpha's first value (0.5), not its latest
    ("metrics.acc <= 0.3", ["gamma_x"]),
    ("metrics.acc = 0.5", ["alpha"]),
    ("metrics.acc != 0.9", ["gamma_x", "Alpha-2", "alpha"]),  # alpha also has 0.5
    ("metrics.acc != 0.3", ["Alpha-2", "alpha"]),
    ("metrics.latency > 100 AND metrics.acc > 0.8", ["alpha"]),
    ("metrics.nope > 0", []),
    # combinations, OR and parentheses
    ("params.llm = 'gpt-4' AND tags.env = 'prod' AND status = 'READY'", ["alpha"]),
    ("name = 'beta' OR params.llm = 'gpt-4'", ["beta", "alpha"]),
    ("(tags.env = 'prod' OR tags.env = 'dev') AND status = 'FAILED'", ["beta"]),
    ("tags.env = 'prod' OR tags.env = 'dev' AND status = 'FAILED'", ["beta", "alpha"]),
    (
        "(name = 'alpha' OR (metrics.acc < 0.4 AND model_type = 'agent')) OR name = 'nope'",
        ["gamma_x", "alpha"],
    ),
    ("name = 'alpha' and NAME = 'alpha'", ["alpha"]),
]


@pytest.mark.parametrize(("filter_string", "expected"), FILTERS, ids=[f for f, _ in FILTERS])
def test_filter(world: World, filter_string: str, expected: list[str]) -> None:
    assert world.names(world.fmt(filter_string)) == expected


def test_no_filter_and_experiment_scope(world: World) -> None:
    assert world.names() == DEFAULT
    assert world.names("") == DEFAULT
    assert world.names(experiment_ids=[world.other_exp]) == ["elsewhere"]
    assert world.names("params.llm = 'gpt-4'", experiment_ids=[world.exp, world.other_exp]) == [
        "elsewhere",
        "alpha",
    ]
    assert world.store.search_logged_models(experiment_ids=[]) == []


DATASETS: list[tuple[str | None, list[dict[str, Any]], list[str]]] = [
    ("metrics.acc > 0.8", [{"dataset_name": "eval"}], ["alpha"]),  # Alpha-2's 0.95 is on train
    ("metrics.acc > 0.8", [{"dataset_name": "train"}], ["Alpha-2"]),
    ("metrics.acc > 0", [{"dataset_name": "eval", "dataset_digest": "d2"}], ["Alpha-2"]),
    ("metrics.acc > 0", [{"dataset_name": "eval", "dataset_digest": "nope"}], []),
    ("metrics.acc < 0.6", [{"dataset_name": "eval"}, {"dataset_name": "train"}], ["alpha"]),
    ("metrics.latency > 0", [{"dataset_name": "eval"}], []),  # latency has no dataset
    # datasets without a metric filter: versions with any metric on those datasets
    (None, [{"dataset_name": "eval"}], ["Alpha-2", "alpha"]),
    (None, [{"dataset_name": "train"}], ["Alpha-2"]),
    (None, [{"dataset_name": "eval", "dataset_digest": "d1"}], ["alpha"]),
    ("name != 'alpha'", [{"dataset_name": "eval"}], ["Alpha-2"]),
    (None, [{"dataset_name": "nope"}], []),
]


@pytest.mark.parametrize(("filter_string", "datasets", "expected"), DATASETS)
def test_datasets(
    world: World, filter_string: str | None, datasets: list[dict[str, Any]], expected: list[str]
) -> None:
    assert world.names(filter_string, datasets=datasets) == expected


@pytest.mark.parametrize(
    "datasets",
    [[{"dataset_digest": "d1"}], [{"dataset_name": ""}], ["eval"], "eval", [{"dataset_name": "e", "x": 1}]],
)
def test_bad_datasets(world: World, datasets: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="dataset"):
        world.names(datasets=datasets)


ORDERS: list[tuple[list[dict[str, Any]], list[str]]] = [
    ([{"field_name": "creation_timestamp"}], ["alpha", "Alpha-2", "beta", "gamma_x"]),
    ([{"field_name": "creation_time", "ascending": False}], DEFAULT),
    ([{"field_name": "last_updated_timestamp", "ascending": False}], ["Alpha-2", "gamma_x", "beta", "alpha"]),
    ([{"field_name": "status"}, {"field_name": "name"}], ["beta", "gamma_x", "Alpha-2", "alpha"]),
    # metrics: the latest value per version (by timestamp, then step); no value → last, both ways
    ([{"field_name": "metrics.acc"}], ["gamma_x", "alpha", "Alpha-2", "beta"]),
    ([{"field_name": "metrics.acc", "ascending": False}], ["Alpha-2", "alpha", "gamma_x", "beta"]),
    ([{"field_name": "metrics.latency", "ascending": False}], ["alpha", "gamma_x", "beta", "Alpha-2"]),
    ([{"field_name": "metrics.latency"}], ["alpha", "gamma_x", "beta", "Alpha-2"]),
    # dataset-scoped: only that dataset's values count
    ([{"field_name": "metrics.acc", "dataset_name": "eval"}], ["Alpha-2", "alpha", "gamma_x", "beta"]),
    (
        [{"field_name": "metrics.acc", "ascending": False, "dataset_name": "eval"}],
        ["alpha", "Alpha-2", "gamma_x", "beta"],
    ),
    (
        [{"field_name": "metrics.acc", "dataset_name": "eval", "dataset_digest": "d1"}],
        ["alpha", "gamma_x", "beta", "Alpha-2"],
    ),
    ([{"field_name": "metrics.acc", "dataset_name": "train"}], ["Alpha-2", "gamma_x", "beta", "alpha"]),
    # a missing attribute value (model_type NULL) sorts last in both directions, on every backend
    ([{"field_name": "model_type"}, {"field_name": "name"}], ["alpha", "gamma_x", "Alpha-2", "beta"]),
    (
        [{"field_name": "model_type", "ascending": False}, {"field_name": "name"}],
        ["Alpha-2", "alpha", "gamma_x", "beta"],
    ),
]


@pytest.mark.parametrize(("order_by", "expected"), ORDERS, ids=[repr(o) for o, _ in ORDERS])
def test_order_by(world: World, order_by: list[dict[str, Any]], expected: list[str]) -> None:
    assert world.names(order_by=order_by) == expected


@pytest.mark.parametrize("ascending", [True, False])
def test_order_by_name(world: World, ascending: bool) -> None:
    # "Alpha-2" is left out: whether it sorts before "alpha" depends on the PostgreSQL collation.
    expected = ["alpha", "beta", "gamma_x"]
    got = world.names("name != 'Alpha-2'", order_by=[{"field_name": "name", "ascending": ascending}])
    assert got == (expected if ascending else expected[::-1])


@pytest.mark.parametrize(
    "order_by",
    [
        [{"field_name": "params.llm"}],
        [{"field_name": "tags.env"}],
        [{"field_name": "nope"}],
        [{"field_name": ""}],
        [{"field_name": "name", "ascending": "yes"}],
        [{"field_name": "name", "dataset_name": "eval"}],
        [{"field": "name"}],
    ],
)
def test_bad_order_by(world: World, order_by: Any) -> None:
    with pytest.raises(InvalidFilterError):
        world.names(order_by=order_by)


def test_tie_breakers(store: SqlStore) -> None:
    s = clocked(store, ticking_clock(step=0))  # every version in the same millisecond
    ids = [s.create_logged_model(experiment_id="0", name=f"v{i}").model_id for i in range(6)]
    later = clocked(store, ticking_clock(start=T0 + 1)).create_logged_model(experiment_id="0").model_id
    found = [m.model_id for m in store.search_logged_models(experiment_ids=["0"])]
    assert found == [later, *sorted(ids)]  # creation desc, then model_id asc
    by_type = store.search_logged_models(experiment_ids=["0"], order_by=[{"field_name": "model_type"}])
    assert [m.model_id for m in by_type] == found  # all NULL: the tie-breakers decide
    oldest_first = store.search_logged_models(
        experiment_ids=["0"], order_by=[{"field_name": "creation_timestamp"}]
    )
    assert [m.model_id for m in oldest_first] == [*sorted(ids), later]


@pytest.mark.parametrize("frozen", [False, True], ids=["ticking", "frozen-clock"])
@pytest.mark.parametrize(
    ("filter_string", "order_by"),
    [
        (None, None),
        ("params.group = 'a'", None),
        (None, [{"field_name": "metrics.score", "ascending": False}]),
        ("metrics.score >= 0", [{"field_name": "name"}]),
    ],
)
def test_paging_returns_each_model_once(
    store: SqlStore, frozen: bool, filter_string: str | None, order_by: list[dict[str, Any]] | None
) -> None:
    s = clocked(store, ticking_clock(step=0 if frozen else 1))
    for i in range(23):
        model_id = s.create_logged_model(
            experiment_id="0", name=f"v{i % 5}", params={"group": "ab"[i % 2]}
        ).model_id
        if i % 3:
            s.log_batch(None, metrics=[Metric("score", float(i % 4), T0, 0, model_id=model_id)])
    everything = [
        m.model_id
        for m in store.search_logged_models(
            experiment_ids=["0"], filter_string=filter_string, order_by=order_by, max_results=1000
        )
    ]
    assert everything and len(everything) == len(set(everything))
    for size in (1, 4, 7):
        seen: list[str] = []
        token = None
        pages = 0
        while True:
            page = store.search_logged_models(
                experiment_ids=["0"],
                filter_string=filter_string,
                order_by=order_by,
                max_results=size,
                page_token=token,
            )
            pages += 1
            assert len(page) <= size
            seen += [m.model_id for m in page]
            token = page.token
            if token is None:
                break
        assert seen == everything
        assert pages == -(-len(everything) // size)


@pytest.mark.parametrize(
    "token", ["garbage", "e30=", "eyJvZmZzZXQiOiAtMX0=", "eyJvZmZzZXQiOiAiMSJ9", "bnVsbA==", "!!!"]
)
def test_invalid_page_token(store: SqlStore, token: str) -> None:
    with pytest.raises(InvalidArgumentError, match="page token") as info:
        store.search_logged_models(experiment_ids=["0"], page_token=token)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


NAMES = [
    "my-agent-v1.0",
    "app-v1.2.3",
    "it's",
    "''",
    'say "hi"',
    "a/b:c%d",
    "back\\slash",
    "\\'",
    "100%_done",
    "name = 'x' OR 1=1 --",
    "日本語-モデル",
    "emoji 🚀 v2",
    "Ünïcödé",
    " padded ",
    "x" * 256,
]


def test_names_round_trip_through_quoted_filters(store: SqlStore) -> None:
    ids = {name: store.create_logged_model(experiment_id="0", name=name).model_id for name in NAMES}
    decoy = store.create_logged_model(experiment_id="0", name="100x_done").model_id
    for name, model_id in ids.items():
        found = store.search_logged_models(experiment_ids=["0"], filter_string=f"name = {quote(name)}")
        assert [(m.model_id, m.name) for m in found] == [(model_id, name)], name
        found = store.search_logged_models(
            experiment_ids=["0"], filter_string=f"tags.x = 'y' OR name IN ({quote(name)}, 'zzz')"
        )
        assert [m.model_id for m in found] == [model_id], name
        fetched = store.find_logged_model(experiment_id="0", name=name)
        assert fetched is not None and fetched.model_id == model_id
    assert decoy not in {
        m.model_id
        for m in store.search_logged_models(
            experiment_ids=["0"], filter_string=f"name = {quote('100%_done')}"
        )
    }


def test_ilike_is_case_insensitive_for_params_and_tags_on_every_backend(store: SqlStore) -> None:
    a = store.create_logged_model(experiment_id="0", params={"p": "MiXeD"}, tags={"t": "CaSe"}).model_id
    assert [
        m.model_id
        for m in store.search_logged_models(
            experiment_ids=["0"], filter_string="params.p ILIKE 'mixed' AND tags.t ILIKE '%as%'"
        )
    ] == [a]
    assert store.search_logged_models(experiment_ids=["0"], filter_string="params.p LIKE 'mixed'") == []
    assert store.search_logged_models(experiment_ids=["0"], filter_string="tags.t LIKE '%as%'") == []


def test_like_and_ilike_fold_case_beyond_ascii_like_postgresql(store: SqlStore) -> None:
    for name in ("Über-Modell", "ÉCOLE"):
        store.create_logged_model(experiment_id="0", name=name)

    def hits(filter_string: str) -> set[str]:
        return {m.name for m in store.search_logged_models(experiment_ids=["0"], filter_string=filter_string)}

    assert hits("name ILIKE 'über%'") == {"Über-Modell"}
    assert hits("name ILIKE '%école%'") == {"ÉCOLE"}
    assert hits("name ILIKE '%MODELL'") == {"Über-Modell"}
    assert hits("name LIKE 'über%'") == set()
    assert hits("name LIKE 'Über%'") == {"Über-Modell"}
