"""The store contract suite, run unchanged against ``RestStore`` over the ASGI app.

Every test of the listed modules is imported here, where ``store`` is a ``RestStore`` (see
``conftest.py``). The SQL helpers those tests use are swapped for REST-aware ones while they run:
``clocked(store)`` becomes a RestStore whose server has a deterministic clock on the same
database, and row counts read the server's database. Tests that open the SQL engine themselves
prove storage properties the server does not change, and are left out.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import sys
from typing import Any

import pytest

from genver.server.app import create_app
from genver.store.rest import RestStore
from genver.store.sql.store import SqlStore
from tests.server.conftest import asgi_client
from tests.store._helpers import ticking_clock

MODULES = [
    "tests.store.test_contract_experiments",
    "tests.store.test_contract_bad_input",
    "tests.store.test_contract_runs",
    "tests.store.test_contract_models",
    "tests.store.test_contract_search_models",
    "tests.store.test_run_logging",
    "tests.store.test_model_reads",
    "tests.store.test_traces",
    "tests.store.test_trace_outline",
    "tests.store.test_assessments",
    "tests.store.test_assessment_updates",
    "tests.store.test_trace_time_filters",
    "tests.store.test_eval_datasets",
    "tests.store.test_aliases",
    "tests.store.test_history",
    "tests.store.test_eval_dataset_merge",
    "tests.store.test_prompts",
]
# Tests that open the SQL engine or build a SqlStore themselves.
SQL_ONLY = (".engine", "SqlStore(")
# Helpers that take a store and need the SQL one behind the server.
ROW_COUNTERS = ("count_rows", "all_counts", "counts", "table_counts")
# Module fixtures the tests use; two modules may define one of the same name ("corpus").
FIXTURES = ("corpus", "scored", "timed")


def _module_fixture(name: str) -> Any:
    """The fixture ``name`` of the module the requesting test comes from."""

    @pytest.fixture(name=name)
    def fixture(request: pytest.FixtureRequest) -> Any:
        original = getattr(sys.modules[request.function.__module__], name).__wrapped__
        assert not inspect.isgeneratorfunction(original), f"{name}: only plain fixtures are shared"
        args = {p: request.getfixturevalue(p) for p in inspect.signature(original).parameters}
        return original(**args)

    return fixture


def _collect() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in MODULES:
        mod = importlib.import_module(name)
        short = name.rsplit(".", 1)[1].removeprefix("test_")
        for attr, obj in vars(mod).items():
            if attr in FIXTURES:
                found[attr] = _module_fixture(attr)
            elif attr.startswith("test_") and callable(obj):
                source = inspect.getsource(obj)
                if not any(token in source for token in SQL_ONLY):
                    found[f"test_{short}__{attr.removeprefix('test_')}"] = obj
    return found


globals().update(_collect())


@pytest.fixture
def world(sql_store: SqlStore, store: RestStore) -> Any:
    """The search world, built with a fake clock on the server's own store, searched over REST."""
    from tests.store import test_contract_search_models as search_models

    built = search_models.world.__wrapped__(sql_store)
    return dataclasses.replace(built, store=store)


@pytest.fixture(autouse=True)
def sql_helpers_over_rest(monkeypatch: pytest.MonkeyPatch, sql_store: SqlStore) -> None:
    """Point the contract modules' SQL helpers at the server's store, for this test only."""

    def clocked(store: Any, clock: Any = None) -> RestStore:
        inner = SqlStore(sql_store.engine, clock=clock or ticking_clock(), upgrade=False)
        return RestStore(http_client=asgi_client(create_app(inner)), sleep=lambda _: None)

    def on_sql(helper: Any) -> Any:
        def wrapped(store: Any, *args: Any) -> Any:
            return helper(sql_store if isinstance(store, RestStore) else store, *args)

        return wrapped

    for name in MODULES:
        mod = importlib.import_module(name)
        if hasattr(mod, "clocked"):
            monkeypatch.setattr(mod, "clocked", clocked)
        for helper in ROW_COUNTERS:
            if hasattr(mod, helper):
                monkeypatch.setattr(mod, helper, on_sql(getattr(mod, helper)))
